/*
 * Host unit tests for the ELF loader's checks (kern/elf.c): a good image is
 * accepted, and each crafted bad program header is refused with -ENOEXEC.
 * The image is built here field by field, so every case names the one field
 * it breaks.
 */
#include <check.h>

#include "tests/host/check_err.h"
#include <stdint.h>

#include "kern/elf.h"
#include "kern/uaccess.h"
#include "lib/errno.h"
#include "lib/string.h"

#define PT_LOAD 1
#define PT_NOTE 4
#define PF_X 0x1
#define PF_W 0x2
#define PF_R 0x4
#define FILE_SIZE 0x3000
#define TEXT_VA 0x400000UL
#define DATA_VA 0x401000UL

/* The ELF64 layouts (System V ABI), written out independently of kern/elf.c. */
struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

_Static_assert(sizeof(struct ehdr) == 64, "ELF64 header is 64 bytes");
_Static_assert(sizeof(struct phdr) == 56, "ELF64 program header is 56 bytes");

static union {
	uint8_t bytes[FILE_SIZE];
	uint64_t align;
} file;
static struct ehdr *eh = (struct ehdr *)file.bytes;
static struct phdr *ph = (struct phdr *)(file.bytes + sizeof(struct ehdr));
static struct elf_image img;

static void set_phdr(int i, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
		     uint64_t memsz)
{
	ph[i] = (struct phdr){ .type = PT_LOAD,
			       .flags = flags,
			       .offset = offset,
			       .vaddr = vaddr,
			       .paddr = vaddr,
			       .filesz = filesz,
			       .memsz = memsz,
			       .align = 0x1000 };
}

/* A good image shaped like the linker's: text, data with bss, an empty PT_LOAD. */
static void build_good(int phnum)
{
	static const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

	memset(file.bytes, 0, sizeof(file.bytes));
	memcpy(eh->ident, ident, sizeof(ident));
	eh->type = 2;
	eh->machine = 62;
	eh->version = 1;
	eh->entry = TEXT_VA + 0x10;
	eh->phoff = sizeof(struct ehdr);
	eh->ehsize = sizeof(struct ehdr);
	eh->phentsize = sizeof(struct phdr);
	eh->phnum = (uint16_t)phnum;
	set_phdr(0, PF_R | PF_X, 0x1000, TEXT_VA, 0x100, 0x100);
	set_phdr(1, PF_R | PF_W, 0x2000, DATA_VA, 0x10, 0x800);
	/* What ld emits for a program without data (see user/segv): all zero, offset in the file. */
	set_phdr(2, PF_R | PF_W, 0xe8, 0, 0, 0);
}

static int parse(void)
{
	return elf_parse(file.bytes, FILE_SIZE, &img);
}

START_TEST(test_good_image)
{
	build_good(3);
	ck_assert_int_eq(parse(), 0);
	ck_assert_int_eq(img.nsegments, 2);
	ck_assert_uint_eq(img.entry, TEXT_VA + 0x10);
	ck_assert_hex_eq(img.seg[0].vaddr, TEXT_VA);
	ck_assert(img.seg[0].exec && !img.seg[0].write);
	ck_assert_uint_eq(img.seg[1].memsz, 0x800);
	ck_assert(img.seg[1].write && !img.seg[1].exec);
}
END_TEST

/* Limits that are legal: file bytes up to the last byte, p_align 0 and 1, a note header. */
START_TEST(test_good_edges)
{
	build_good(3);
	ph[1].filesz = FILE_SIZE - 0x2000;
	ph[1].memsz = ph[1].filesz;
	ck_assert_int_eq(parse(), 0);
	build_good(3);
	ph[0].align = 0;
	ph[1].align = 1;
	ph[1].vaddr = DATA_VA + 8;
	ck_assert_int_eq(parse(), 0);
	build_good(3);
	ph[2].type = PT_NOTE; /* not loaded, not checked */
	ph[2].filesz = 1UL << 20;
	ck_assert_int_eq(parse(), 0);
	build_good(3);
	ph[1].vaddr = USER_MAX - 0x1000;
	ph[1].memsz = 0x1000;
	ck_assert_int_eq(parse(), 0);
}
END_TEST

