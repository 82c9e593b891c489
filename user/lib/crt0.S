/* Process entry: the kernel passes argc in RDI and argv in RSI (kern/proc.h). */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp			/* the end of the frame chain */
	and $-16, %rsp
	call main
	mov %eax, %edi
	call exit
	ud2
	.size _start, . - _start
