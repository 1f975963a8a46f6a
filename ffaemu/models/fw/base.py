"""What every EL3 firmware model shares: PSCI, result widths, and the FF-A services
behind the negotiation rules (partitions, RX/TX buffers, direct messages, memory sharing).

A concrete model (tfa_spmd.py, tfa_el3_spmc.py, ...) supplies its negotiation rules
(`version`, `gate`) and how it extends 32-bit results (`error_ext`, `version_ns_ext`).
Decoding what a caller put in its registers never raises: bad input yields the FF-A
error the modelled implementation returns (DEN0077 v1.2 §13-§17).
"""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from ...arch.bits import s32
from ...arch.exceptions import EC
from ... import memmap
from .. import check_options
from ...errors import FfaemuError
from ...ffa.abi import (V1_0, V1_1, VERSION_MINOR, FfaError, FfaId, Func, ffa_fid, func_of)
from ...ffa import memdesc
from . import hyp_retrieve
from ...ffa.conv import Call, Conv, Ext, Reply, UpperPolicy
from ...ffa.smccc import PSCI_VERSION_1_1, SMCCC_NOT_SUPPORTED, Psci
from ...trap import SMCCC_ARG_REGS, Trap

PAGE = 0x1000
SPMC_ID = 0x8000
SECURE_ID_BIT = 0x8000        # endpoint IDs with bit 15 set are secure (DEN0077 §6.1)
NS_ENDPOINT = 0x0000          # the hypervisor, or the OS when there is none
PROP_DIRECT_REQ_RECV = 1 << 0
PROP_DIRECT_REQ_SEND = 1 << 1
PROP_AARCH64 = 1 << 8


@dataclass(frozen=True)
class Partition:
    """A secure partition: each one here answers direct requests by echoing them."""

    id: int
    uuid: bytes
    exec_contexts: int = 1

    @property
    def properties(self) -> int:
        return PROP_DIRECT_REQ_RECV | PROP_DIRECT_REQ_SEND | PROP_AARCH64


PARTITIONS = (
    Partition(0x8001, bytes.fromhex("b4b5671e4a904fe1b81ffb13dae1dacb")),
    Partition(0x8002, bytes.fromhex("d1582309f02347b9827c4464f5578fc8")),
)


@dataclass
class Buffers:
    """An endpoint's RX/TX pair as mapped with FFA_RXTX_MAP (DEN0077 §14.2)."""

    tx: int
    rx: int
    pages: int
    rx_full: bool = False     # the producer wrote RX; FFA_RX_RELEASE gives it back


@dataclass
class Share:
    """A memory region shared or lent with FFA_MEM_SHARE/LEND, tracked by handle."""

    sender: int
    receivers: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]      # (address, pages)
    lend: bool


@dataclass
class Answer:
    """An answer in SMCCC v1.2 registers (DEN0028 §2.6): `values` maps a register number
    (0-17) to the 64-bit value written; registers not named keep the caller's values.
    `smc64` is the result's convention, which the `--fw-upper` policy needs."""

    values: dict[int, int]
    smc64: bool = False


class FirmwarePanic(Exception):
    """The modelled firmware crashes or hangs on this call: the run stops as a fault."""


class RefusedCall(Exception):
    """Internal: a call answered with FFA_ERROR(code)."""

    def __init__(self, code: FfaError):
        super().__init__(code.name)
        self.code = code


@dataclass
class FfaServices:
    """FF-A state held by the SPMC side of a firmware model."""

    partitions: tuple[Partition, ...] = PARTITIONS
    buffers: dict[int, Buffers] = field(default_factory=dict)
    shares: dict[int, Share] = field(default_factory=dict)
    next_handle: int = 1
    # echo_sp.Delivery per direct request, when a checker asks for them (widthfuzz sets a
    # list); None, the default, records nothing, so a long run does not grow a log.
    deliveries: list | None = None


