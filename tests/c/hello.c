/* A C guest: FFA_VERSION(1.2) as SMC32, printed, then exit with a code the test checks. */
#include "ffaemu.h"

#define FFA_VERSION	0x84000063u
#define FFA_VERSION_1_2	0x10002u

int main(void)
{
	struct smccc_res res = smc32(FFA_VERSION, FFA_VERSION_1_2);

	ffaemu_puts("FFA_VERSION: ");
	ffaemu_puthex(res.a0);
	ffaemu_puts((s32)res.a0 == -1 ? " NOT_SUPPORTED\n" : "\n");
	return 7;
}
