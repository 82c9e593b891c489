# Pagoda: a teaching kernel for x86-64 virtual memory.
# `make help` lists the targets.

# Build directory; a different OBJ lets several builds run side by side.
OBJ ?= obj
V ?= 0
ifeq ($(V),0)
Q := @
quiet = @printf '  %-8s %s\n' '$(1)' '$(2)';
else
Q :=
quiet =
endif

# ---- toolchain -------------------------------------------------------------
# The kernel and user programs are x86-64 ELF. Where the native gcc does not
# make that (macOS, whose gcc is clang making Mach-O; an arm64 host), the
# cross tools x86_64-elf-gcc, x86_64-elf-ld, ... (or x86_64-linux-gnu-*) are
# used when they are on PATH. TOOLPREFIX=... on the command line overrides.
ifeq ($(origin TOOLPREFIX),undefined)
TOOLPREFIX := $(shell sh tools/toolchain.sh prefix)
endif
CC := $(TOOLPREFIX)gcc
LD := $(TOOLPREFIX)ld
# LLVM's tools stand in for binutils' where only they exist (clang + lld).
OBJCOPY := $(or $(shell sh tools/toolchain.sh first $(TOOLPREFIX)objcopy llvm-objcopy),$(TOOLPREFIX)objcopy)
NM := $(or $(shell sh tools/toolchain.sh first $(TOOLPREFIX)nm llvm-nm),$(TOOLPREFIX)nm)
# The host unit tests run here, so they are built by the native compiler: the
# CC of the command line (make CC=clang check), else cc when CC is a cross gcc.
HOSTCC := $(if $(and $(TOOLPREFIX),$(filter-out command line,$(origin CC))),cc,$(CC))
# clang is a cross compiler already: it needs only the target (on macOS its
# default is Mach-O). It spells some options differently, so those are probed.
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
CC_TARGET := $(if $(CC_IS_CLANG),--target=x86_64-unknown-elf)
cc-option = $(shell $(CC) $(CC_TARGET) $(1) -Werror -c -x c /dev/null -o /dev/null >/dev/null 2>&1 && echo '$(1)')
ld-option = $(shell $(LD) --help 2>/dev/null | grep -q -e '$(1)' && echo '$(1)')
# grub-mkrescue's name: Homebrew prefixes it, Fedora calls it grub2-mkrescue.
GRUB_MKRESCUE := $(or $(shell sh tools/toolchain.sh grub-mkrescue),grub-mkrescue)
GRUB_MODDIR := $(shell sh tools/toolchain.sh grub-moddir $(GRUB_MKRESCUE))
# Homebrew's GDB for ELF targets is x86_64-elf-gdb.
GDB := $(or $(shell sh tools/toolchain.sh first gdb x86_64-elf-gdb),gdb)
PYTHON := python3
QEMU := qemu-system-x86_64

# Kernel command line for `make qemu*` (the grader sets its own per boot).
CMDLINE ?=
# Its bytes as given, never expanded by make ($(value)) nor by the shell (the
# environment): grading/isocmdline.py passes them to the kernel or refuses them.
PAGODA_CMDLINE := $(value CMDLINE)
export PAGODA_CMDLINE
CPUS ?= 1
MEM ?= 256M
# KVM=1 opts into KVM (slow to boot on these machines; see README). TCG is the default.
KVM ?= 0
GDBPORT ?= $(shell expr 26000 + $$(id -u) % 5000)
# Width of the command-line field in grub.cfg; grading/isocmdline.py patches it.
CMDLINE_FIELD := 1024
# The lab of a student's tree (labs/current.json, written by labs/mklab.py);
# empty in the staff's reference tree. make check and make format use it.
TREE_LAB := $(shell sed -n 's/^ *"lab": *\([0-9][0-9]*\).*/\1/p' labs/current.json 2>/dev/null)

