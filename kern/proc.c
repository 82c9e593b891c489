/*
 * User processes: load, enter ring 3, come back on exit or on a fatal
 * exception. See kern/proc.h.
 *
 * Control flow: proc_run() saves its context with k_setjmp and leaves for
 * ring 3 through user_enter(). The process's system calls and traps run on
 * this CPU's process kernel stack (TSS RSP0, percpu->syscall_rsp0). exit()
 * and the kill handler k_longjmp back to proc_run(), abandoning that stack,
 * which holds nothing that needs freeing.
 */
#include "kern/bootinfo.h"
#include "kern/console.h"
#include "kern/cpu.h"
#include "kern/elf.h"
#include "kern/gdt.h"
#include "kern/memview.h"
#include "kern/panic.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "kern/trap.h"
#include "kern/uaccess.h"
#include "kern/x86.h"
#include "lib/cmdline.h"
#include "lib/errno.h"
#include "lib/string.h"

#define KSTACK_SIZE (16 * 1024)
/* User RFLAGS: IF off (lab 3 programs no interrupt source for ring 3), AC off. */
#define USER_RFLAGS 0x2

static uint8_t kstacks[MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
static struct proc procs[MAX_CPUS];
static struct proc *current[MAX_CPUS];

void user_enter(struct trapframe *tf) __noreturn;

struct proc *proc_current(void)
{
	return current[cpu_id()];
}

int proc_find_module(const char *name)
{
	for (int i = 0; i < boot_info.nmodules; i++)
		if (strcmp(boot_info.modules[i].name, name) == 0)
			return i;
	return -ENOENT;
}

/* Splits cmdline into words in buf (NULs between them). Returns argc or -E2BIG. */
static int split_args(const char *cmdline, char *buf, char *argv[PROC_MAX_ARGS])
{
	int argc = 0;

	if (strlcpy(buf, cmdline, PROC_CMDLINE_MAX) >= PROC_CMDLINE_MAX)
		return -E2BIG;
	for (char *p = buf; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == PROC_MAX_ARGS)
			return -E2BIG;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc;
}

/*
 * Reserves the demand-zero stack, maps its top page now and writes argv
 * there through the direct map: the strings at the top, then the pointer
 * array. Returns the initial RSP (16-byte aligned), or a -errno.
 */
static int64_t setup_stack(struct aspace *as, int argc, char *argv[], uint64_t *argv_va)
{
	uint64_t top_page = PROC_STACK_TOP - PAGE_SIZE, sp = PROC_STACK_TOP;
	uint64_t ptrs[PROC_MAX_ARGS + 1];
	struct pt_translation t;
	char *page;
	int r;

	r = aspace_reserve(as, PROC_STACK_TOP - PROC_STACK_SIZE, PROC_STACK_SIZE - PAGE_SIZE,
			   AS_USER | AS_WRITE);
	if (r == 0)
		r = aspace_alloc(as, top_page, PAGE_SIZE, AS_USER | AS_WRITE);
	if (r == 0)
		r = aspace_translate(as, top_page, &t);
	if (r < 0)
		return r;
	page = pa2kva(t.pa);
	for (int i = argc - 1; i >= 0; i--) {
		size_t len = strlen(argv[i]) + 1;

		sp -= len;
		memcpy(page + (sp - top_page), argv[i], len);
		ptrs[i] = sp;
	}
	ptrs[argc] = 0;
	sp = ROUNDDOWN(sp, 16) - ROUNDUP((uint64_t)(argc + 1) * 8, 16);
	memcpy(page + (sp - top_page), ptrs, (size_t)(argc + 1) * 8);
	*argv_va = sp;
	return (int64_t)sp;
}

/* Loads the program into p->as and builds the first user trapframe in *tf. */
static int load(struct proc *p, int module, int argc, char *argv[], struct trapframe *tf)
{
	const struct boot_module *m = &boot_info.modules[module];
	uint64_t entry, argv_va;
	int64_t sp;
	int r;

	r = elf_load(&p->as, pa2kva(m->start), m->end - m->start, &entry);
	if (r < 0)
		return r;
	sp = setup_stack(&p->as, argc, argv, &argv_va);
	if (sp < 0)
		return (int)sp;
	memset(tf, 0, sizeof(*tf));
	tf->rip = entry;
	tf->cs = GDT_UCODE | 3;
	tf->ss = GDT_UDATA | 3;
	tf->rsp = (uint64_t)sp;
	tf->rflags = USER_RFLAGS;
	tf->rdi = (uint64_t)argc;
	tf->rsi = argv_va;
	return 0;
}

/* Runs the loaded process until it comes back through exit_env. */
static void enter_and_wait(struct proc *p, const struct trapframe *tf0)
{
	int cpu = cpu_id();
	uint64_t top = (uint64_t)(kstacks[cpu] + KSTACK_SIZE);
	struct trapframe *tf = (struct trapframe *)(top - sizeof(*tf));

	*tf = *tf0;
	syscall_set_kernel_stack(top);
	current[cpu] = p;
	if (k_setjmp(&p->exit_env) == 0)
		user_enter(tf);
	current[cpu] = NULL;
}

int proc_run(const char *cmdline, struct proc_result *res)
{
	char buf[PROC_CMDLINE_MAX], *argv[PROC_MAX_ARGS];
	struct proc *p = &procs[cpu_id()];
	struct aspace *prev = aspace_current();
	struct trapframe tf;
	int argc, module, r;

	argc = split_args(cmdline, buf, argv);
	if (argc < 0)
		return argc;
	if (argc == 0)
		return -ENOENT;
	module = proc_find_module(argv[0]);
	if (module < 0)
		return module;
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, argv[0], sizeof(p->name));
	r = aspace_init(&p->as);
	if (r < 0)
		return r;
	memview_track(&p->as, p->name);
	r = load(p, module, argc, argv, &tf);
	if (r == 0) {
		aspace_activate(&p->as);
		enter_and_wait(p, &tf);
		aspace_activate(prev);
		res->status = p->status;
		res->killed = p->killed;
		res->vector = p->kill_vector;
		res->addr = p->kill_addr;
		res->rip = p->kill_rip;
	}
	memview_untrack(&p->as);
	aspace_destroy(&p->as);
	return r;
}

