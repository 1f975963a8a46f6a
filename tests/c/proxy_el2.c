/* An EL2 proxy in C (`--el2 proxy_el2.c`): enters the guest at EL1 with HCR_EL2.TSC set and
 * forwards each trapped SMC to EL3, printing its function ID. A trapped SMC returns to the
 * SMC itself (Arm ARM D1.10.1: ELR_EL2 = its address), so ELR_EL2 is stepped over it. */
#include "ffaemu.h"

#define HCR_RW		(1UL << 31)
#define HCR_TSC		(1UL << 19)
#define ESR_EC(esr)	((esr) >> 26)
#define EC_SMC64	0x17

void handle_lower_sync(struct ffaemu_frame *f)
{
	if (ESR_EC(read_sysreg(esr_el2)) != EC_SMC64) {
		f->x[0] = (u64)-1;
		return;
	}
	ffaemu_puts("el2(C): forwarding ");
	ffaemu_puthex((u32)f->x[0]);
	ffaemu_puts("\n");
	struct smccc_res r = smc64(f->x[0], f->x[1], f->x[2], f->x[3], f->x[4], f->x[5], f->x[6], f->x[7]);
	f->x[0] = r.a0;
	f->x[1] = r.a1;
	f->x[2] = r.a2;
	f->x[3] = r.a3;
	write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
}

int main(u64 guest_entry)
{
	ffaemu_enter_el1(guest_entry, HCR_RW | HCR_TSC);
}
