"""TF-A BL31's SMC dispatch and its SPMD, as a normal-world caller sees them in x0-x17.

Follows TF-A lts-v2.14.6 (8fe2e465a435) and v2.12.0 (4ec2948fe3f6) on QEMU `virt`, held to
the real images in ../shared/real-firmware by tests/test_fwdiff.py. Sources:
bl31/aarch64/runtime_exceptions.S (sync_handler64), services/std_svc/std_svc_setup.c
(std_svc_smc_handler), services/arm_arch_svc/arm_arch_svc_setup.c, services/std_svc/spmd/
spmd_main.c (spmd_smc_handler, spmd_smc_switch_state, spmd_ffa_error_return). Differences
between the two releases are the data in `SPMD_RELEASES`; the SPMC behind the SPMD is a
pluggable object (`Spmc`), None when no SPMC ever initialised.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...arch.bits import MASK32, sext32
from ...ffa.abi import V1_2, FfaError, FfaId, id_name
from ...ffa.smccc import FID_FAST, FID_NUMBER, FID_OWNER, FID_SMC64, PSCI_VERSION_1_1, Owner, Psci
from ...trap import SMCCC_ARG_REGS

SMC_UNK = sext32(-1)                 # include/lib/smccc.h, written by SMC_RET1 (x0 only)
from .base import Answer, FirmwarePanic

SMCCC_VERSION_FID = 0x8000_0000
SMCCC_ARCH_FEATURES = 0x8000_0001
SMCCC_ARCH_SOC_ID = 0x8000_0002
SMCCC_VERSION_1_5 = 0x0001_0005      # include/services/arm_arch_svc.h SMCCC_MAJOR/MINOR_VERSION
# Before 4abd7fa71 ("Redefine SMC_UNK as -1 instead of 0xFFFFFFFF", 2018-02):
# `#define SMC_UNK U(0xffffffff)` and `mov w0, #0xffffffff` in runtime_exceptions.S.
SMC_UNK_ZEXT = 0xFFFF_FFFF           # tfa:smc-unk=zext
SMC_ARCH_CALL_NOT_REQUIRED = sext32(-2)
# arm_arch_svc_setup.c smccc_arch_features() on QEMU -cpu max (real-firmware run, all four
# images): workarounds 1 and 3 needed, 2 not required, SOC_ID not available; others SMC_UNK.
ARCH_FEATURES = {SMCCC_VERSION_FID: 0, SMCCC_ARCH_FEATURES: 0, 0x8000_8000: 1,
                 0x8000_7FFF: SMC_ARCH_CALL_NOT_REQUIRED, 0x8000_3FFF: 1}
PSCI_FEATURES = 0x8400_000A
# psci_features() on qemu (plat psci ops): the PSCI functions it reports as implemented
# (real-firmware run of PSCI_FEATURES on every PSCI function ID 0x00-0x1f, SMC32 and SMC64).
PSCI_IMPLEMENTED = {0x8400_0000, 0x8400_0001, 0x8400_0002, 0x8400_0003, 0x8400_0004,
                    0x8400_0008, 0x8400_0009, 0x8400_000A, 0xC400_0001, 0xC400_0003, 0xC400_0004}
# std_svc_setup.c: ARM_STD_SVC_CALL_COUNT, _UID (four words, SMC_RET4), _VERSION (SMC_RET2).
STD_SVC_CALL_COUNT, STD_SVC_UID, STD_SVC_VERSION = 0x8400_FF00, 0x8400_FF01, 0x8400_FF03
STD_SVC_UID_WORDS = (0x108D905B, 0x47E8F863, 0xFBC02DAE, 0xE2F64156)   # arm_svc_uid
STD_SVC_CALLS = 0x19                 # real-firmware run (STD_SVC_CALL_COUNT)
PSCI_FNUM_MAX = 0x1F                 # is_psci_fid: PSCI function numbers 0x00-0x1f
AFFINITY_INFO = (0x8400_0004, 0xC400_0004)
FC_RESERVED_MASK = 0x00FE_0000       # fast-call FID bits [23:17]: non-zero -> smc_unknown
_W = MASK32.__and__                  # map(_W, xs): the W views, without a comprehension
SVE_HINT = 1 << 16                   # FUNCID_SVE_HINT (SMCCC v1.3), masked before dispatch
FFA_FNUM_MIN = 0x60
NS_ENDPOINT_ID = 0                   # FFA_NS_ENDPOINT_ID
SPMD_DIRECT_MSG_ENDPOINT_ID = 0xFFFF  # include/services/ffa_svc.h: FFA_ENDPOINT_ID_MAX - 1
SECURE_ID_BIT = 0x8000               # ffa_is_secure_world_id()
VERSION_MBZ_BIT = 1 << 31            # FFA_VERSION_BIT31_MASK
FFA_NS_RES_INFO_GET_64 = 0xC400_008F  # not in FfaId: FF-A 1.3


@dataclass(frozen=True)
class SpmdRelease:
    """What differs between the SPMD releases (diff of spmd_main.c and ffa_svc.h)."""

    tag: str
    fnum_max: int          # FFA_FNUM_MAX_VALUE: last function number routed to the SPMD
    version_latch: bool    # nonsecure_ffa_version kept only until the first other FF-A call
    relay_x8_x17: bool     # spmd_smc_switch_state: SMC64 between >= 1.2 ends relays x8-x17
    req2_needs_1_2: bool   # DIRECT_REQ2/RESP2 refused below a common version 1.2
    ns_res_info_get: bool  # FFA_NS_RES_INFO_GET_SMC64 forwarded


SPMD_RELEASES = {
    "lts-v2.14.6": SpmdRelease("lts-v2.14.6", fnum_max=0x90, version_latch=True, relay_x8_x17=True,
                               req2_needs_1_2=True, ns_res_info_get=True),
    # v2.12.0: no version latch nor version record, SMC_RET8 on every switch
    # (SPMD_SPM_AT_SEL2=0), DIRECT_REQ2 forwarded unchecked, FFA_ABORT (0x90) unknown.
    "v2.12.0": SpmdRelease("v2.12.0", fnum_max=0x8E, version_latch=False, relay_x8_x17=False,
                           req2_needs_1_2=False, ns_res_info_get=False),
}


class Spmc:
    """The secure side behind the SPMD: answers forwarded calls with x0-x17."""

    spmc_id = 0

    def version_request(self, requested: int) -> int:
        """SPMD_FWK_MSG_FFA_VERSION_REQ: the version the SPMC answers."""
        raise NotImplementedError

    def smc(self, xs: list[int], mem) -> list[int]:
        """A forwarded call as the SPMC sees it in x0-x17; the x0-x17 it returns with."""
        raise NotImplementedError


_ID = FfaId
# spmd_smc_handler: calls forwarded to the SPMC ("spmd_smc_forward") from the normal world.
FORWARDED = {_ID.FFA_ERROR, _ID.FFA_FEATURES, _ID.FFA_MSG_SEND_DIRECT_REQ, _ID.FFA_MSG_SEND_DIRECT_REQ_64,
             _ID.FFA_MSG_SEND_DIRECT_RESP, _ID.FFA_MSG_SEND_DIRECT_RESP_64, _ID.FFA_MSG_SEND_DIRECT_REQ2,
             _ID.FFA_MSG_SEND_DIRECT_RESP2, _ID.FFA_RX_RELEASE, _ID.FFA_RXTX_MAP, _ID.FFA_RXTX_MAP_64,
             _ID.FFA_RXTX_UNMAP, _ID.FFA_PARTITION_INFO_GET, _ID.FFA_NOTIFICATION_BITMAP_CREATE,
             _ID.FFA_NOTIFICATION_BITMAP_DESTROY, _ID.FFA_NOTIFICATION_BIND, _ID.FFA_NOTIFICATION_UNBIND,
             _ID.FFA_NOTIFICATION_SET, _ID.FFA_NOTIFICATION_GET, _ID.FFA_NOTIFICATION_INFO_GET,
             _ID.FFA_NOTIFICATION_INFO_GET_64, _ID.FFA_MSG_SEND2, _ID.FFA_RX_ACQUIRE, _ID.FFA_RUN,
             _ID.FFA_MSG_SEND, _ID.FFA_MEM_DONATE, _ID.FFA_MEM_DONATE_64, _ID.FFA_MEM_LEND,
             _ID.FFA_MEM_LEND_64, _ID.FFA_MEM_SHARE, _ID.FFA_MEM_SHARE_64, _ID.FFA_MEM_RETRIEVE_REQ,
             _ID.FFA_MEM_RETRIEVE_REQ_64, _ID.FFA_MEM_RETRIEVE_RESP, _ID.FFA_MEM_RELINQUISH,
             _ID.FFA_MEM_RECLAIM, _ID.FFA_MEM_FRAG_TX, _ID.FFA_MEM_FRAG_RX, _ID.FFA_SUCCESS,
             _ID.FFA_SUCCESS_64, _ID.FFA_PARTITION_INFO_GET_REGS}
# Secure-world-only calls refused to the normal world with NOT_SUPPORTED.
SECURE_ONLY = {_ID.FFA_MSG_WAIT, _ID.FFA_INTERRUPT, _ID.FFA_YIELD, _ID.FFA_SECONDARY_EP_REGISTER,
               _ID.FFA_CONSOLE_LOG, _ID.FFA_CONSOLE_LOG_64, _ID.FFA_EL3_INTR_HANDLE, _ID.FFA_ABORT,
               _ID.FFA_ABORT_64}
REQ2 = {_ID.FFA_MSG_SEND_DIRECT_REQ2, _ID.FFA_MSG_SEND_DIRECT_RESP2}
DIRECT_REQ = {_ID.FFA_MSG_SEND_DIRECT_REQ, _ID.FFA_MSG_SEND_DIRECT_REQ_64, _ID.FFA_MSG_SEND_DIRECT_REQ2}


def ret8(*values: int) -> Answer:
    """SMC_RET8 of an SPMD answer (all SMC32 results: FFA_SUCCESS_32, FFA_ERROR, a version):
    x0-x7 written (unnamed ones MBZ), x8-x17 keep the caller's values."""
    return Answer(dict(zip(_RET8_REGS, values + _RET8_MBZ)))     # x0-x7, the rest 0