class Firmware:
    """Base EL3 model: PSCI, FF-A dispatch, `--fw-upper` policy, call recording.

    Subclasses set `name`, `own_version`, `error_ext`, `version_ns_ext`, and implement
    `version(call)` (FFA_VERSION) and `gate(call)` (the negotiation rules applied to any
    other FF-A call: None to proceed, an FfaError to refuse).
    """

    name = "firmware"
    own_version = V1_1
    error_ext = Ext.ZERO          # how bits [63:32] of w2 in FFA_ERROR are filled
    version_ns_ext = Ext.ZERO     # how x0 is filled when FFA_VERSION answers NOT_SUPPORTED
    options: dict[str, tuple[str, ...]] = {}
    hypervisor_retrieve = False   # serves hypervisor retrieve requests (hyp_retrieve.py)

    def __init__(self, upper: str = "real", seed: int = 0, **options: str):
        self.upper = _choice("--fw-upper", upper, [p.value for p in UpperPolicy])
        self.policy = UpperPolicy(self.upper)
        self.rng = random.Random(seed)
        self.opts = check_options("firmware", self.name, options, self.options)
        self.ffa = FfaServices()

    # Entry -----------------------------------------------------------------------
    def __call__(self, trap: Trap):
        if trap.ec != EC.SMC64:
            return None
        call = Call(trap._x[:SMCCC_ARG_REGS], NS_ENDPOINT, trap.from_el == 2)
        if call.fid == Psci.SYSTEM_OFF:
            return trap.stop("system-off", None, f"PSCI SYSTEM_OFF from EL{trap.from_el}")
        delivered = len(self.ffa.deliveries) if self.ffa.deliveries is not None else 0
        try:
            result = self.handle(call, trap.mem)
        except FirmwarePanic as panic:
            self._note_deliveries(delivered, call.xs, None)
            return trap.stop("fault", None, f"{self.name}: firmware panic: {panic}")
        if isinstance(result, Answer):
            # fill_answer keeps an answer as it is under --fw-upper real: skip the
            # convention's decoding then (unless a subclass fills answers its own way).
            values = result.values if self._answers_as_is else self.fill_answer(result, call.conv)
            if self.ffa.deliveries is not None:
                self._note_deliveries(delivered, call.xs, values)
            return trap.ret_values(values)
        regs = self.fill(result, call.conv)
        if self.ffa.deliveries is not None:
            self._note_deliveries(delivered, call.xs, dict(enumerate(regs)))
        return trap.ret(*regs)

    @property
    def _answers_as_is(self) -> bool:
        return self.policy is UpperPolicy.REAL and type(self).fill_answer is Firmware.fill_answer

    def _note_deliveries(self, first: int, xs: list[int], values: dict[int, int] | None) -> None:
        """Direct requests this call carried to a partition (echo_sp.Delivery): the
        caller's x0-x17 before, and after (registers the answer leaves keep their value)."""
        for d in (self.ffa.deliveries or ())[first:]:
            d.sent = list(xs)
            d.answer = None if values is None else [values.get(n, v) for n, v in enumerate(xs)]

    def fill(self, reply: Reply | Answer, conv: Conv = Conv.SMC32) -> list[int]:
        """The result registers under the `--fw-upper` policy (for an Answer: x0 up to the
        highest register it writes; registers it leaves alone are not in the list). The
        policy chooses the widths of an SMC32 call's results only: an SMC64 call gets
        64-bit results (DEN0028C §2.7), filled as the implementation does."""
        if isinstance(reply, Answer):
            values = self.fill_answer(reply, conv)
            return [values[n] for n in sorted(values)]
        return reply.registers(self.policy if conv is Conv.SMC32 else UpperPolicy.REAL, self.rng)

    def fill_answer(self, answer: Answer, conv: Conv = Conv.SMC32) -> dict[int, int]:
        """An 18-register answer under the `--fw-upper` policy: "real" keeps the modelled
        bits; the others refill bits [63:32] of x0-x7 of an SMC32 result. An answer that is
        no FF-A response (e.g. SMC_UNK) has the call's convention: 64-bit after SMC64."""
        if self.policy is UpperPolicy.REAL or answer.smc64 or (
                conv is Conv.SMC64 and func_of(answer.values.get(0, 0) & 0xFFFF_FFFF) is None):
            return answer.values
        out = dict(answer.values)
        low = {n: v for n, v in out.items() if n < 8}
        regs = Reply([low.get(n, 0) for n in range(8)]).registers(self.policy, self.rng)
        out.update({n: regs[n] for n in low})
        return out

    def handle(self, call: Call, mem) -> Reply:
        if call.fid == Psci.VERSION:
            return Reply([PSCI_VERSION_1_1], count=1)
        func = func_of(call.fid)
        if func is None:
            return self.unknown(call.conv)
        if func is Func.VERSION:
            return self.version(call)
        refusal = self.gate(call, func)
        if refusal is not None:
            return self.error(refusal)
        try:
            return self.service(call, func, mem)
        except RefusedCall as refused:
            return self.error(refused.code)

    # Answers -----------------------------------------------------------------------
    def unknown(self, conv: Conv = Conv.SMC32) -> Reply:
        """SMCCC "unknown function": -1 in w0 (DEN0028 §5.2); TF-A writes it sign-extended
        (SMC_RET1(handle, SMC_UNK), SMC_UNK = -1). For an SMC64 call the result is the
        64-bit -1 whatever `--fw-upper` says (it only chooses SMC32 result widths)."""
        if conv is Conv.SMC64:
            return Reply([SMCCC_NOT_SUPPORTED], Conv.SMC64, count=1)
        return Reply([SMCCC_NOT_SUPPORTED], ext={0: Ext.SIGN}, count=1)

    def error(self, code: FfaError) -> Reply:
        return Reply([FfaId.FFA_ERROR, 0, code], ext={2: self.error_ext})

    def success(self, *values: int, smc64: bool = False) -> Reply:
        fid = FfaId.FFA_SUCCESS_64 if smc64 else FfaId.FFA_SUCCESS
        return Reply([fid, 0, *values], Conv.SMC64 if smc64 else Conv.SMC32)

    def version_not_supported(self) -> Reply:
        return Reply([FfaError.NOT_SUPPORTED], ext={0: self.version_ns_ext})

    # Negotiation rules (per implementation) ----------------------------------------
    def version(self, call: Call) -> Reply:
        raise NotImplementedError

    def gate(self, call: Call, func: Func) -> FfaError | None:
        return None

    def negotiated_version(self) -> int:
        """The version the NS caller negotiated (for descriptor layouts)."""
        return self.own_version

    # Services ------------------------------------------------------------------------
    SUPPORTED = {Func.ERROR, Func.SUCCESS, Func.VERSION, Func.FEATURES, Func.RX_RELEASE,
                 Func.RXTX_MAP, Func.RXTX_UNMAP, Func.PARTITION_INFO_GET, Func.ID_GET,
                 Func.SPM_ID_GET, Func.MSG_SEND_DIRECT_REQ, Func.MEM_SHARE, Func.MEM_LEND,
                 Func.MEM_RECLAIM}

    SERVICES = {                  # FF-A function -> the method that serves it
        Func.FEATURES: "_features", Func.ID_GET: "_id_get", Func.SPM_ID_GET: "_spm_id_get",
        Func.RXTX_MAP: "_rxtx_map", Func.RXTX_UNMAP: "_rxtx_unmap", Func.RX_RELEASE: "_rx_release",
        Func.PARTITION_INFO_GET: "_partition_info_get", Func.MSG_SEND_DIRECT_REQ: "_direct_req",
        Func.MEM_SHARE: "_mem_share", Func.MEM_LEND: "_mem_share", Func.MEM_RECLAIM: "_mem_reclaim",
        Func.MEM_RETRIEVE_REQ: "_mem_retrieve_req",
    }

    def service(self, call: Call, func: Func, mem) -> Reply:
        name = self.SERVICES.get(func)
        if name is None:
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        return getattr(self, name)(call, mem)

    def _features(self, call: Call, mem) -> Reply:
        asked = func_of(call.w(1))
        if asked is None or asked not in self.SUPPORTED:
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        # FFA_RXTX_MAP: w2[1:0] = 0 means a 4 KiB minimum buffer size and alignment.
        return self.success(0)

    def _id_get(self, call: Call, mem) -> Reply:
        return self.success(call.caller)

    def _spm_id_get(self, call: Call, mem) -> Reply:
        return self.success(SPMC_ID)

    def _rxtx_map(self, call: Call, mem) -> Reply:
        tx, rx, pages = call.arg(1), call.arg(2), call.w(3) & 0x3F
        if call.caller in self.ffa.buffers:
            raise RefusedCall(FfaError.DENIED)
        size = pages * PAGE
        if not pages or tx % PAGE or rx % PAGE or not (self._caller_memory(call, mem, tx, size) and
                                                       self._caller_memory(call, mem, rx, size)) \
                or abs(tx - rx) < size:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        self.ffa.buffers[call.caller] = Buffers(tx, rx, pages)
        return self.success()

    def _rxtx_unmap(self, call: Call, mem) -> Reply:
        if self.ffa.buffers.pop(call.caller, None) is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        return self.success()

    def _rx_release(self, call: Call, mem) -> Reply:
        buf = self.ffa.buffers.get(call.caller)
        if buf is None or not buf.rx_full:
            raise RefusedCall(FfaError.DENIED)
        buf.rx_full = False
        return self.success()

    def _partition_info_get(self, call: Call, mem) -> Reply:
        uuid = b"".join(call.w(n).to_bytes(4, "little") for n in range(1, 5))
        parts = [p for p in self.ffa.partitions if uuid == bytes(16) or p.uuid == uuid]
        if not parts:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        v10 = VERSION_MINOR.get(self.negotiated_version()) == 0
        size = 8 if v10 else 24
        if call.w(5) & 1:                         # flags bit 0: return the count only
            return self.success(len(parts), 0 if v10 else size)
        buf = self.ffa.buffers.get(call.caller)
        if buf is None:
            raise RefusedCall(FfaError.DENIED)
        if buf.rx_full:
            raise RefusedCall(FfaError.BUSY)
        blob = b"".join(struct.pack("<HHI", p.id, p.exec_contexts, p.properties) +
                        (b"" if v10 else p.uuid) for p in parts)
        if not mem.write(buf.rx, blob):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        buf.rx_full = True
        return self.success(len(parts), 0 if v10 else size)

    def _direct_req(self, call: Call, mem) -> Reply:
        src, dst = call.w(1) >> 16, call.w(1) & 0xFFFF
        # A hypervisor sends on behalf of its VMs (any normal-world ID, bit 15 clear).
        spoofed = src != call.caller and not (call.via_hypervisor and not src & SECURE_ID_BIT)
        if spoofed or dst not in {p.id for p in self.ffa.partitions}:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        smc64 = call.conv is Conv.SMC64
        resp = ffa_fid(Func.MSG_SEND_DIRECT_RESP, smc64)
        payload = [call.arg(n) for n in range(3, 8)]       # the echo partition's answer
        return Reply([resp, (dst << 16) | src, 0, *payload], Conv.SMC64 if smc64 else Conv.SMC32)

    def _mem_share(self, call: Call, mem) -> Reply:
        total, fragment, addr = call.w(1), call.w(2), call.arg(3)
        buf = self.ffa.buffers.get(call.caller)
        if addr:                                  # descriptors only through the TX buffer here
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        if buf is None or fragment > total or not total or fragment > buf.pages * PAGE:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        if fragment != total:                     # fragmented transactions are not modelled
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        desc = mem.read(buf.tx, total)
        if desc is None:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        share = self._parse_descriptor(desc, call, mem, lend=func_of(call.fid) is Func.MEM_LEND)
        handle = self.ffa.next_handle
        self.ffa.next_handle += 1
        self.ffa.shares[handle] = share
        return self.success(handle & 0xFFFF_FFFF, handle >> 32)

    def _parse_descriptor(self, desc: bytes, call: Call, mem, lend: bool) -> Share:
        caller = call.caller
        v10 = VERSION_MINOR.get(self.negotiated_version()) == 0
        try:
            region = memdesc.parse(desc, v10)
        except ValueError:
            raise RefusedCall(FfaError.INVALID_PARAMETERS) from None
        known = {p.id for p in self.ffa.partitions}
        if region.sender != caller or not set(region.receivers) <= known or any(
                address % PAGE or not pages or not self._caller_memory(call, mem, address, pages * PAGE)
                for address, pages in region.ranges):
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        return Share(caller, region.receivers, region.ranges, lend)

    @staticmethod
    def _caller_memory(call: Call, mem, addr: int, size: int) -> bool:
        """Non-secure RAM the caller owns: never the harness's (memmap.caller_may_use)."""
        return mem.in_ram(addr, size) and memmap.caller_may_use(addr, size, call.via_hypervisor)

    def _mem_retrieve_req(self, call: Call, mem) -> Reply:
        """Only a hypervisor retrieve request, by SPMCs that serve it (hyp_retrieve.py)."""
        total, fragment = call.w(1), call.w(2)
        buf = self.ffa.buffers.get(call.caller)
        request = mem.read(buf.tx, total) if buf is not None and fragment == total \
            and total <= buf.pages * PAGE else None
        if not (self.hypervisor_retrieve and call.via_hypervisor and request is not None
                and hyp_retrieve.is_hypervisor_retrieve(request)):
            raise RefusedCall(FfaError.NOT_SUPPORTED)
        if buf.rx_full:
            raise RefusedCall(FfaError.BUSY)
        try:
            desc = hyp_retrieve.response(request, self.ffa.shares, self.negotiated_version())
        except hyp_retrieve.Refused as refused:
            raise RefusedCall(refused.code) from None
        mem.write(buf.rx, desc)
        buf.rx_full = True
        return Reply([FfaId.FFA_MEM_RETRIEVE_RESP, len(desc), len(desc)])

    def _mem_reclaim(self, call: Call, mem) -> Reply:
        handle = (call.w(2) << 32) | call.w(1)
        share = self.ffa.shares.get(handle)
        if share is None or share.sender != call.caller:
            raise RefusedCall(FfaError.INVALID_PARAMETERS)
        del self.ffa.shares[handle]
        return self.success()


def _choice(what: str, value: str, valid) -> str:
    if value not in valid:
        raise FfaemuError(f"invalid value '{value}' for {what} (valid: {', '.join(valid)})")
    return value


def is_error(regs: list[int], code: FfaError | None = None) -> bool:
    """True when the W view of x0 is FFA_ERROR (and w2 is `code`, if given)."""
    return (regs[0] & 0xFFFF_FFFF) == FfaId.FFA_ERROR and (code is None or s32(regs[2]) == code)


__all__ = ["Answer", "Firmware", "FirmwarePanic", "Partition", "PARTITIONS", "SPMC_ID",
           "NS_ENDPOINT", "RefusedCall", "is_error", "V1_0"]
