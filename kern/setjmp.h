/* Non-local jumps for the kernel: tests use them to survive faults. */
#ifndef KERN_SETJMP_H
#define KERN_SETJMP_H

#include "lib/types.h"

struct jmp_buf {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};

/* k_setjmp - returns 0 when called, the k_longjmp value (never 0) later. */
int k_setjmp(struct jmp_buf *jb) __attribute__((returns_twice));
/* k_longjmp - resume at k_setjmp, restoring its RFLAGS (IF included). */
void k_longjmp(struct jmp_buf *jb, int val) __noreturn;

#endif