void proc_exit(int status)
{
	struct proc *p = proc_current();

	if (!p)
		panic("proc_exit outside a process");
	p->status = status;
	k_longjmp(&p->exit_env, 1);
}

/*
 * An exception in ring 3 that no earlier handler resolved (the demand-zero
 * handler runs first) kills the process: the kernel lives on.
 */
static bool kill_on_user_fault(struct trapframe *tf)
{
	struct proc *p = proc_current();

	if (!(tf->cs & 3) || !p)
		return false;
	p->killed = true;
	p->kill_vector = (int)tf->vector;
	p->kill_addr = tf->vector == T_PGFLT ? read_cr2() : 0;
	p->kill_rip = tf->rip;
	p->status = PROC_KILLED_STATUS((int)tf->vector);
	kprintf("pagoda: process %s killed: %s at rip %#lx", p->name, trap_name((int)tf->vector),
		tf->rip);
	if (tf->vector == T_PGFLT)
		kprintf(" (address %#lx, %s)", p->kill_addr,
			tf->error & PF_INSTR ? "execute" : tf->error & PF_WRITE ? "write" : "read");
	kprintf(", exit status %d\n", p->status);
	k_longjmp(&p->exit_env, 1);
}

void proc_init(void)
{
	trap_register_fault_handler(TRAP_ANY_EXCEPTION, kill_on_user_fault);
}

void proc_run_from_cmdline(const char *cmdline)
{
	char cmd[PROC_CMDLINE_MAX];
	struct proc_result res;
	int r;

	/* The ISO's command-line field is space-padded: cmdline_get_rest drops the padding. */
	r = cmdline_get_rest(cmdline, "run", cmd, sizeof(cmd));
	if (r == -E2BIG) {
		/* Never run a cut argument list: it would be another command. */
		kprintf("pagoda: cannot run: the run= argument is longer than %d bytes: E2BIG\n",
			PROC_CMDLINE_MAX - 1);
		qemu_exit(EXIT_TESTS_FAILED);
	}
	kprintf("pagoda: run \"%s\"\n", cmd);
	r = proc_run(cmd, &res);
	if (r < 0) {
		kprintf("pagoda: cannot run \"%s\": %s\n", cmd, errname(r));
		qemu_exit(EXIT_TESTS_FAILED);
	}
	kprintf("pagoda: %s exited with status %d%s\n", cmd, res.status,
		res.killed ? " (killed)" : "");
	/* The program's status is its own (hello exits 40 + argc): not a test verdict. */
	qemu_exit(EXIT_HALTED);
}
