/*
 * k_setjmp / k_longjmp: save and restore the callee-saved registers, the
 * stack pointer and RFLAGS, so that the test framework can resume a test
 * after a fault in the code it calls (kern/test/ktest.c's fault trap).
 */
	.text
	.globl k_setjmp
	.type k_setjmp, @function
k_setjmp:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax		/* rsp as it is after our return */
	mov %rax, 48(%rdi)
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	pushfq
	popq 64(%rdi)
	xor %eax, %eax
	ret
	.size k_setjmp, . - k_setjmp

	.globl k_longjmp
	.type k_longjmp, @function
k_longjmp:
	mov %esi, %eax
	test %eax, %eax
	jnz 1f
	inc %eax
1:	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	pushq 64(%rdi)
	popfq
	jmp *56(%rdi)
	.size k_longjmp, . - k_longjmp
