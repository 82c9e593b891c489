/*
 * Structure offsets for the assembly (kern/trapentry.S, kern/syscall_entry.S),
 * generated rather than typed so that they follow the C layout. Never linked:
 * the Makefile compiles this file to assembly and turns each "->NAME value"
 * line into "#define NAME value" in $(OBJ)/generated/asm-offsets.h.
 */
#include "kern/percpu.h"
#include "kern/trap.h"

#define DEFINE(sym, val) asm volatile("\n.ascii \"->" #sym " %c0\"" : : "i"(val))
#define OFFSET(sym, type, member) DEFINE(sym, offsetof(struct type, member))

void asm_offsets(void);

void asm_offsets(void)
{
	/* The general registers first (TF_R15 is 0), then what the CPU pushed. */
	OFFSET(TF_R15, trapframe, r15);
	OFFSET(TF_VECTOR, trapframe, vector);
	OFFSET(TF_ERROR, trapframe, error);
	OFFSET(TF_RIP, trapframe, rip);
	OFFSET(TF_CS, trapframe, cs);
	OFFSET(TF_RFLAGS, trapframe, rflags);
	OFFSET(TF_RSP, trapframe, rsp);
	OFFSET(TF_SS, trapframe, ss);
	DEFINE(TF_SIZE, sizeof(struct trapframe));

	OFFSET(PERCPU_SYSCALL_RSP0, percpu, syscall_rsp0);
	OFFSET(PERCPU_SYSCALL_USER_RSP, percpu, syscall_user_rsp);
}
