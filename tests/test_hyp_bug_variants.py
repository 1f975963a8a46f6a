"""The bug-zoo variants of the hypervisor models (BUGZOO.md): each option value is the
upstream code before its fix, the default the code after it; one exact row each."""
from __future__ import annotations

import pytest

from conftest import ROOT
from hyp_regs import FFA_ERROR, FFA_SUCCESS, KEPT, MASK64, NS_W, R, hvc, last, sext, show, smc
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


class V11Firmware(Rxtx12Firmware):
    """An SPMC at FF-A 1.1 (as OP-TEE 4.4 answers): SUCCESS to everything else, no SPs."""

    def __call__(self, trap):
        if trap.w(0) == VERSION:
            return trap.ret(0x10001)
        if trap.w(0) == 0x8400_0068:                     # PARTITION_INFO_GET: 0 SPs, 24 bytes
            return trap.ret(FFA_SUCCESS, 0, 0, 24, 0, 0, 0, 0)
        return super().__call__(trap)


def test_xen_fw_version_check(monkeypatch):
    """da07df5558: before it (Xen 4.18-4.19) the probe rejected any firmware version but
    1.1 and FFA_VERSION answered 1.0 or 1.1; the fixed code accepts 1.x >= 1.1 and answers
    its own version (1.2 in 4.22)."""
    from ffaemu.models.fw import FIRMWARE
    monkeypatch.setitem(FIRMWARE._factories, "v11", (V11Firmware, "test SPMC"))
    v10, v12 = [smc(VERSION, 0x10000)], [smc(VERSION, 0x10002)]
    exact, fixed = "xen:fw-version-check=exact", "xen:fw-version-check=compatible"
    # Firmware at 1.3 (tfa-spmd): FF-A off, so FFA_VERSION is an unknown SMC (x0 = -1 only).
    assert last("tfa-spmd", exact, v10) == KEPT(MASK64, 0x10000)
    assert last("tfa-spmd", fixed, v10) == R(0x10002, rest="kept")
    # Firmware at 1.1: the guest's request mapped to 1.0 / 1.1 and answered.
    assert last("v11", exact, v10) == R(0x10000, rest="kept")
    assert last("v11", exact, v12) == R(0x10001, rest="kept")
    assert last("v11", fixed, v10) == R(0x10002, rest="kept")


def test_xen_exact_is_xen_4_19(capsys):
    assert main(["run", str(ROOT / "asm/el1/ffa_deferred.S"), "--el3", "tfa",
                 "--el2", "xen:fw-version-check=exact,negotiation=per-vm"]) == 2
    assert ("xen:fw-version-check=exact is Xen 4.18-4.19, which has no negotiation=per-vm"
            in capsys.readouterr().err)
