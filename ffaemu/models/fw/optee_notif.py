"""OP-TEE's notification ABIs from the normal world (handle_notification_bitmap_create,
_destroy, _bind, _unbind, _get, _info_get in core/arch/arm/kernel/thread_spmc.c; OP-TEE
4.10.0 and 4.4.0 answer alike). Held to the real images by tests/test_fwdiff.py (memory.S)."""
from __future__ import annotations

from dataclasses import dataclass

from ...arch.bits import MASK32
from ...ffa.abi import FfaError, FfaId
from .base import FirmwarePanic
from .optee_common import args, error, success


@dataclass
class Notifications:
    """OP-TEE's one notification bitmap (VM 0; no CFG_NS_VIRTUALIZATION): the
    handle_notification_* functions of thread_spmc.c. Nothing the normal world does makes a
    global notification pending here (OP-TEE's own events are not modelled), so GET returns
    zero and INFO_GET NO_DATA (real-firmware run, notifications.S)."""

    initialized: bool = False
    bound: int = 0
    pending: int = 0

    @staticmethod
    def _vm(xs) -> int | None:
        """get_notif_vm_bitmap: only VM 0 has a bitmap."""
        return 0 if xs[1] & 0xFFFF == 0 else None

    def bitmap_create(self, xs):
        if (xs[1] & MASK32) >> 16 or any(xs[3:8]) or self._vm(xs) is None:
            return error(FfaError.INVALID_PARAMETERS)
        if self.initialized:
            return error(FfaError.DENIED)
        self.initialized = True
        return success()

    def bitmap_destroy(self, xs):
        if (xs[1] & MASK32) >> 16 or any(xs[3:8]) or self._vm(xs) is None:
            return error(FfaError.INVALID_PARAMETERS)
        if self.pending or self.bound:
            return error(FfaError.DENIED)
        self.initialized, self.bound = False, 0
        return success()

    def bind(self, xs):
        """Flags in w2 (per-vCPU) -> DENIED: "We only deal with global notifications"."""
        if any(xs[5:8]):
            return error(FfaError.INVALID_PARAMETERS)
        if xs[2]:
            return error(FfaError.DENIED)
        if self._vm(xs) is None:
            return error(FfaError.INVALID_PARAMETERS)
        bitmap = ((xs[4] & MASK32) << 32) | (xs[3] & MASK32)
        if bitmap & self.bound:
            return error(FfaError.DENIED)
        self.bound |= bitmap
        return success()

    def unbind(self, xs):
        if xs[2] or any(xs[5:8]) or self._vm(xs) is None:
            return error(FfaError.INVALID_PARAMETERS)
        bitmap = ((xs[4] & MASK32) << 32) | (xs[3] & MASK32)
        if bitmap & self.pending:
            return error(FfaError.DENIED)
        self.bound &= ~bitmap
        return success()

    def get(self, xs):
        """Only the SP-notifications flag (w2 bit 0) reads the bitmap; w2/w3 = pending."""
        if any(xs[5:8]):
            return error(FfaError.INVALID_PARAMETERS)
        if not xs[2] & 1:
            return success()
        if self._vm(xs) is None:
            return error(FfaError.INVALID_PARAMETERS)
        pending, self.pending = self.pending, 0
        return args(FfaId.FFA_SUCCESS, 0, pending & MASK32, pending >> 32)

    def info_get(self, xs):
        if any(xs[1:8]) or not self.pending:
            return error(FfaError.INVALID_PARAMETERS if any(xs[1:8]) else FfaError.NO_DATA)
        raise FirmwarePanic("pending OP-TEE notifications are not modelled by ffaemu")
