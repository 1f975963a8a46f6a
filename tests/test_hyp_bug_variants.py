"""The bug-zoo variants of the hypervisor models (BUGZOO.md): each option value is the
upstream code before its fix, the default the code after it; one exact row each."""
from __future__ import annotations

import pytest

from conftest import ROOT
from hyp_regs import FFA_ERROR, FFA_SUCCESS, MASK64, NS_W, R, hvc, last, sext, show, smc
from ffaemu.cli import main

INIT = hvc(0xC600_0001)
VERSION, FEATURES = 0x8400_0063, 0x8400_0064
NEGOTIATED = [INIT, smc(VERSION, 0x10002)]

CASES = {
    # 6f4c348b1d5c: ffa_set_retval wrote x0-x3 only; x4-x17 keep the host's values.
    "retval-regs": (NEGOTIATED + [smc(FEATURES, 0x8400_007F)],
                    {"4": R(FFA_ERROR, 0, sext(NS_W), 0, rest="kept", kept_from=4),
                     "18": R(FFA_ERROR, 0, sext(NS_W))}),
    # 0dd60c4632a1: FFA_MAX_FUNC_NUM was 0x7F, so FFA_SPM_ID_GET (0x85) skipped the
    # negotiation gate and reached EL3 (Hafnium-like SPMC ID 0x8000).
    "ffa-max-func": ([INIT, smc(0x8400_0085)],
                     {"0x7f": R(FFA_SUCCESS, 0, 0x8000, rest="kept"),
                      "0xff": R(FFA_ERROR, 0, sext(0xFFFF_FFFE))}),
    # f41426939244: after negotiation a lower minor was answered with the hyp's version.
    "downgrade": (NEGOTIATED + [smc(VERSION, 0x10001)], {"answer": R(0x10002), "refuse": R(MASK64)}),
}


@pytest.mark.parametrize("option", CASES)
def test_pkvm_variant(option):
    calls, rows = CASES[option]
    for value, expected in rows.items():
        got = last("tfa-spmd", f"pkvm:{option}={value}", calls)
        assert got == expected, (value, show(got))


class Rxtx12Firmware:
    """Answers FFA_FEATURES(FFA_RXTX_MAP_64) as FF-A 1.2 allows: w2[1:0] = 0 (4 KiB) and
    w2[31:16] = 1 (maximum buffer size in pages); FFA_ID_GET with ID 0."""

    def __init__(self, upper="real", seed=0):
        pass

    def __call__(self, trap):
        fid = trap.w(0)
        if fid == 0x8400_0008:
            return trap.stop("system-off")
        if fid == VERSION:
            return trap.ret(0x10002)
        return trap.ret(FFA_SUCCESS, 0, 0x1_0000 if fid == FEATURES else 0, 0, 0, 0, 0, 0)


def test_pkvm_features_mask(monkeypatch):
    """3f5952917498: hyp_ffa_post_init switched on the whole x2, so w2[31:16] != 0 made
    it fail and the host's FFA_VERSION was answered NOT_SUPPORTED."""
    from ffaemu.models.fw import FIRMWARE
    monkeypatch.setitem(FIRMWARE._factories, "rxtx12", (Rxtx12Firmware, "test SPMC"))
    assert last("rxtx12", "pkvm:features-mask=off", NEGOTIATED) == R(MASK64)
    assert last("rxtx12", "pkvm:features-mask=on", NEGOTIATED) == R(0x10002)


def test_xen_features_args():
    """538ab07bad..4992308e97: FFA_FEATURES refused if any of x2-x7 (64-bit) is non-zero."""
    calls = [smc(VERSION, 0x10002), smc(FEATURES, 0x8400_0069, 1 << 32, 0, 0, 0, 0, 0)]
    assert last("tfa-spmd", "xen:features-args=check", calls) == R(FFA_ERROR, 0, NS_W)
    assert last("tfa-spmd", "xen:features-args=ignore", calls) == R(FFA_SUCCESS)


def test_bad_option_values_are_one_line_errors(capsys):
    assert main(["run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3", "tfa", "--el2", "pkvm:retval-regs=5"]) == 2
    assert "invalid value '5' for pkvm:retval-regs (valid: 18, 4)" in capsys.readouterr().err
    assert main(["run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3", "tfa", "--el2", "xen:features-args=x"]) == 2
    assert "invalid value 'x' for xen:features-args (valid: ignore, check)" in capsys.readouterr().err
