/*
 * ffaemu's fast path: exception entry for SVC/HVC/SMC taken into assembly vectors, and
 * the ERET legality filter, as Unicorn hooks in C.
 *
 * It implements only the common cases and calls back into Python (ffaemu/machine.py,
 * the exception model's single source of truth) for everything else: UNDEFINED, BRK,
 * semihosting, exceptions routed to an EL with a Python model, HVC at Secure EL1,
 * AArch32, and any ERET it cannot prove legal. The entry rules are those of
 * ffaemu/arch/exceptions.py (Arm ARM D1.10): SPSR = PSTATE, ELR, ESR = EC:IL:imm16,
 * SP banking, PSTATE = ELxh with DAIF masked, PC = VBAR_ELx + offset.
 * Unicorn's headers are not needed: the Python side passes the register IDs and the
 * libunicorn function pointers in `struct fast_ctx`.
 */
#include <stdint.h>

typedef void uc_engine;
typedef int (*reg_fn)(uc_engine *, int, void *);
typedef int (*mem_read_fn)(uc_engine *, uint64_t, void *, uint64_t);
typedef int (*stop_fn)(uc_engine *);
typedef void (*intr_cb)(uc_engine *, uint32_t, void *);
typedef void (*code_cb)(uc_engine *, uint64_t, uint32_t, void *);
typedef void (*trap_cb)(void);          /* no arguments: everything is in `trap` */

struct cp_reg { uint32_t crn, crm, op0, op1, op2; uint64_t val; };

enum { INTR_SWI = 2, INTR_HVC = 11, INTR_HYP_TRAP = 12, INTR_SMC = 13 };
enum { EC_SVC64 = 0x15, EC_HVC64 = 0x16, EC_SMC64 = 0x17 };
#define LOG_CAP 1024
#define TRAP_WORDS 26
#define RES_VALID (1u << 31)

struct fast_ctx {
	reg_fn reg_read, reg_write;
	mem_read_fn mem_read;
	stop_fn emu_stop;
	int r_pc, r_pstate, r_sp, r_cp;
	int r_elr[4], r_esr[4], r_vbar[4], r_sp_el[4], r_x[18];
	uint32_t python_els;          /* bit n: EL n has a Python handler: let Python route */
	uint32_t all_python;          /* tracing or debugging: every exception goes to Python */
	intr_cb python_intr;          /* Machine._on_intr */
	code_cb python_eret;          /* Machine._on_eret */
	uint64_t last_vector, last_info;     /* for "vector unmapped" messages */
	uint64_t log_count;           /* entries written since the last drain */
	uint64_t log[LOG_CAP][8];     /* from, to, ec, esr, elr, spsr, intno, vector */
	uint64_t insns;               /* instructions of the blocks entered: the virtual clock */
	code_cb python_control;       /* Machine._on_control_write(value, op1|crm<<8|op2<<16) */
	/* The lean trap path: an SVC/HVC/SMC for an EL with a Python model crosses to Python
	 * once, with everything in `trap`, and the model's results come back in `res`. */
	trap_cb python_trap;          /* Machine._on_model_trap */
	uint64_t trap[TRAP_WORDS];    /* x0-x17, pc, pstate, scr, hcr, insn, from|to<<8|ec<<16|intno<<24, esr, log_count */
	uint64_t res[18];             /* x[n] for each bit n of res_mask */
	uint64_t res_mask;            /* bit 31: results are valid (write them and res_pc) */
	uint64_t res_pc;
};

static uint64_t rd(uc_engine *uc, struct fast_ctx *c, int reg)
{
	uint64_t v = 0;
	c->reg_read(uc, reg, &v);
	return v;
}

static void wr(uc_engine *uc, struct fast_ctx *c, int reg, uint64_t v)
{
	c->reg_write(uc, reg, &v);
}

static uint64_t rd_sys(uc_engine *uc, struct fast_ctx *c, uint32_t op1, uint32_t crn,
		       uint32_t crm, uint32_t op2)
{
	struct cp_reg r = { crn, crm, 3, op1, op2, 0 };
	c->reg_read(uc, c->r_cp, &r);
	return r.val;
}

static const uint32_t OP1_FOR_EL[4] = { 0, 0, 4, 6 };
#define SCR_NS  (1u << 0)
#define SCR_RW  (1u << 10)
#define HCR_TGE (1ull << 27)
#define HCR_RW  (1ull << 31)

/* Hand a call to the Python model of EL `to`: one crossing, registers in shared memory;
 * then write back the results it left in `res` (if any: it may also have moved the CPU
 * itself, e.g. into EL3 assembly). */
