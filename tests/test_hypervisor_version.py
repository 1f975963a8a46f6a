"""FFA_VERSION of each hypervisor model against FFA.md, through the real trap path.

A generated guest issues each call of a case (HVC for pKVM's init hypercall, SMC for
the rest) and stores the full 64-bit x0 and x2 it got back, so the width of every
answer is checked exactly. Firmware: tfa-spmd (Hafnium-like, FF-A 1.3).
"""
from __future__ import annotations

import pytest

from conftest import run_call_table

FFA_VERSION, FFA_ID_GET, FFA_ERROR, FFA_SUCCESS = 0x84000063, 0x84000069, 0x84000060, 0x84000061
PKVM_INIT = 0xC6000001
SEXT_NS, ZEXT_NS = 0xFFFF_FFFF_FFFF_FFFF, 0x0000_0000_FFFF_FFFF
SEXT_INVAL = 0xFFFF_FFFF_FFFF_FFFE
V1_0, V1_1, V1_2, V1_3, V2_0, BIT31 = 0x10000, 0x10001, 0x10002, 0x10003, 0x20000, 0x8001_0002
INIT = (PKVM_INIT, 0, "hvc")


def V(v):
    return (FFA_VERSION, v, "smc")


ID_GET = (FFA_ID_GET, 0, "smc")

def run_calls(tmp_path, el2: str, calls):
    pairs, run = run_call_table(tmp_path, "tfa-spmd", el2, [(fid, (arg,), how) for fid, arg, how in calls])
    assert run.result.reason.value == "system-off", run.result.message
    return pairs, run.hypervisor


# pKVM after its init (firmware 1.3 -> hyp version 1.2); x0 of the last call, or (x0, x2).
PKVM = {
    "own": ([INIT, V(V1_2)], V1_2),
    # pKVM asks EL3 for 1.1, but Hafnium v2.15.0 already marked the normal world
    # negotiated when pKVM's init sent FFA_VERSION(1.2) (the SPMD's framework message is a
    # direct request: handler.c hvc_smc_handler), so api_ffa_version refuses 1.1 and pKVM
    # passes EL3's NOT_SUPPORTED on unchanged (do_ffa_version: `goto unlock` with `res`
    # as EL3 wrote it): zero-extended, as the SPMD relays Hafnium's answer (bl31.py).
    "lower minor (asks EL3, refused by Hafnium)": ([INIT, V(V1_1)], ZEXT_NS),
    "higher minor": ([INIT, V(V1_3)], V1_2),
    "other major": ([INIT, V(V2_0)], SEXT_NS),
    "zero": ([INIT, V(0)], SEXT_NS),
    "bit 31 ignored": ([INIT, V(BIT31)], V1_2),
    "after the lock, lower minor": ([INIT, V(V1_2), ID_GET, V(V1_1)], SEXT_NS),
    "after the lock, own": ([INIT, V(V1_2), ID_GET, V(V1_2)], V1_2),
    "non-VERSION first": ([INIT, ID_GET], (FFA_ERROR, SEXT_INVAL)),
}


@pytest.mark.parametrize("case", PKVM)
def test_pkvm_version(case, tmp_path):
    calls, expected = PKVM[case]
    results, pkvm = run_calls(tmp_path, "pkvm", calls)
    assert results[0] == (0, 0), "the init hypercall answers x0 = 0"
    x0, x2 = results[-1]
    if isinstance(expected, tuple):
        assert (x0, x2) == expected, f"x0={x0:#x} x2={x2:#x}"
    else:
        assert x0 == expected, f"x0={x0:#018x}"


# Xen, per-vm: (calls, x0 or (x0, x2) of the last call, guest_vers_tmp, guest_vers).
XEN_PER_VM = {
    "own": ([V(V1_2)], V1_2, V1_2, 0),
    "lower minor": ([V(V1_1)], V1_2, V1_1, 0),
    "higher minor": ([V(V1_3)], V1_2, V1_2, 0),
    "other major": ([V(V2_0)], V1_2, V1_2, 0),
    "zero": ([V(0)], V1_2, V1_2, 0),
    "bit 31 recorded verbatim (known weakness)": ([V(0x8001_0001)], V1_2, 0x8001_0001, 0),
    "after the lock": ([V(V1_1), ID_GET, V(V1_0)], V1_2, V1_1, V1_1),
    "non-VERSION first": ([ID_GET], (FFA_ERROR, ZEXT_NS), 0, 0),
}


@pytest.mark.parametrize("case", XEN_PER_VM)
def test_xen_per_vm_version(case, tmp_path):
    calls, expected, tmp, published = XEN_PER_VM[case]
    results, xen = run_calls(tmp_path, "xen", calls)
    x0, x2 = results[-1]
    assert (x0, x2) == expected if isinstance(expected, tuple) else x0 == expected, f"x0={x0:#018x}"
    dom = xen.domains[0]
    assert (dom.guest_vers_tmp, dom.guest_vers) == (tmp, published)


XEN_LEGACY = {
    "own": ([V(V1_2)], V1_2, V1_2),
    "lower minor": ([V(V1_1)], V1_2, V1_1),
    "higher minor": ([V(V1_3)], V1_2, V1_2),
    "other major": ([V(V2_0)], ZEXT_NS, 0),
    "zero": ([V(0)], ZEXT_NS, 0),
    "bit 31 (major field 1: accepted)": ([V(0x8001_0001)], V1_2, 0x10002),
    "renegotiation after other calls (the legacy weakness)": ([V(V1_2), ID_GET, V(V1_0)], V1_2, V1_0),
    "non-VERSION first is served": ([ID_GET], (FFA_SUCCESS, 1), 0),
}


@pytest.mark.parametrize("case", XEN_LEGACY)
def test_xen_legacy_version(case, tmp_path):
    calls, expected, published = XEN_LEGACY[case]
    results, xen = run_calls(tmp_path, "xen:negotiation=legacy", calls)
    x0, x2 = results[-1]
    assert (x0, x2) == expected if isinstance(expected, tuple) else x0 == expected, f"x0={x0:#018x}"
    assert xen.domains[0].guest_vers == published


# No hypervisor: FFA_VERSION reaches the firmware (tfa-spmd: SPMD + Hafnium 1.3) as is.
NONE = {
    "own (firmware's 1.3)": ([V(V1_3)], V1_3),
    "lower minor": ([V(V1_2)], V1_3),
    "higher minor": ([V(0x10004)], ZEXT_NS),
    "other major": ([V(V2_0)], ZEXT_NS),
    "zero": ([V(0)], ZEXT_NS),
    "bit 31 (the SPMD refuses it)": ([V(BIT31)], ZEXT_NS),
    "after the lock": ([V(V1_2), ID_GET, V(V1_1)], ZEXT_NS),
    "non-VERSION first": ([ID_GET], (FFA_SUCCESS, 0)),
}


@pytest.mark.parametrize("case", NONE)
def test_no_hypervisor_passes_version_through(case, tmp_path):
    calls, expected = NONE[case]
    results, _ = run_calls(tmp_path, "none", calls)
    x0, x2 = results[-1]
    assert (x0, x2) == expected if isinstance(expected, tuple) else x0 == expected, f"x0={x0:#018x}"
