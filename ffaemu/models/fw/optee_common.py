"""What every part of the OP-TEE SPMC model shares: endpoint IDs, OP-TEE's view of
Non-secure memory, and spmc_set_args() (core/arch/arm/kernel/thread_spmc.c, OP-TEE 4.10.0
and 4.4.0 alike)."""
from __future__ import annotations

from ...arch.bits import MASK32
from ...ffa.abi import FfaError, FfaId
from ...trap import SMCCC_ARG_REGS

PAGE = 0x1000
SPMC_ID = 0x8000                    # qemu_spmc_optee.dts spmc_id (SPMD manifest)
OPTEE_ID = 0x8001                   # spmc_init: find_unused_sp_id() after the SPMC's ID
TEE_ERROR_BAD_PARAMETERS = 0xFFFF0006
# Non-secure RAM as OP-TEE knows it: the DT memory node of QEMU virt with -m 1057
# (core_pbuf_is(CORE_MEM_NON_SEC)); real-firmware run: 0x80000000 maps, 0x0e100000 does not.
NS_RAM = (0x4000_0000, 0x4000_0000 + (1057 << 20))


def ns(address: int, size: int) -> bool:
    """core_pbuf_is(CORE_MEM_NON_SEC, pa, size)."""
    return NS_RAM[0] <= address and address + size <= NS_RAM[1] and size > 0


def ns_mappable(address: int, size: int) -> bool:
    """map_buf: Non-secure and page-aligned (core_mmu_map_contiguous_pages)."""
    return ns(address, size) and not address % PAGE


def args(fid: int, w1: int = 0, w2: int = 0, w3: int = 0, w4: int = 0, w5: int = 0) -> list[int]:
    """spmc_set_args: w0-w5 zero-extended, every other register of the struct zero."""
    return [v & MASK32 for v in (fid, w1, w2, w3, w4, w5)] + [0] * (SMCCC_ARG_REGS - 6)


def error(code: FfaError) -> list[int]:
    return args(FfaId.FFA_ERROR, 0, code & MASK32)


def success() -> list[int]:
    return args(FfaId.FFA_SUCCESS)
