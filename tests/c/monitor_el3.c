/* An EL3 monitor in C (`--el3 monitor_el3.c`): FFA_VERSION -> 1.2, PSCI SYSTEM_OFF -> exit(0),
 * anything else -> -1 (SMCCC "unknown function"). SMC's preferred return is the next
 * instruction (Arm ARM D1.10.1), so ELR_EL3 needs no adjustment. */
#include "ffaemu.h"

#define FFA_VERSION	0x84000063u
#define PSCI_SYSTEM_OFF	0x84000008u

void handle_lower_sync(struct ffaemu_frame *f)
{
	u32 fid = (u32)f->x[0];		/* w0: SMCCC function ID */

	if (fid == FFA_VERSION) {
		f->x[0] = 0x10002;
		f->x[1] = f->x[2] = f->x[3] = 0;
	} else if (fid == PSCI_SYSTEM_OFF) {
		ffaemu_puts("el3(C): system off\n");
		ffaemu_exit(0);
	} else {
		f->x[0] = (u64)-1;
	}
}

int main(void)
{
	return 1;			/* not run: the harness installs el3_vectors */
}
