/*
 * crt0.S - start-up for C images built by ffaemu (toolchain/cguest.py), preprocessed.
 *   guest (default): stack, main(), semihosting SYS_EXIT with main's return value;
 *   FFAEMU_EL2: also VBAR_EL2 = el2_vectors, main(x0 = the guest's entry);
 *   FFAEMU_EL3: el3_vectors (the harness's EL3 stub installs it; _start is not run).
 * The vectors take a synchronous exception from a lower EL (AArch64), offset 0x400
 * (Arm ARM D1.10.2, Table D1-5), onto a frame below __stack_top, independent of SP.
 */
/* The exception frame (x0-x30, interrupted SP: 256 bytes) sits 4 KiB below the stack top,
 * above the handler's own stack and below what main() used at EL2. */
#define FRAME_BELOW_TOP 0x1100

#if defined(FFAEMU_EL2)
#define TPIDR tpidr_el2
#define VECTORS el2_vectors
#elif defined(FFAEMU_EL3)
#define TPIDR tpidr_el3
#define VECTORS el3_vectors
#endif

	.section .text.start, "ax"
	.global _start
_start:
	ldr	x9, =__stack_top
	mov	sp, x9
#if defined(FFAEMU_EL2)
	adr	x9, el2_vectors
	msr	vbar_el2, x9
	isb
#endif
	bl	main
	adr	x1, exit_block			/* SYS_EXIT: { 0x20026, main's return value } */
	sxtw	x0, w0
	str	x0, [x1, #8]
	mov	x0, #0x18
	hlt	#0xf000
	b	.

#ifdef VECTORS
	.global VECTORS
	.balign	0x800
VECTORS:
	.space	0x400
	b	sync_lower
	.balign	0x800

sync_lower:
	msr	TPIDR, x0			/* free x0 to address the frame */
	ldr	x0, =__stack_top - FRAME_BELOW_TOP
	stp	x1, x2, [x0, #8]
	stp	x3, x4, [x0, #24]
	stp	x5, x6, [x0, #40]
	stp	x7, x8, [x0, #56]
	stp	x9, x10, [x0, #72]
	stp	x11, x12, [x0, #88]
	stp	x13, x14, [x0, #104]
	stp	x15, x16, [x0, #120]
	stp	x17, x18, [x0, #136]
	stp	x19, x20, [x0, #152]
	stp	x21, x22, [x0, #168]
	stp	x23, x24, [x0, #184]
	stp	x25, x26, [x0, #200]
	stp	x27, x28, [x0, #216]
	stp	x29, x30, [x0, #232]
	mrs	x1, TPIDR
	str	x1, [x0, #0]			/* frame->x[0] */
	mov	x1, sp
	str	x1, [x0, #248]			/* the interrupted SP */
	mov	sp, x0				/* the handler's stack grows below the frame */
	bl	handle_lower_sync
	mov	x0, sp
	ldr	x1, [x0, #248]
	mov	sp, x1
	ldp	x1, x2, [x0, #8]
	ldp	x3, x4, [x0, #24]
	ldp	x5, x6, [x0, #40]
	ldp	x7, x8, [x0, #56]
	ldp	x9, x10, [x0, #72]
	ldp	x11, x12, [x0, #88]
	ldp	x13, x14, [x0, #104]
	ldp	x15, x16, [x0, #120]
	ldp	x17, x18, [x0, #136]
	ldp	x19, x20, [x0, #152]
	ldp	x21, x22, [x0, #168]
	ldp	x23, x24, [x0, #184]
	ldp	x25, x26, [x0, #200]
	ldp	x27, x28, [x0, #216]
	ldp	x29, x30, [x0, #232]
	ldr	x0, [x0, #0]
	eret
#endif

	.section .data
	.balign	8
exit_block:
	.quad	0x20026, 0