# A missing tool stops the build with the package that provides it on this OS.
need = command -v $(1) >/dev/null 2>&1 || sh tools/toolchain.sh missing $(1)

KERN_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -I. \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-common \
	-mcmodel=kernel -mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-asynchronous-unwind-tables -MMD -MP $(CC_TARGET) \
	$(call cc-option,-fno-toplevel-reorder)
# MEMVIEW=0 builds a kernel without the memview check after each test (to
# measure what it costs, or to see which failures only it finds); use its
# own OBJ= directory.
MEMVIEW ?= 1
KERN_CFLAGS += -DMEMVIEW_CHECK=$(MEMVIEW)
KERN_ASFLAGS := -g -I. -I$(OBJ) -D__ASSEMBLER__ -MMD -MP $(CC_TARGET)
ASM_OFFSETS := $(OBJ)/generated/asm-offsets.h
# binutils 2.39 warns about the kernel's one RWX load segment (boot code
# writes its page tables); older ones and lld do not know the option.
LD_NO_RWX_WARN := $(call ld-option,--no-warn-rwx-segments)
KERN_LDFLAGS := -m elf_x86_64 -nostdlib -z max-page-size=4096 -z noexecstack \
	$(LD_NO_RWX_WARN) -T kern/kernel.ld

# kern/asm-offsets.c is not linked: it only generates ASM_OFFSETS (below).
KERN_SRCS := $(filter-out kern/asm-offsets.c,$(wildcard kern/*.c kern/*.S lib/*.c)) \
	$(sort $(wildcard kern/test/*.c))
KERN_OBJS := $(patsubst %,$(OBJ)/%.o,$(basename $(KERN_SRCS)))
KERNEL := $(OBJ)/kern/kernel
ISO := $(OBJ)/pagoda.iso
RUN_ISO := $(OBJ)/run.iso

.PHONY: all
all: $(ISO)

$(OBJ)/kern/%.o: kern/%.c $(OBJ)/toolchain
	$(call quiet,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERN_CFLAGS) -c -o $@ $<

$(OBJ)/lib/%.o: lib/%.c $(OBJ)/toolchain
	$(call quiet,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERN_CFLAGS) -c -o $@ $<

$(OBJ)/kern/%.o: kern/%.S $(ASM_OFFSETS) $(OBJ)/toolchain
	$(call quiet,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KERN_ASFLAGS) -c -o $@ $<

# Structure offsets for the assembly (#include "generated/asm-offsets.h"),
# taken from the compiler's own layout: kern/asm-offsets.c's DEFINE lines
# come out of the assembler listing as "->NAME value".
$(ASM_OFFSETS): kern/asm-offsets.c $(OBJ)/toolchain
	$(call quiet,GEN,$@)
	@mkdir -p $(@D) $(OBJ)/kern
	$(Q)$(CC) $(KERN_CFLAGS) -S -MF $(OBJ)/kern/asm-offsets.d -MT $@ -o $(OBJ)/kern/asm-offsets.s $<
	$(Q){ echo '/* Generated from kern/asm-offsets.c by the Makefile: do not edit. */'; \
		sed -n 's/^[[:space:]]*\.ascii[[:space:]]*"->\([A-Za-z0-9_]*\) \$$\{0,1\}\([0-9]*\)".*/#define \1 \2/p' \
		$(OBJ)/kern/asm-offsets.s; } > $@.tmp
	$(Q)test -s $@.tmp && mv $@.tmp $@

# Link, then fill the fixed-size .ksyms section in place (kern/ksyms.c).
$(KERNEL): $(KERN_OBJS) kern/kernel.ld tools/mksyms.py $(OBJ)/toolchain
	$(call quiet,LD,$@)
	$(Q)$(LD) $(KERN_LDFLAGS) -o $@.tmp $(KERN_OBJS)
	$(Q)$(NM) -S --defined-only $@.tmp > $@.nm
	$(Q)$(PYTHON) tools/mksyms.py $@.nm $@.ksyms $$(printf '%d' 0x$$($(OBJCOPY) -O binary -j .ksyms $@.tmp /dev/stdout | wc -c | xargs printf '%x'))
	$(Q)$(OBJCOPY) --update-section .ksyms=$@.ksyms $@.tmp $@
	$(Q)rm -f $@.tmp

# ---- user programs (lab 3): each user/<prog>.c becomes a Multiboot2 module ----
# GRUB loads /boot/user/<prog> with the module string "<prog>"; run=<prog> or a
# test's proc_run("<prog> args") picks it (kern/proc.h).
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -DPAGODA_USER \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-common \
	-mno-sse -mno-sse2 -mno-mmx -mno-80387 -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -MMD -MP $(CC_TARGET)
USER_LDFLAGS := -m elf_x86_64 -nostdlib -static -z max-page-size=4096 -z noexecstack \
	$(LD_NO_RWX_WARN) -T user/user.ld
USER_PROGS := $(sort $(basename $(notdir $(wildcard user/*.c))))
USER_LIB_OBJS := $(OBJ)/user/lib/crt0.o $(OBJ)/user/lib/ulib.o \
	$(patsubst lib/%.c,$(OBJ)/user/klib/%.o,$(wildcard lib/*.c))
USER_BINS := $(addprefix $(OBJ)/user/bin/,$(USER_PROGS))

$(OBJ)/user/%.o: user/%.c $(OBJ)/toolchain
	$(call quiet,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<

$(OBJ)/user/%.o: user/%.S $(OBJ)/toolchain
	$(call quiet,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -D__ASSEMBLER__ -c -o $@ $<

$(OBJ)/user/klib/%.o: lib/%.c $(OBJ)/toolchain
	$(call quiet,CC,$< [user])
	@mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<

$(OBJ)/user/bin/%: $(OBJ)/user/%.o $(USER_LIB_OBJS) user/user.ld $(OBJ)/toolchain
	$(call quiet,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(USER_LDFLAGS) -o $@ $< $(USER_LIB_OBJS)

# Keep the objects (make would delete them as intermediate files).
.SECONDARY: $(USER_LIB_OBJS) $(patsubst %,$(OBJ)/user/%.o,$(USER_PROGS))

# Each program is a boot module, and the kernel keeps at most BOOT_MAX_MODULES
# of them (kern/bootinfo.h): more must fail the build, not panic every boot.
BOOT_MAX_MODULES := $(shell sed -n 's/^\#define BOOT_MAX_MODULES \([0-9][0-9]*\).*/\1/p' kern/bootinfo.h)

# Rewritten only when the list of programs changes, so grub.cfg follows it.
$(OBJ)/user/progs.list: FORCE
	@test -n "$(BOOT_MAX_MODULES)" || { echo "error: BOOT_MAX_MODULES not found in kern/bootinfo.h" >&2; exit 1; }
	@test $(words $(USER_PROGS)) -le $(BOOT_MAX_MODULES) || { echo "error: $(words $(USER_PROGS)) user programs in user/*.c, but the kernel takes at most $(BOOT_MAX_MODULES) boot modules (BOOT_MAX_MODULES in kern/bootinfo.h): remove a program or raise the limit" >&2; exit 1; }
	@mkdir -p $(@D)
	@echo '$(USER_PROGS)' | cmp -s - $@ || echo '$(USER_PROGS)' > $@

.PHONY: FORCE
FORCE:

# The tools and flags in use: rewritten when they change, so that a build in
# an OBJ made by another toolchain (make CC=clang) rebuilds every object. A
# compiler that cannot make x86-64 ELF code stops the build here, with what
# to install.
TOOLCHAIN_ID = $(CC) $(KERN_CFLAGS) | $(USER_CFLAGS) | $(LD) $(KERN_LDFLAGS) | $(USER_LDFLAGS)
$(OBJ)/toolchain: FORCE
	@sh tools/toolchain.sh elf64 $(CC) $(CC_TARGET) || sh tools/toolchain.sh missing $(if $(findstring clang,$(CC)),clang,cc)
	@command -v $(LD) >/dev/null 2>&1 || sh tools/toolchain.sh missing $(if $(findstring lld,$(LD)),ld.lld,ld)
	@mkdir -p $(@D)
	@echo '$(TOOLCHAIN_ID)' | cmp -s - $@ || echo '$(TOOLCHAIN_ID)' > $@

# The command-line field must stay the only "multiboot2 /boot/kernel " in the
# ISO (grading/isocmdline.py); the module lines come after it.
$(OBJ)/iso/boot/grub/grub.cfg: Makefile $(OBJ)/user/progs.list
	@mkdir -p $(@D)
	$(Q)printf 'set timeout=0\nset default=0\nmenuentry "Pagoda" {\n  multiboot2 /boot/kernel %-$(CMDLINE_FIELD)s\n%b  boot\n}\n' "" "$(foreach p,$(USER_PROGS),  module2 /boot/user/$(p) $(p)\n)" > $@

$(ISO): $(KERNEL) $(OBJ)/iso/boot/grub/grub.cfg $(USER_BINS)
	@$(call need,$(GRUB_MKRESCUE))
	@$(call need,xorriso)
	@test -n "$(GRUB_MODDIR)" || sh tools/toolchain.sh missing grub-bios
	$(call quiet,ISO,$@)
	$(Q)cp $(KERNEL) $(OBJ)/iso/boot/kernel
	$(Q)rm -rf $(OBJ)/iso/boot/user && mkdir -p $(OBJ)/iso/boot/user
	$(Q)cp $(USER_BINS) $(OBJ)/iso/boot/user/
	$(Q)$(GRUB_MKRESCUE) $(if $(filter-out /usr/lib/grub/i386-pc,$(GRUB_MODDIR)),-d $(GRUB_MODDIR)) \
		-o $@ $(OBJ)/iso --install-modules="multiboot2 normal iso9660 biosdisk" \
		--locales= --fonts= --themes= >$(OBJ)/grub-mkrescue.log 2>&1 || \
		{ cat $(OBJ)/grub-mkrescue.log; exit 1; }

# ---- running QEMU --------------------------------------------------------
# grading/qemucmd.py builds every QEMU command line (these targets, make bench,
# the grader, the GDB test) and explains how the run ended.
# SMP=det (default): deterministic round-robin TCG, what grades; SMP=parallel:
# multi-threaded TCG, host-dependent, for shaking out races.
SMP ?= det
QEMU_RUN = $(PYTHON) grading/qemucmd.py run --iso $(RUN_ISO) --cpus $(CPUS) --mem $(MEM) \
	--smp $(SMP) $(if $(filter 1,$(KVM)),--kvm)

.PHONY: run-iso qemu qemu-nox qemu-gdb gdb
run-iso: $(ISO)
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) grading/isocmdline.py --env PAGODA_CMDLINE $(ISO) $(RUN_ISO)

qemu: run-iso
	$(Q)$(QEMU_RUN) $(if $(DISPLAY),--display)

qemu-nox: run-iso
	$(Q)$(QEMU_RUN)

qemu-gdb: run-iso
	@echo "QEMU is waiting for GDB on localhost:$(GDBPORT): run 'make gdb' in another terminal."
	$(Q)$(QEMU_RUN) --gdb $(GDBPORT)

gdb:
	@$(call need,$(GDB))
	@echo "(plain '$(GDB)' here works too after: echo 'add-auto-load-safe-path $(CURDIR)/.gdbinit' >> ~/.gdbinit)"
	$(Q)GDBPORT=$(GDBPORT) OBJ=$(OBJ) $(GDB) -q -n -x .gdbinit

# make memview: boot with CMDLINE plus memview=dump (and halt without test=) and
# write $(OBJ)/memview.html, the memory viewer's page (tools/memview.py).
.PHONY: memview
memview: $(ISO)
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) tools/memview.py boot --iso $(ISO) --out $(OBJ)/memview.html --mem $(MEM)

# ---- host unit tests (Check) ---------------------------------------------
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Werror -I. -include tests/host/hostnames.h \
	-fno-builtin -DHOST_TEST
HOST_LIB_SRCS := $(wildcard lib/*.c)
# Portable kernel files that the host tests also compile (each lab adds its own).
HOST_KERN_SRCS := kern/pgtable.c kern/aspace.c kern/elf.c kern/test/lab2_model.c \
	kern/uaccess.c kern/extable.c kern/tlb.c
HOST_TEST_SRCS := $(wildcard tests/host/*.c)
HOST_TESTS := $(OBJ)/host/check_pagoda

# Rewritten when the host compiler or its flags change (make CC=clang check).
$(OBJ)/host/toolchain: FORCE
	@mkdir -p $(@D)
	@echo '$(HOSTCC) $(HOST_CFLAGS)' | cmp -s - $@ || echo '$(HOSTCC) $(HOST_CFLAGS)' > $@

$(HOST_TESTS): $(HOST_LIB_SRCS) $(HOST_KERN_SRCS) $(HOST_TEST_SRCS) $(wildcard tests/host/*.h lib/*.h kern/*.h) \
		$(OBJ)/host/toolchain
	@$(call need,pkg-config)
	@pkg-config --exists check || sh tools/toolchain.sh missing check
	$(call quiet,HOSTCC,$@)
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $$(pkg-config --cflags check) -o $@ $(HOST_LIB_SRCS) \
		$(HOST_KERN_SRCS) $(HOST_TEST_SRCS) $$(pkg-config --libs check)

# In a lab-N tree the suites of later labs (still stubbed there) do not run.
.PHONY: check
check: $(HOST_TESTS)
	$(Q)CK_DEFAULT_TIMEOUT=20 PAGODA_LAB=$(TREE_LAB) $(HOST_TESTS)

# ---- tests, grading --------------------------------------------------------
.PHONY: test grade handin deps compile_commands.json format clean help
test: $(ISO) $(HOST_TESTS)
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) grading/selftest.py --obj $(OBJ)

deps:
	$(Q)tools/deps.sh install

# make distro-check SUITE=bullseye: build and test in a debootstrap chroot of
# that Debian release (root; cached in /var/cache/pagoda-distro).
.PHONY: distro-check
distro-check:
	@test -n "$(SUITE)" || { echo "usage: make distro-check SUITE=bullseye|bookworm|trixie (as root; tools/distro-check)" >&2; exit 2; }
	$(Q)tools/distro-check $(SUITE)

# make grade (all labs; in a lab-N tree labs 1..N, later ones "not yet"), make grade LAB=2,
# make grade-lab2; GRADEFLAGS=--json=FILE etc.
GRADE_LABS = $(if $(LAB),--lab $(LAB))
grade: $(ISO) graded-host-tests
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) grading/grade.py --obj $(OBJ) --no-build $(GRADE_LABS) $(GRADEFLAGS)

# The host tests are graded too; if they do not build (no Check library, or a
# student's file that builds only in the kernel), only they fail: the grader
# reads the build's outcome (grading/hosttests.py) rather than a stale binary.
.PHONY: graded-host-tests
graded-host-tests:
	$(Q)mkdir -p $(OBJ); $(MAKE) -s $(HOST_TESTS) >$(OBJ)/host-build.log 2>&1; \
		$(PYTHON) grading/hosttests.py record $(OBJ) $$? $(OBJ)/host-build.log

grade-lab%: $(ISO) graded-host-tests
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) grading/grade.py --obj $(OBJ) --no-build --lab $* $(GRADEFLAGS)

# make handin: handin-labN.zip with the lab's student files (and answers-labN.txt
# when the handout asks for one), what the autograder takes. LAB=N outside a lab tree.
handin:
	$(Q)$(PYTHON) tools/labtree.py handin $(if $(LAB),--lab $(LAB))

# make soak SEEDS=200 LAB=2: grade over many seeds, list each failure with its seed.
SEEDS ?= 20
.PHONY: soak
soak: $(ISO)
	@$(call need,$(QEMU))
	$(Q)$(PYTHON) grading/soak.py --obj $(OBJ) --seeds $(SEEDS) $(GRADE_LABS) $(SOAKFLAGS)

# make bench: the manual benchmark tests, not graded: lab 3's copy_from_user
# against memcpy on one CPU, then the same copy instructions natively on the
# host's CPU, then lab 4's TLB shootdown costs in each SMP mode. In a lab-N
# tree only labs <= N are measured: the later ones are still stubs there.
BENCH_CPUS ?= 4
BENCH_UPTO := $(or $(TREE_LAB),4)
BENCH_FILTER = grep -E '^TEST (INFO|FAIL|WARNING|SUMMARY)|^pagoda: '
.PHONY: bench
bench: $(ISO) $(OBJ)/tools/bench_copy
	@$(call need,$(QEMU))
	$(Q)if [ $(BENCH_UPTO) -lt 3 ]; then \
		echo "make bench: the benchmarks are lab 3's and lab 4's; this tree is for lab $(BENCH_UPTO)"; fi
	$(Q)if [ $(BENCH_UPTO) -ge 3 ]; then \
		$(PYTHON) grading/isocmdline.py $(ISO) $(OBJ)/bench1.iso "test=bench.uaccess" && \
		echo "== copy_from_user against memcpy, 1 CPU (QEMU, TCG)" && \
		{ timeout 300 $(PYTHON) grading/qemucmd.py run --iso $(OBJ)/bench1.iso --mem $(MEM) \
			</dev/null 2>&1 | $(BENCH_FILTER); true; } && \
		echo "== the same copies natively, on this host's CPU" && $(OBJ)/tools/bench_copy; fi; true
	$(Q)if [ $(BENCH_UPTO) -ge 4 ]; then \
		$(PYTHON) grading/isocmdline.py $(ISO) $(OBJ)/bench4.iso "test=bench.tlb" && \
		for m in det parallel; do \
			echo "== TLB shootdown, $(BENCH_CPUS) CPUs, SMP=$$m"; \
			timeout 300 $(PYTHON) grading/qemucmd.py run --iso $(OBJ)/bench4.iso --mem $(MEM) \
				--cpus $(BENCH_CPUS) --smp $$m </dev/null 2>&1 | $(BENCH_FILTER); \
		done; fi; true

$(OBJ)/tools/bench_copy: tools/bench_copy.c
	$(call quiet,HOSTCC,$@)
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) -O2 -Wall -Wextra -o $@ $<

compile_commands.json:
	@$(call need,bear)
	$(Q)$(MAKE) clean >/dev/null
	$(Q)bear -- $(MAKE) $(KERNEL) $(HOST_TESTS)

# Any tree, git or not. In a student's tree only the student's own C files: a
# reformat of the given files would make each later merge of the staff's
# updates conflict. FILES="a.c b.h" picks the files.
FORMAT_FILES = $(or $(FILES),$(if $(TREE_LAB),$$($(PYTHON) tools/labtree.py files --ext .c,.h),$$(find kern lib user tests -name '*.[ch]')))
format:
	@$(call need,clang-format)
	$(Q)files="$(FORMAT_FILES)"; test -n "$$files" || { echo "format: no C file to format" >&2; exit 1; }; \
		clang-format -i $$files && echo "format: $$(echo $$files | wc -w) file(s) formatted"

clean:
	rm -rf $(OBJ)

help:
	@echo "make               build the kernel and the bootable ISO ($(ISO))"
	@echo "make deps          install the Debian packages Pagoda needs"
	@echo "make qemu          boot in QEMU, serial on this terminal (CMDLINE=..., CPUS=N, SMP=parallel, KVM=1)"
	@echo "make qemu-nox      the same without a display window"
	@echo "make qemu-gdb      boot and wait for GDB on port $(GDBPORT)"
	@echo "make gdb           connect GDB to it (uses .gdbinit)"
	@echo "make check         host unit tests (Check framework)"
	@echo "make grade         grade every lab (LAB=N for one; or make grade-labN)"
	@echo "make soak          grade over SEEDS=N seeds (LAB=N), list every failing seed"
	@echo "make bench         copy_from_user vs memcpy (and lab 4's TLB) benchmarks"
	@echo "make handin        pack your lab's files into handin-labN.zip for the autograder"
	@echo "make format        clang-format your lab's C files (the whole tree in the reference)"
	@echo "make test          everything CI runs; ends with 'N passed, N failed'"
	@echo "make distro-check SUITE=trixie   make deps and make test in a chroot of that Debian release (root)"
	@echo "make compile_commands.json   for clangd"
	@test -n "$(TREE_LAB)" || echo "staff: make handout LAB=N DEST=DIR [STUB_ALL=1] | make branches DEST=REPO UPTO=N |"
	@test -n "$(TREE_LAB)" || echo "       make autograder LAB=N | make autograders | make discriminate [LAB=N]   (labs/README.md)"

# ---- staff only: lab trees, graders' discrimination, autograder (labs/README.md) ----
MKLAB := labs/mklab.py
# HINTS=brief: stub comments keep the contract and the handout reference but
# not the design hint (for courses where students design the mechanism).
HINTS_FLAG = $(if $(HINTS),--hints $(HINTS))
staff_only = @test -f $(MKLAB) || { echo "error: 'make $@' needs the staff's reference tree (labs/mklab.py is not in a lab tree)" >&2; exit 1; }

.PHONY: handout branches autograder autograders discriminate
handout:
	$(staff_only)
	@test -n "$(LAB)" -a -n "$(DEST)" || { echo "usage: make handout LAB=N DEST=DIR [STUB_ALL=1] [HINTS=brief]" >&2; exit 1; }
	$(Q)$(PYTHON) $(MKLAB) handout --lab $(LAB) --dest $(DEST) $(if $(filter 1,$(STUB_ALL)),--stub-all) $(HINTS_FLAG)

branches:
	$(staff_only)
	@test -n "$(DEST)" -a -n "$(UPTO)" || { echo "usage: make branches DEST=REPO UPTO=N (add or update branches lab1..labN only)" >&2; exit 1; }
	$(Q)$(PYTHON) $(MKLAB) branches --dest $(DEST) --upto $(UPTO) $(HINTS_FLAG)

# One lab per bundle: a bundle holds the lab-N student tree only, so it can grade
# nothing else and holds no solution of lab N or later.
autograder:
	$(staff_only)
	@test -n "$(LAB)" || { echo "usage: make autograder LAB=N (one Gradescope bundle per lab, obj/autograder-labN.zip); make autograders makes one for every lab" >&2; exit 1; }
	$(Q)$(PYTHON) grading/autograder/mkbundle.py --lab $(LAB) --out $(OBJ)/autograder-lab$(LAB).zip $(HINTS_FLAG)

autograders:
	$(staff_only)
	$(Q)$(PYTHON) grading/autograder/mkbundle.py --all --outdir $(OBJ) $(HINTS_FLAG)

discriminate:
	$(staff_only)
	$(Q)$(PYTHON) grading/discriminate.py $(if $(LAB),--lab $(LAB))

-include $(KERN_OBJS:.o=.d) $(OBJ)/kern/asm-offsets.d
-include $(patsubst %,$(OBJ)/user/%.d,$(USER_PROGS)) $(USER_LIB_OBJS:.o=.d)