_RET8_REGS, _RET8_MBZ = range(8), (0,) * 8


def ffa_error(code: FfaError) -> Answer:
    """spmd_ffa_error_return: FFA_ERROR, w2 = (uint32_t)code zero-extended, x3-x7 MBZ."""
    return ret8(FfaId.FFA_ERROR, 0, code & MASK32)


class Spmd:
    """services/std_svc/spmd/spmd_main.c at one release, with its SPMC (None: absent)."""

    # Bug-zoo variants (BUGZOO.md), each the code before a fix; the defaults are the fixes.
    # tfa-spmd:result-width=sext: before e46b2fd21 the SPMD's own error codes and its
    # FFA_VERSION NOT_SUPPORTED went through `int32_t`/`uint64_t ret` into SMC_RET8:
    # sign-extended in x2 / x0 (the fix casts to uint32_t).
    result_sext = False
    # tfa-spmd:version-forward=leaky: before 76d53ee1a the FFA_VERSION framework message
    # was built without seeding the SPMC context's x8-x17 with the caller's, and the
    # reply copied x5-x17 from the secure side: the caller gets the SPMC context's stale
    # x8-x17 (x5-x7 are zero here: Hafnium's ffa_framework_msg_resp writes them 0).
    version_forward_leaky = False
    # tfa-spmd:req2=legacy: before bb9fc8c0b, spmd_smc_switch_state used SMC_RET18 for an
    # S-EL2 SPMC and SMC_RET8 for the EL3 SPMC whatever the versions, and nothing refused
    # DIRECT_REQ2 below v1.2 (neither the SPMD nor the EL3 SPMC's direct_req_smc_handler).
    req2_legacy = False
    # tfa-el3-spmc:spmd-src-check=absent: TF-A <= v2.7.0, before 5519f07cd ("feat(spmd):
    # avoid spoofing in FF-A direct request", 2022-06-09): a normal-world DIRECT_REQ with a
    # secure source ID is forwarded instead of refused with INVALID_PARAMETERS.
    src_checked = True
    sel2 = True              # SPMD_SPM_AT_SEL2: the SPMC runs at S-EL2 (Hafnium)

    def __init__(self, release: str, spmc: Spmc | None):
        self.rel = SPMD_RELEASES[release]
        self.spmc = spmc
        self.nonsecure_ffa_version = 0          # static uint32_t, 0 until FFA_VERSION
        self.nonsecure_version_negotiated = False
        self.spmc_nwd_ffa_version = 0
        self.spmc_x8_x17 = [0] * 10              # the SPMC context's x8-x17 at its last exit

    def routes(self, fid: int) -> bool:
        """is_ffa_fid: std_svc_smc_handler hands function numbers 0x60..FNUM_MAX to the SPMD."""
        return FFA_FNUM_MIN <= FID_NUMBER.get(fid) <= self.rel.fnum_max

    def smc(self, fid: int, xs: list[int], mem) -> Answer:
        """spmd_smc_handler for a normal-world caller; xs as std_svc_smc_handler passes them."""
        if self.rel.version_latch and fid != FfaId.FFA_VERSION:
            self.nonsecure_version_negotiated = True
        if fid == FfaId.FFA_VERSION:
            return self._version(xs[1] & MASK32, xs)
        if fid == FfaId.FFA_ID_GET:
            return ret8(FfaId.FFA_SUCCESS, 0, NS_ENDPOINT_ID)
        if fid == FfaId.FFA_SPM_ID_GET:             # spmc_attrs.spmc_id: 0 without a manifest
            return ret8(FfaId.FFA_SUCCESS, 0, self.spmc.spmc_id if self.spmc else 0)
        if fid == FfaId.FFA_NORMAL_WORLD_RESUME:
            return self._error(FfaError.DENIED)
        if fid in SECURE_ONLY:                   # (FFA_ABORT only routed here from 2.14 on)
            return self._error(FfaError.NOT_SUPPORTED)
        if fid in REQ2 and self.rel.req2_needs_1_2 and not self.req2_legacy and \
                min(self.spmc_nwd_ffa_version, self.nonsecure_ffa_version) < V1_2:
            return self._error(FfaError.NOT_SUPPORTED)  # get_common_ffa_version() < 1.2
        if fid in DIRECT_REQ and (xs[1] >> 16) & SECURE_ID_BIT and self.src_checked:
            return self._error(FfaError.INVALID_PARAMETERS)  # NS caller, secure source ID
        if fid in FORWARDED or (fid == FFA_NS_RES_INFO_GET_64 and self.rel.ns_res_info_get):
            return self._forward(fid, xs, mem)
        return self._error(FfaError.NOT_SUPPORTED)     # default: "SPM: Unsupported call"

    def _error(self, code: FfaError) -> Answer:
        """The SPMD's own FFA_ERROR (spmd_ffa_error_return), at this variant's width."""
        if self.result_sext:
            return ret8(FfaId.FFA_ERROR, 0, sext32(code))
        return ffa_error(code)

    def _version(self, requested: int, xs: list[int] | None = None) -> Answer:
        """FFA_VERSION: bit 31 or no SPMC -> NOT_SUPPORTED ((uint32_t)ret in x0, x1-x7 MBZ);
        otherwise a framework message to the SPMC whose answer goes back in x0."""
        if requested & VERSION_MBZ_BIT or self.spmc is None:
            ns = FfaError.NOT_SUPPORTED
            return ret8(sext32(ns) if self.result_sext else ns & MASK32)
        if not self.nonsecure_version_negotiated:
            self.nonsecure_ffa_version = requested
        answer = self.spmc.version_request(requested)
        self.spmc_nwd_ffa_version = answer
        if self.version_forward_leaky:          # the reply's x8-x17 are the SPMC context's
            values = ret8(answer).values
            values.update({8 + n: v for n, v in enumerate(self.spmc_x8_x17)})
            return Answer(values)
        return ret8(answer)

    def _forward(self, fid: int, xs: list[int], mem) -> Answer:
        if self.spmc is None:
            # spmd_smc_switch_state: cm_get_context(SECURE) is NULL without an SPMC; BL31
            # takes a data abort at EL3 (FAR 0x160) and hangs. Real-firmware run,
            # tfa-2.14.6-spmd-nospmc.bios: QEMU never returns to the caller.
            raise FirmwarePanic(f"TF-A SPMD forwarded {id_name(fid) or hex(fid)} to an SPMC that "
                                "never initialised: data abort at EL3, the system hangs")
        sec = (list(self.spmc.smc(self._to_spmc(fid, xs), mem)) + [0] * SMCCC_ARG_REGS)[:SMCCC_ARG_REGS]
        self.spmc_x8_x17 = sec[8:]
        return self._relay(sec)

    def _to_spmc(self, fid: int, xs: list[int], secure_version: int | None = None) -> list[int]:
        """spmd_smc_switch_state, normal -> secure: x0-x7 as the caller gave them (x1-x4
        after std_svc_smc_handler); x8-x17 for an SMC64 call to an SPMC at >= 1.2 are the
        caller's (normal world at >= 1.2) or zero, otherwise the SPMC's own from its last
        exit (SMC_RET8 leaves its context's x8-x17 alone). `secure_version`: the
        receiver's version when it is not the SPMC (the EL3 SPMC's spmc_smc_return passes
        the SP's `sp->ffa_version`)."""
        if secure_version is None:
            secure_version = self.spmc_nwd_ffa_version
        regs = [fid, *xs[1:8]] + [0] * (8 - len(xs[:8]))
        caller_ext = (list(xs[8:SMCCC_ARG_REGS]) + [0] * 10)[:10]
        if self.req2_legacy:                     # before bb9fc8c0b: RET18 (S-EL2) / RET8
            ext = caller_ext if self.sel2 else self.spmc_x8_x17
        elif self.rel.relay_x8_x17 and FID_SMC64.get(fid) and secure_version >= V1_2:
            ext = caller_ext if self.nonsecure_ffa_version >= V1_2 else [0] * 10
        else:
            ext = self.spmc_x8_x17
        return regs + ext

    def _relay(self, sec: list[int], secure_version: int | None = None) -> Answer:
        """spmd_smc_switch_state, secure -> normal: x0 = (uint32_t) FID, x1-x7 as the SPMC
        left them; for an SMC64 result to a normal world at >= 1.2, x8-x17 are the SPMC's
        (SPMC at >= 1.2) or zero; otherwise the caller's x8-x17 stay. `secure_version` as
        in `_to_spmc`."""
        if secure_version is None:
            secure_version = self.spmc_nwd_ffa_version
        fid = sec[0] & MASK32
        values = {0: fid, **{n: sec[n] for n in range(1, 8)}}
        if self.req2_legacy:                     # before bb9fc8c0b: RET18 (S-EL2) / RET8
            if self.sel2:
                values.update({n: sec[n] for n in range(8, SMCCC_ARG_REGS)})
        elif self.rel.relay_x8_x17 and FID_SMC64.get(fid) and self.nonsecure_ffa_version >= V1_2:
            upper = secure_version >= V1_2
            values.update({n: sec[n] if upper else 0 for n in range(8, SMCCC_ARG_REGS)})
        return Answer(values, smc64=bool(FID_SMC64.get(fid)))


