"""TF-A SPMD (EL3) at lts-v2.14.6: the calls it answers itself, the calls it forwards to
the SPMC, and how it relays x0-x17 between the normal world and the SPMC.

Source: TF-A lts-v2.14.6 (8fe2e465a435), `services/std_svc/spmd/spmd_main.c`
(`spmd_smc_handler`, `spmd_smc_switch_state`, `spmd_ffa_error_return`) and
`services/std_svc/std_svc_setup.c` (`std_svc_smc_handler`: `is_ffa_fid`).

Register rules, all from `spmd_smc_switch_state`:
- An SMC32 call, or one whose receiver negotiated below FF-A 1.2, is relayed with
  `SMC_RET8`: x0-x7 written, the receiver's own x8-x17 left as they were.
- An SMC64 call to a receiver at FF-A 1.2 or later is relayed with `SMC_RET18`: x8-x17
  are the sender's, or zero when the sender is below 1.2.
- x1-x7 are relayed as 64-bit values (TF-A never truncates SMC32 arguments: only
  `uint32_t smc_fid` is 32-bit), so garbage in bits [63:32] reaches the SPMC.
- Errors the SPMD returns itself are `SMC_RET8(FFA_ERROR, 0, (uint32_t)code, 0...)`:
  w2 zero-extended, x1 and x3-x7 zero, x8-x17 preserved.

"The SPMC" is supplied by a subclass: `spmc_version(req)` answers the FFA_VERSION the
SPMD forwards, `spmc_call(call, mem)` answers a forwarded call (an `SpmcReply`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...ffa.abi import V1_2, VERSION_MBZ, FfaError, FfaId, func_of
from ...ffa.conv import Call, Conv, Ext, Reply
from ...ffa.smccc import Psci
from .base import NS_ENDPOINT, SECURE_ID_BIT, SPMC_ID, Firmware, RefusedCall

EXT_REGS = range(8, 18)           # x8-x17: SMCCC v1.2 extended arguments/results
SVE_HINT = 1 << 16                # FUNCID_SVE_HINT (runtime_exceptions.S masks it)
FC_RESERVED = 0x7F << 17          # FUNCID_FC_RESERVED: bits [23:17] of a fast call
FFA_FNUM_MIN, FFA_FNUM_MAX = 0x60, 0x90     # is_ffa_fid (include/services/ffa_svc.h)
STD_FAST_OWNER = 0x84000000       # fast call, standard secure service (OEN 4)
SPMD_ENDPOINT_ID = 0xFFFF         # SPMD_DIRECT_MSG_ENDPOINT_ID (ffa_svc.h)
SPMD_LP_IDS = range(0xFFFF - 1 - 62, 0xFFFF)  # SPMD_LP_ID_START..END (el3_spmd_logical_sp.h)

F = FfaId
# spmd_smc_handler: calls from the normal world forwarded to the SPMC as they are.
FORWARDED = frozenset({
    F.FFA_ERROR, F.FFA_FEATURES, F.FFA_RX_RELEASE, F.FFA_RXTX_MAP, F.FFA_RXTX_MAP_64,
    F.FFA_RXTX_UNMAP, F.FFA_PARTITION_INFO_GET, F.FFA_NOTIFICATION_BITMAP_CREATE,
    F.FFA_NOTIFICATION_BITMAP_DESTROY, F.FFA_NOTIFICATION_BIND, F.FFA_NOTIFICATION_UNBIND,
    F.FFA_NOTIFICATION_SET, F.FFA_NOTIFICATION_GET, F.FFA_NOTIFICATION_INFO_GET,
    F.FFA_NOTIFICATION_INFO_GET_64, F.FFA_MSG_SEND2, F.FFA_RX_ACQUIRE, F.FFA_RUN,
    F.FFA_MSG_SEND, F.FFA_MEM_DONATE, F.FFA_MEM_DONATE_64, F.FFA_MEM_LEND, F.FFA_MEM_LEND_64,
    F.FFA_MEM_SHARE, F.FFA_MEM_SHARE_64, F.FFA_MEM_RETRIEVE_REQ, F.FFA_MEM_RETRIEVE_REQ_64,
    F.FFA_MEM_RETRIEVE_RESP, F.FFA_MEM_RELINQUISH, F.FFA_MEM_RECLAIM, F.FFA_MEM_FRAG_TX,
    F.FFA_MEM_FRAG_RX, F.FFA_SUCCESS, F.FFA_SUCCESS_64, F.FFA_PARTITION_INFO_GET_REGS,
    F.FFA_MSG_SEND_DIRECT_RESP, F.FFA_MSG_SEND_DIRECT_RESP_64,
})
DIRECT_REQ = frozenset({F.FFA_MSG_SEND_DIRECT_REQ, F.FFA_MSG_SEND_DIRECT_REQ_64,
                        F.FFA_MSG_SEND_DIRECT_REQ2})
# Calls only the secure world may make: FFA_ERROR(NOT_SUPPORTED) to the normal world.
SECURE_ONLY = frozenset({F.FFA_MSG_WAIT, F.FFA_INTERRUPT, F.FFA_YIELD, F.FFA_CONSOLE_LOG,
                         F.FFA_CONSOLE_LOG_64, F.FFA_EL3_INTR_HANDLE, F.FFA_ABORT, F.FFA_ABORT_64,
                         F.FFA_SECONDARY_EP_REGISTER})
NEEDS_V1_2 = frozenset({F.FFA_MSG_SEND_DIRECT_REQ2, F.FFA_MSG_SEND_DIRECT_RESP2})


def is_ffa_fid(fid: int) -> bool:
    """`std_svc_smc_handler` sends function numbers 0x60-0x90 of the standard fast-call
    range to the SPMD (is_ffa_fid); runtime_exceptions.S answers SMC_UNK first for a fast
    call with bits [23:17] set."""
    return (fid & 0xBF000000) == STD_FAST_OWNER and not fid & FC_RESERVED \
        and FFA_FNUM_MIN <= (fid & 0xFFFF) <= FFA_FNUM_MAX


@dataclass
class SpmcReply:
    """What the SPMC hands back: its answer in x0-x7 (`reply`, extended as that SPMC
    extends 32-bit values) and x8-x17 when it wrote them (`ext`: Hafnium's
    `extended_val.valid`, an SP's DIRECT_RESP2). `final`: an EL3 SPMC wrote the caller's
    registers itself (SMC_RET1/3/4/8 on the caller's context: `reply.count` of them)."""

    reply: Reply
    ext: list[int] | None = None
    final: bool = False


@dataclass
class SpmdState:
    """spmd_main.c statics: all zero at boot."""

    nonsecure_ffa_version: int = 0
    nonsecure_version_negotiated: bool = False
    spmc_nwd_ffa_version: int = 0
    secure_x8_17: list[int] = field(default_factory=lambda: [0] * 10)  # the SPMC context's x8-x17


class Spmd(Firmware):
    """TF-A's SPMD in front of an SPMC supplied by the subclass (see module docstring)."""

    spmc_id = SPMC_ID              # spmc_attrs.spmc_id: the SPMC manifest's spmc_id
    spmc_at_el3 = False            # SPMC_AT_EL3: spmd_smc_forward calls spmc_smc_handler
    enable_spmd_lp = False         # ENABLE_SPMD_LP (default 0): is_spmd_lp_id() is false
    # Behaviour that older TF-A releases had differently (BUGZOO.md names the variants);
    # the values here are lts-v2.14.6's.
    result_ext = Ext.ZERO          # tfa-spmd:result-width: `(uint32_t)` casts (sext before e46b2fd21)
    version_forward_clean = True   # tfa-spmd:version-forward: x8-x17 kept (leaky before 76d53ee1a)
    req2_version_gate = True       # tfa-spmd:req2: REQ2/RESP2 need 1.2 on both sides (bb9fc8c0b)
    direct_src_checked = True      # tfa-el3-spmc:direct-src: secure source refused (48fe24c50)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.spmd = SpmdState()
        self.spmc_version = self.own_version     # the SPMC's record of the caller's version

    # Compatibility with the Firmware negotiation hooks --------------------------
    @property
    def latched(self) -> bool:
        return self.spmd.nonsecure_version_negotiated

    @latched.setter
    def latched(self, value: bool) -> None:
        self.spmd.nonsecure_version_negotiated = value

    @property
    def spmc_absent(self) -> bool:
        """The SPMC never initialised (ctx->state == SPMC_STATE_RESET)."""
        return False

    # Entry --------------------------------------------------------------------------
    def handle(self, call: Call, mem) -> Reply:
        """spmd_smc_handler for a normal-world caller."""
        fid = call.fid & ~SVE_HINT
        if fid == Psci.VERSION:
            return super().handle(call, mem)
        if not is_ffa_fid(fid):
            return self.unknown()
        if fid != F.FFA_VERSION:
            # "Once the caller invokes any FF-A ABI other than FFA_VERSION, the version
            # negotiation phase is complete."
            self.spmd.nonsecure_version_negotiated = True
        if fid == F.FFA_VERSION:
            return self.spmd_version(call)
        if fid == F.FFA_ID_GET:                      # FFA_NS_ENDPOINT_ID (spmd_private.h)
            return self.spmd_success(NS_ENDPOINT)
        if fid == F.FFA_SPM_ID_GET:                  # spmc_attrs.spmc_id
            return self.spmd_success(self.spmc_id)
        if fid in NEEDS_V1_2 and self.req2_version_gate and self.common_version() < V1_2:
            return self.spmd_error(FfaError.NOT_SUPPORTED)
        if fid in DIRECT_REQ:
            return self.spmd_direct_req(call, mem)
        if fid in FORWARDED or fid == F.FFA_MSG_SEND_DIRECT_RESP2:
            return self.forward(call, mem)
        if fid == F.FFA_NORMAL_WORLD_RESUME:         # only after a secure interrupt
            return self.spmd_error(FfaError.DENIED)
        return self.spmd_error(FfaError.NOT_SUPPORTED)  # SECURE_ONLY and `default:`

    # What the SPMD answers itself --------------------------------------------------
    def spmd_success(self, w2: int) -> Reply:
        """SMC_RET8(FFA_SUCCESS_SMC32, FFA_TARGET_INFO_MBZ, w2, 0, 0, 0, 0, 0)."""
        return Reply([F.FFA_SUCCESS, 0, w2])

    def spmd_error(self, code: FfaError) -> Reply:
        """spmd_ffa_error_return: `(uint32_t)error_code` in w2, zero-extended."""
        return Reply([F.FFA_ERROR, 0, code], ext={2: self.result_ext})

    def common_version(self) -> int:
        """get_common_ffa_version: the lower of the SPMC's and the normal world's."""
        return min(self.spmd.spmc_nwd_ffa_version, self.spmd.nonsecure_ffa_version)

    def spmd_version(self, call: Call) -> Reply:
        """FFA_VERSION: bit 31 (or an SPMC that never initialised) is NOT_SUPPORTED,
        zero-extended, x1-x7 zero; otherwise the request is recorded until negotiation
        ends and the SPMC answers (`forward_version`)."""
        req = call.w(1)                              # input_version = (uint32_t)x1
        if VERSION_MBZ.get(req) or self.spmc_absent:
            return Reply([FfaError.NOT_SUPPORTED], ext={0: self.result_ext})
        if not self.spmd.nonsecure_version_negotiated:
            self.spmd.nonsecure_ffa_version = req
        return self.forward_version(req, call)

    def forward_version(self, req: int, call: Call) -> Reply:
        """An SPMC below EL3: FFA_VERSION goes as a framework direct request
        (spmd_build_spmc_message: x2 = BIT(31) | SPMD_FWK_MSG_FFA_VERSION_REQ, x3 = req,
        x4-x7 zero, x8-x17 the caller's); the answer's x3 becomes w0, zero-extended
        (`(uint32_t)ret`), x1-x7 zero, and `spmc_nwd_ffa_version` takes that value even
        when it is NOT_SUPPORTED."""
        if self.version_forward_clean:  # "Ensure x8-x17 NS GP register values are untouched"
            self.spmd.secure_x8_17 = _regs18(call)[8:18]
        answer = self.spmc_answer(req)
        if isinstance(answer, Reply):
            answer = answer.values[0]
        answer &= 0xFFFF_FFFF
        self.spmd.spmc_nwd_ffa_version = answer
        if not self.version_forward_clean:   # the secure context's x8-x17 reach the caller
            return Reply([answer] + [0] * 7 + self.spmd.secure_x8_17, Conv.SMC64, count=18)
        return Reply([answer], ext={0: self.result_ext})

    def spmd_direct_req(self, call: Call, mem) -> Reply:
        """DIRECT_REQ/REQ2: SPMD logical-partition IDs and a secure source are
        INVALID_PARAMETERS (ffa_endpoint_source/destination read 16 bits of w1)."""
        src, dst = (call.w(1) >> 16) & 0xFFFF, call.w(1) & 0xFFFF
        if self.enable_spmd_lp and (src in SPMD_LP_IDS or dst in SPMD_LP_IDS):
            return self.spmd_error(FfaError.INVALID_PARAMETERS)
        if self.direct_src_checked and src & SECURE_ID_BIT:   # ffa_is_secure_world_id(source)
            return self.spmd_error(FfaError.INVALID_PARAMETERS)
        return self.forward(call, mem)

    # Relaying to and from the SPMC ---------------------------------------------------
    def forward(self, call: Call, mem) -> Reply:
        """spmd_smc_forward: to the SPMC and back, with spmd_smc_switch_state's rules."""
        xs = _regs18(call)
        if not self.spmc_at_el3:
            self.to_secure(xs, self.spmd.spmc_nwd_ffa_version)
        answer = self.spmc_call(call, mem)
        if answer.final:
            return answer.reply
        return self.to_normal(answer, self.spmd.spmc_nwd_ffa_version)

    def to_secure(self, xs: list[int], secure_version: int) -> None:
        """x8-x17 the secure side sees (spmd_smc_switch_state, NS -> S)."""
        if Conv.of(xs[0]) is Conv.SMC64 and secure_version >= V1_2:
            self.spmd.secure_x8_17 = ([0] * 10 if self.spmd.nonsecure_ffa_version < V1_2
                                      else list(xs[8:18]))

    def to_normal(self, answer: SpmcReply, secure_version: int) -> Reply:
        """The caller's registers after the relay (spmd_smc_switch_state, S -> NS):
        SMC_RET8 (x0-x7 as the SPMC left them, 64 bits each) unless the answer is an
        SMC64 function and the caller negotiated 1.2 or later: then SMC_RET18."""
        if answer.ext is not None:
            self.spmd.secure_x8_17 = list(answer.ext)
        reply = answer.reply
        if Conv.of(reply.values[0] & 0xFFFF_FFFF) is Conv.SMC64 \
                and self.spmd.nonsecure_ffa_version >= V1_2:
            ext = [0] * 10 if secure_version < V1_2 else self.spmd.secure_x8_17
            low = padded(reply.registers(self.policy, self.rng), 8)
            return Reply(low + list(ext), Conv.SMC64, count=18)
        return Reply(reply.values, reply.conv, dict(reply.ext), count=8)

    # The SPMC (per subclass) ---------------------------------------------------------
    def spmc_answer(self, req: int) -> int | Reply:
        """The version word the SPMC answers to the SPMD's FFA_VERSION request."""
        raise NotImplementedError

    def spmc_call(self, call: Call, mem) -> SpmcReply:
        """A forwarded call, answered by the generic FF-A services of `Firmware`."""
        return SpmcReply(self.spmc_service(call, mem))

    def spmc_service(self, call: Call, mem) -> Reply:
        func = func_of(call.fid)
        refusal = self.gate(call, func) if func is not None else None
        if func is None or refusal is not None:
            return self.error(refusal or FfaError.NOT_SUPPORTED)
        try:
            return self.service(call, func, mem)
        except RefusedCall as refused:
            return self.error(refused.code)

    def negotiated_version(self) -> int:
        return self.spmc_version


def _regs18(call: Call) -> list[int]:
    """x0-x17 of a call (a Call built from 8 registers has zero x8-x17)."""
    return (list(call.xs) + [0] * 18)[:18]


def padded(values: list[int], n: int = 8) -> list[int]:
    return (list(values) + [0] * n)[:n]