/* One case per rule: each starts from the good image and breaks one thing. */
#define BAD(name, ...)                            \
	START_TEST(name)                          \
	{                                         \
		build_good(3);                    \
		__VA_ARGS__;                      \
		ck_assert_err(parse(), -ENOEXEC); \
	}                                         \
	END_TEST

BAD(test_empty_with_file_bytes, ph[2].offset = FILE_SIZE - 0x10; ph[2].filesz = 1UL << 20)
BAD(test_empty_offset_past_file, ph[2].offset = FILE_SIZE + 1)
BAD(test_filesz_over_memsz, ph[1].filesz = 0x900)
BAD(test_file_bytes_past_end, ph[1].filesz = FILE_SIZE - 0x2000 + 1; ph[1].memsz = 0x2000)
BAD(test_offset_past_end, ph[0].offset = FILE_SIZE + 0x1000)
BAD(test_offset_wraps, ph[0].offset = ~0UL - 0xf; ph[0].vaddr = TEXT_VA + 0xff0)
BAD(test_vaddr_zero, ph[0].vaddr = 0; ph[0].offset = 0)
BAD(test_vaddr_kernel, ph[1].vaddr = 0xffffffff80100000UL)
BAD(test_vaddr_noncanonical, ph[1].vaddr = 0x0000800000000000UL)
BAD(test_end_past_user_max, ph[1].vaddr = USER_MAX - 0x1000; ph[1].memsz = 0x1001)
BAD(test_end_wraps, ph[1].memsz = ~0UL - 0x1000)
BAD(test_align_not_power_of_two, ph[1].align = 0x3000)
BAD(test_vaddr_offset_disagree, ph[1].vaddr = DATA_VA + 0x10)
BAD(test_overlap, ph[1].vaddr = TEXT_VA + 0x100; ph[1].offset = 0x1100)
BAD(test_out_of_order, ph[1].vaddr = TEXT_VA - 0x1000)
BAD(test_entry_not_exec, eh->entry = DATA_VA)
BAD(test_entry_outside, eh->entry = TEXT_VA + 0x100)
BAD(test_phdrs_past_end, eh->phoff = FILE_SIZE - sizeof(struct phdr))
BAD(test_not_exec_type, eh->type = 3)

START_TEST(test_too_many_segments)
{
	build_good(ELF_MAX_SEGMENTS + 1);
	for (int i = 1; i <= ELF_MAX_SEGMENTS; i++)
		set_phdr(i, PF_R, 0x2000, DATA_VA + (uint64_t)(i - 1) * 0x1000, 0x10, 0x10);
	ck_assert_err(parse(), -ENOEXEC);
	eh->phnum = ELF_MAX_SEGMENTS;
	ck_assert_int_eq(parse(), 0);
}
END_TEST

Suite *elf_suite(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_good_image);
	tcase_add_test(tc, test_good_edges);
	tcase_add_test(tc, test_empty_with_file_bytes);
	tcase_add_test(tc, test_empty_offset_past_file);
	tcase_add_test(tc, test_filesz_over_memsz);
	tcase_add_test(tc, test_file_bytes_past_end);
	tcase_add_test(tc, test_offset_past_end);
	tcase_add_test(tc, test_offset_wraps);
	tcase_add_test(tc, test_vaddr_zero);
	tcase_add_test(tc, test_vaddr_kernel);
	tcase_add_test(tc, test_vaddr_noncanonical);
	tcase_add_test(tc, test_end_past_user_max);
	tcase_add_test(tc, test_end_wraps);
	tcase_add_test(tc, test_align_not_power_of_two);
	tcase_add_test(tc, test_vaddr_offset_disagree);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_entry_not_exec);
	tcase_add_test(tc, test_entry_outside);
	tcase_add_test(tc, test_phdrs_past_end);
	tcase_add_test(tc, test_not_exec_type);
	tcase_add_test(tc, test_too_many_segments);
	suite_add_tcase(s, tc);
	return s;
}