static void model_trap(uc_engine *uc, struct fast_ctx *c, uint32_t intno, uint64_t pc,
		       uint64_t pstate, uint64_t scr, uint64_t hcr, uint32_t insn, uint32_t el,
		       uint32_t to, uint32_t ec)
{
	uint64_t *t = c->trap;
	for (int i = 0; i < 18; i++)
		t[i] = rd(uc, c, c->r_x[i]);
	t[18] = pc; t[19] = pstate; t[20] = scr; t[21] = hcr; t[22] = insn;
	t[23] = el | (to << 8) | ((uint64_t)ec << 16) | ((uint64_t)intno << 24);
	t[24] = ((uint64_t)ec << 26) | (1u << 25) | ((insn >> 5) & 0xFFFF);
	t[25] = c->log_count;
	c->res_mask = 0;
	c->python_trap();
	if (c->res_mask & RES_VALID) {
		for (int i = 0; i < 18; i++)
			if (c->res_mask & (1u << i))
				wr(uc, c, c->r_x[i], c->res[i]);
		wr(uc, c, c->r_pc, c->res_pc);
	}
}

void ffaemu_fast_intr(uc_engine *uc, uint32_t intno, void *user)
{
	struct fast_ctx *c = user;
	uint64_t pc, pstate, insn_addr, scr, hcr, sp;
	uint32_t insn = 0, el, to, ec, mask, expected, sp_el;

	if (c->all_python || (intno != INTR_SWI && intno != INTR_HVC && intno != INTR_HYP_TRAP &&
			      intno != INTR_SMC))
		goto python;
	pc = rd(uc, c, c->r_pc);
	pstate = rd(uc, c, c->r_pstate);
	if (pstate & 0x10)
		goto python;                             /* AArch32: Python reports it */
	el = (pstate >> 2) & 3;
	insn_addr = intno == INTR_HYP_TRAP ? pc : pc - 4;
	if (c->mem_read(uc, insn_addr, &insn, 4))
		goto python;
	mask = 0xFFE0001F;
	expected = intno == INTR_SWI ? 0xD4000001 : intno == INTR_HVC ? 0xD4000002 : 0xD4000003;
	if ((insn & mask) != expected)
		goto python;                             /* not the instruction we think: Python */
	scr = rd_sys(uc, c, 6, 1, 1, 0);
	hcr = rd_sys(uc, c, 4, 1, 1, 0);
	switch (intno) {
	case INTR_SWI:
		to = el ? el : ((hcr & HCR_TGE) && (scr & SCR_NS)) ? 2 : 1;
		ec = EC_SVC64;
		break;
	case INTR_HVC:
		if (el == 1 && !(scr & SCR_NS))
			goto python;                     /* UNDEFINED at Secure EL1 */
		to = el == 3 ? 3 : 2;
		ec = EC_HVC64;
		break;
	case INTR_HYP_TRAP:
		to = 2;
		ec = EC_SMC64;
		break;
	default:
		to = 3;
		ec = EC_SMC64;
	}
	if (el < to && (c->python_els & (1u << to))) {
		if (!c->python_trap)
			goto python;
		model_trap(uc, c, intno, pc, pstate, scr, hcr, insn, el, to, ec);
		return;                                  /* a Python model took it */
	}
	{
		uint64_t esr = ((uint64_t)ec << 26) | (1u << 25) | ((insn >> 5) & 0xFFFF);
		uint64_t off = el < to ? 0x400 : (pstate & 1) ? 0x200 : 0;
		struct cp_reg spsr = { 4, 0, 3, OP1_FOR_EL[to], 0, pstate };
		uint64_t vbar, *entry;

		sp_el = (pstate & 1) ? el : 0;
		sp = rd(uc, c, c->r_sp);
		wr(uc, c, c->r_sp_el[sp_el], sp);
		wr(uc, c, c->r_sp, rd(uc, c, c->r_sp_el[to]));
		wr(uc, c, c->r_elr[to], pc);
		wr(uc, c, c->r_esr[to], esr);
		wr(uc, c, c->r_pstate, ((uint64_t)to << 2) | 1 | 0x3C0);
		c->reg_write(uc, c->r_cp, &spsr);        /* the CP write rebuilds the TB flags */
		vbar = rd(uc, c, c->r_vbar[to]);
		wr(uc, c, c->r_pc, vbar + off);
		c->last_vector = vbar + off;
		c->last_info = ((uint64_t)el << 16) | (to << 8) | ec;
		if (c->log_count < LOG_CAP) {
			entry = c->log[c->log_count];
			entry[0] = el; entry[1] = to; entry[2] = ec; entry[3] = esr;
			entry[4] = pc; entry[5] = pstate; entry[6] = intno; entry[7] = vbar + off;
		}
		c->log_count++;
		if (c->log_count == LOG_CAP)
			goto python_drain;
		return;
	}
python_drain:
	/* The log is full: let Python drain it now (it records nothing new for this call). */
	c->python_intr(uc, 0xFFFFFFFFu, user);
	return;
python:
	c->python_intr(uc, intno, user);
}