def apply_spmd_variants(spmd: Spmd, opts: dict[str, str]) -> None:
    """Set the SPMD's bug-zoo variants from model options (tfa-spmd, tfa-el3-spmc)."""
    spmd.result_sext = opts.get("result-width") == "sext"
    spmd.version_forward_leaky = opts.get("version-forward") == "leaky"
    spmd.req2_legacy = opts.get("req2") == "legacy"
    spmd.src_checked = opts.get("spmd-src-check") != "absent"


class Bl31:
    """BL31's runtime service dispatch for the calls the models know: SMCCC_VERSION, PSCI
    version, the FF-A range (to the SPMD, or unknown without one), and SMC_UNK otherwise."""

    def __init__(self, spmd: Spmd | None = None, smc_unk: int = SMC_UNK):
        self.spmd = spmd
        self.smc_unk = smc_unk                   # tfa:smc-unk: SMC_UNK's width

    def smc(self, xs: list[int], mem) -> Answer:
        fid = xs[0] & MASK32                     # smc_fid is uint32_t: x0[63:32] is ignored
        if not FID_FAST.get(fid) or fid & FC_RESERVED_MASK:
            # runtime_exceptions.S: smc_unknown for fast-call bits [23:17]; no yielding
            # service is registered in these images (the rt_svc index has none).
            return Answer({0: self.smc_unk})
        fid &= ~SVE_HINT                         # runtime_exceptions.S: "bic x0, x0, SVE hint"
        answer = self._arch_or_std(fid, xs)
        if answer is not None:
            return answer
        if self.spmd is not None and FID_OWNER.get(fid) == Owner.STANDARD and self.spmd.routes(fid):
            args = list(xs)
            if not FID_SMC64.get(fid):           # std_svc_smc_handler clears x1-x4[63:32]
                args[1:5] = map(_W, xs[1:5])
            return self.spmd.smc(fid, args, mem)
        return Answer({0: self.smc_unk})         # "Unimplemented Standard Service Call"

    @staticmethod
    def _arch_or_std(fid: int, xs: list[int]) -> Answer | None:
        """The Arm architecture service and the standard service's own queries and PSCI's
        version/features (SMC_RET1/2/4: the registers not named keep the caller's values)."""
        w1 = xs[1] & MASK32 if len(xs) > 1 else 0
        if fid == SMCCC_VERSION_FID:             # arm_arch_svc_smc_handler
            return Answer({0: SMCCC_VERSION_1_5})
        if fid == SMCCC_ARCH_FEATURES:
            return Answer({0: ARCH_FEATURES.get(w1, SMC_UNK)})
        if fid == SMCCC_ARCH_SOC_ID:
            return Answer({0: SMC_UNK})
        if fid == Psci.VERSION:                  # std_svc_smc_handler -> psci_smc_handler
            return Answer({0: PSCI_VERSION_1_1})
        if fid == PSCI_FEATURES:
            return Answer({0: 0 if w1 in PSCI_IMPLEMENTED else SMC_UNK})
        if FID_OWNER.get(fid) == Owner.STANDARD and FID_NUMBER.get(fid) <= PSCI_FNUM_MAX:
            return _psci_other(fid, xs)
        if fid == STD_SVC_CALL_COUNT:
            return Answer({0: STD_SVC_CALLS})
        if fid == STD_SVC_UID:
            return Answer(dict(enumerate(STD_SVC_UID_WORDS)))
        if fid == STD_SVC_VERSION:
            return Answer({0: 0, 1: 1})          # STD_SVC_VERSION_MAJOR/MINOR
        return None


def _psci_other(fid: int, xs: list[int]) -> Answer:
    """psci_smc_handler (lib/psci/psci_main.c) for the PSCI calls besides VERSION, FEATURES
    and SYSTEM_OFF: a function outside the platform's capabilities is SMC_UNK; AFFINITY_INFO
    of CPU 0 at level 0 is ON (0) (real-firmware run); the rest change power state and are
    not modelled."""
    if fid not in PSCI_IMPLEMENTED:
        return Answer({0: SMC_UNK})
    target = (xs[1] & MASK32) if not FID_SMC64.get(fid) else xs[1]
    if fid in AFFINITY_INFO and target == 0 and xs[2] & MASK32 == 0:
        return Answer({0: 0})
    raise FirmwarePanic(f"PSCI function {fid:#010x} with these arguments is not modelled by ffaemu")
