/*
 * A pKVM-like EL2 FF-A proxy in C, built twice (see the Makefile's `blobs` target):
 *   -DVERSION_CHECK_U64: `res.a0 == -1UL`, the 64-bit compare pKVM used (bug 1);
 *   default:             `(s32)res.a0 == FFA_RET_NOT_SUPPORTED`, the fix.
 * The compiler turns them into `cmn x0, #1` and `cmn w0, #1` in hyp_ffa_init.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef int s32;

#define FFA_VERSION		0x84000063UL
#define FFA_VERSION_1_2		0x10002UL
#define FFA_RET_NOT_SUPPORTED	(-1)
#define PKVM_INIT_FID		0xC6000001UL
#define HCR_RW_TSC		0x80080000UL
#define ESR_EC_SHIFT		26
#define EC_HVC64		0x16
#define EC_SMC64		0x17
#define EOPNOTSUPP		95
#define UART_DR			((volatile unsigned char *)0x09000000UL)

struct regs { u64 x[31]; };
struct smccc_res { u64 a0, a1, a2, a3; };

static void puts(const char *s)
{
	while (*s)
		*UART_DR = *s++;
}

static void puthex(u64 v)
{
	for (int shift = 60; shift >= 0; shift -= 4)
		*UART_DR = "0123456789abcdef"[(v >> shift) & 0xf];
}

/* SMC #0 to EL3 with x0-x7; results in x0-x3. x8-x17 are clobbered: under SMCCC v1.2
 * (DEN0028 §2.6) an SMC64 result may write them, and TF-A lts-v2.14.6's SPMD zeroes them
 * for a caller at FF-A 1.2 (spmd_smc_switch_state; real-firmware run with OP-TEE 4.10). */
static struct smccc_res smc(const u64 *a)
{
	register u64 x0 asm("x0") = a[0], x1 asm("x1") = a[1], x2 asm("x2") = a[2],
		     x3 asm("x3") = a[3], x4 asm("x4") = a[4], x5 asm("x5") = a[5],
		     x6 asm("x6") = a[6], x7 asm("x7") = a[7];
	asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5),
		     "+r"(x6), "+r"(x7) : : "x8", "x9", "x10", "x11", "x12", "x13", "x14",
		     "x15", "x16", "x17", "memory");
	return (struct smccc_res){ x0, x1, x2, x3 };
}

__attribute__((noinline)) long hyp_ffa_init(void)
{
	u64 args[8] = { FFA_VERSION, FFA_VERSION_1_2 };
	struct smccc_res res = smc(args);

#ifdef VERSION_CHECK_U64
	if (res.a0 == -1UL) {			/* bug 1: the 64-bit x0 compared with -1 */
#else
	if ((s32)res.a0 == FFA_RET_NOT_SUPPORTED) {	/* the fix: the W view */
#endif
		puts("pkvm(C): no FF-A in firmware, continuing without the proxy\n");
	} else if (((res.a0 >> 16) & 0x7fff) != 1) {
		puts("pkvm(C): refusing to initialise, FFA_VERSION gave x0=");
		puthex(res.a0);
		puts("\n");
		return -EOPNOTSUPP;
	} else {
		puts("pkvm(C): FF-A available, proxy up\n");
	}
	asm volatile("msr hcr_el2, %0" : : "r"(HCR_RW_TSC));
	return 0;
}

void handle_lower_sync(struct regs *r)
{
	u64 esr, elr;
	struct smccc_res res;

	asm volatile("mrs %0, esr_el2" : "=r"(esr));
	switch (esr >> ESR_EC_SHIFT) {
	case EC_HVC64:
		r->x[0] = r->x[0] == PKVM_INIT_FID ? (u64)hyp_ffa_init() : (u64)-1L;
		return;
	case EC_SMC64:				/* trapped by TSC: forward, then step over */
		res = smc(r->x);
		r->x[0] = res.a0;
		r->x[1] = res.a1;
		r->x[2] = res.a2;
		r->x[3] = res.a3;
		asm volatile("mrs %0, elr_el2" : "=r"(elr));
		asm volatile("msr elr_el2, %0" : : "r"(elr + 4));
		return;
	default:
		puts("pkvm(C): unexpected exception\n");
		for (;;)
			;
	}
}
