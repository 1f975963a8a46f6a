/*
 * ffaemu.h - what a C guest (or EL2/EL3 image) run by ffaemu needs, freestanding.
 *
 * Built by `ffaemu run guest.c` with clang from the ziglang package, linked at the guest
 * base with the start-up in crt0.S (stack, then main(), then semihosting exit with its
 * return value). Everything here is inline; nothing else is linked.
 *
 *   struct smccc_res r = smc32(FFA_VERSION, 0x10002);   // SMC #0 with w0, w1 = ...
 *   if ((s32)r.a0 == -1) ...                             // the W view, as the kernel reads it
 *   r = smc64(0xC4000070, addr);                         // SMC #0 with x0, x1 = ...
 *   r = hvc(0xC6000001);                                 // HVC #0
 *   ffaemu_puts("hello\n"); ffaemu_puthex(r.a0);          // PL011 UART data register
 *   ffaemu_exit(0);                                      // semihosting SYS_EXIT
 *
 * Calls follow SMCCC v1.2 (DEN0028 §2.6-2.8): arguments in x0-x17 (unnamed ones are 0),
 * results in x0-x17, all returned in `struct smccc_res`. smc32() passes 32-bit arguments
 * (the W views; bits [63:32] are zero), smc64()/hvc() 64-bit ones.
 */
#ifndef FFAEMU_H
#define FFAEMU_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long s64;
typedef int s32;

/* x0-x17 of a call or its result (SMCCC v1.2: up to 18 registers each way). */
struct smccc_res { u64 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17; };
struct smccc_args { u64 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17; };
struct smccc_args32 { u32 a0, a1, a2, a3, a4, a5, a6, a7; };

#define FFAEMU_CALL(insn, args)                                                                     \
        ({                                                                                          \
                struct smccc_args _ffaemu_in = (args);                                              \
                register u64 x0 asm("x0") = _ffaemu_in.a0, x1 asm("x1") = _ffaemu_in.a1;            \
                register u64 x2 asm("x2") = _ffaemu_in.a2, x3 asm("x3") = _ffaemu_in.a3;            \
                register u64 x4 asm("x4") = _ffaemu_in.a4, x5 asm("x5") = _ffaemu_in.a5;            \
                register u64 x6 asm("x6") = _ffaemu_in.a6, x7 asm("x7") = _ffaemu_in.a7;            \
                register u64 x8 asm("x8") = _ffaemu_in.a8, x9 asm("x9") = _ffaemu_in.a9;            \
                register u64 x10 asm("x10") = _ffaemu_in.a10, x11 asm("x11") = _ffaemu_in.a11;      \
                register u64 x12 asm("x12") = _ffaemu_in.a12, x13 asm("x13") = _ffaemu_in.a13;      \
                register u64 x14 asm("x14") = _ffaemu_in.a14, x15 asm("x15") = _ffaemu_in.a15;      \
                register u64 x16 asm("x16") = _ffaemu_in.a16, x17 asm("x17") = _ffaemu_in.a17;      \
                asm volatile(insn : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5),     \
                             "+r"(x6), "+r"(x7), "+r"(x8), "+r"(x9), "+r"(x10), "+r"(x11),          \
                             "+r"(x12), "+r"(x13), "+r"(x14), "+r"(x15), "+r"(x16), "+r"(x17)       \
                             : : "memory");                                                         \
                (struct smccc_res){ x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12,          \
                                    x13, x14, x15, x16, x17 };                                      \
	})

/* SMC32 (DEN0028 §2.6): only the W views are arguments; bits [63:32] are zero here. */
static inline struct smccc_args ffaemu_widen32(struct smccc_args32 w)
{
	return (struct smccc_args){ w.a0, w.a1, w.a2, w.a3, w.a4, w.a5, w.a6, w.a7 };
}

/*
 * smc64(fid, x1, ..., x17), smc32(fid, w1, ..., w7), hvc(fid, x1, ..., x17).
 * Macros, so that the SMC/HVC instruction's DWARF line is the caller's line.
 */
#define smc64(...) FFAEMU_CALL("smc #0", ((struct smccc_args){ __VA_ARGS__ }))
#define smc32(...) FFAEMU_CALL("smc #0", ffaemu_widen32((struct smccc_args32){ __VA_ARGS__ }))
#define hvc(...) FFAEMU_CALL("hvc #0", ((struct smccc_args){ __VA_ARGS__ }))

/* The PL011 UART of QEMU's virt board (hw/arm/virt.c: VIRT_UART at 0x09000000), DR at +0. */
#define FFAEMU_UART_DR ((volatile u8 *)0x09000000UL)

static inline void ffaemu_putc(char c) { *FFAEMU_UART_DR = (u8)c; }
static inline void ffaemu_puts(const char *s) { while (*s) ffaemu_putc(*s++); }
static inline void ffaemu_puthex(u64 v)
{
	ffaemu_puts("0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		ffaemu_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

/*
 * Semihosting SYS_EXIT (Arm "Semihosting for AArch32 and AArch64" v2, §6.5 and §5.2):
 * HLT #0xF000 with w0 = 0x18 and x1 pointing at { ADP_Stopped_ApplicationExit = 0x20026,
 * exit code }; the run ends with that code.
 */
static inline __attribute__((noreturn)) void ffaemu_exit(int code)
{
	static volatile u64 block[2];
	block[0] = 0x20026;
	block[1] = (u64)(s64)code;
	register u64 x0 asm("x0") = 0x18;
	register u64 x1 asm("x1") = (u64)block;
	asm volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
	for (;;)
		;
}

#define read_sysreg(reg) ({ u64 _v; asm volatile("mrs %0, " #reg : "=r"(_v)); _v; })
#define write_sysreg(reg, v) asm volatile("msr " #reg ", %0" : : "r"((u64)(v)))

/*
 * EL2 and EL3 images in C: crt0.S's vectors save x0-x30 of a synchronous exception from a
 * lower EL (AArch64) in a frame and call handle_lower_sync(frame), which the image defines;
 * the frame's registers are restored on ERET. An EL2 image's main(guest_entry) is entered
 * at EL2h with the guest's entry (ffaemu's `--el2 FILE` protocol).
 */
struct ffaemu_frame { u64 x[31]; };
void handle_lower_sync(struct ffaemu_frame *frame);

/* Enter `entry` at EL1h with DAIF masked (SPSR_EL2.M = 0b0101, DAIF = 0xf: 0x3c5). */
static inline __attribute__((noreturn)) void ffaemu_enter_el1(u64 entry, u64 hcr_el2)
{
	write_sysreg(hcr_el2, hcr_el2);
	write_sysreg(elr_el2, entry);
	write_sysreg(spsr_el2, 0x3c5);
	asm volatile("isb; mov x0, #0; eret" : : : "x0", "memory");
	__builtin_unreachable();
}

#endif /* FFAEMU_H */