/* ERET: return at once when the return is plainly legal; otherwise ask Python. */
void ffaemu_fast_eret(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	struct fast_ctx *c = user;
	uint64_t pstate, spsr, scr, hcr;
	uint32_t el, target, ok;

	if (c->all_python)
		goto python;
	pstate = rd(uc, c, c->r_pstate);
	el = (pstate >> 2) & 3;
	if (el == 0)
		return;
	spsr = rd_sys(uc, c, OP1_FOR_EL[el], 4, 0, 0);
	target = (spsr >> 2) & 3;
	if (spsr & 0x12)                                 /* AArch32 or a reserved M[1] */
		goto python;
	if (target == el)
		return;
	if (target > el || (target == 0 && (spsr & 1)))
		goto python;
	scr = rd_sys(uc, c, 6, 1, 1, 0);
	hcr = rd_sys(uc, c, 4, 1, 1, 0);
	if (!(scr & SCR_RW))
		goto python;
	if (target == 2)
		ok = scr & SCR_NS;
	else if (!(scr & SCR_NS))
		ok = 1;                                  /* Secure EL1/EL0: SCR_EL3.RW decides */
	else if (target == 1)
		ok = (hcr & HCR_RW) && !(hcr & HCR_TGE);
	else
		ok = (hcr & HCR_RW) || (hcr & HCR_TGE);
	if (ok)
		return;
python:
	c->python_eret(uc, addr, size, user);
}

/* For a Python trap, in one call: x0-x17, PC, PSTATE, SCR_EL3, HCR_EL2 and the
 * instruction word at `insn_back` bytes before PC (4 after SVC/HVC/SMC, else 0). */
void ffaemu_read_trap(uc_engine *uc, struct fast_ctx *c, uint64_t *out, uint32_t insn_back)
{
	uint32_t insn = 0;
	for (int i = 0; i < 18; i++)
		out[i] = rd(uc, c, c->r_x[i]);
	out[18] = rd(uc, c, c->r_pc);
	out[19] = rd(uc, c, c->r_pstate);
	out[20] = rd_sys(uc, c, 6, 1, 1, 0);
	out[21] = rd_sys(uc, c, 4, 1, 1, 0);
	out[22] = c->mem_read(uc, out[18] - insn_back, &insn, 4) ? 0xFFFFFFFFFFFFFFFFull : insn;
}

/* Write x[n] = vals[n] for every bit n of `mask` (n < 18), then PC, in one call. */
void ffaemu_write_result(uc_engine *uc, struct fast_ctx *c, const uint64_t *vals, uint32_t mask,
			 uint64_t pc)
{
	for (int i = 0; i < 18; i++)
		if (mask & (1u << i))
			wr(uc, c, c->r_x[i], vals[i]);
	wr(uc, c, c->r_pc, pc);
}

/*
 * The virtual counter (ffaemu/arch/counter.py): every block entered adds its
 * instructions, so CNTPCT_EL0/CNTVCT_EL0 read the same values in every run.
 */
void ffaemu_fast_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	struct fast_ctx *c = user;
	c->insns += size / 4;
}

int ffaemu_fast_mrs(uc_engine *uc, int reg, const struct cp_reg *cp, void *user)
{
	struct fast_ctx *c = user;
	/* CNTPCT_EL0 = S3_3_C14_C0_1, CNTVCT_EL0 = S3_3_C14_C0_2 (Arm ARM D23.8) */
	if (cp->op0 != 3 || cp->op1 != 3 || cp->crn != 14 || cp->crm != 0 ||
	    (cp->op2 != 1 && cp->op2 != 2))
		return 0;
	uint64_t value = c->insns;
	if (cp->op2 == 2)             /* CNTVCT = CNTPCT - CNTVOFF_EL2 (S3_4_C14_C0_3) */
		value -= rd_sys(uc, c, 4, 14, 0, 3);
	wr(uc, c, reg, value);
	return 1;
}

/*
 * Writes to the controls of checks Unicorn does not make go to Python
 * (Machine._on_control_write): SCTLR_ELx (S3_<op1>_C1_C0_0, alignment),
 * CPACR_EL1 (S3_0_C1_C0_2) and CPTR_EL2/EL3 (S3_4/6_C1_C1_2, FP traps). Every
 * other MSR stays in C.
 */
int ffaemu_fast_msr(uc_engine *uc, int reg, const struct cp_reg *cp, void *user)
{
	struct fast_ctx *c = user;
	if (cp->op0 == 3 && cp->crn == 1 && (cp->op1 == 0 || cp->op1 == 4 || cp->op1 == 6) &&
	    ((cp->crm == 0 && (cp->op2 == 0 || cp->op2 == 2)) || (cp->crm == 1 && cp->op2 == 2)))
		c->python_control(uc, cp->val, cp->op1 | cp->crm << 8 | cp->op2 << 16, user);
	return 0;
}
