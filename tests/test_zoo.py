"""The bug zoo (BUGZOO.md): each upstream fix buggy vs fixed, as model options, with the
exact registers the guest sees; and the scenario page (list, --all --json, markdown)."""
from __future__ import annotations

import json

import pytest

from ffaemu import scenarios
from ffaemu.cli import main

M64, NS32 = 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF
ERROR, SUCCESS, RESP2 = 0x8400_0060, 0x8400_0061, 0xC400_008E

# scenario -> variant -> the watched registers of each probe, as the guest sees them.
# Each value is what the upstream code before/after the fix writes (the scenario modules
# cite file and function); all 64 bits are asserted.
EXPECTED = {
    # Hafnium answers FFA_FEATURES(RXTX_MAP) with w2 = 1 << 16 for a 1.2 caller; the
    # unmasked switch fails post-init: pKVM's NOT_SUPPORTED, sign-extended (ffa.c).
    "pkvm-features-mask": {"buggy": [{0: M64}], "fixed": [{0: 0x10002}]},
    "pkvm-version-downgrade": {"buggy": [{0: 0x10002}], "fixed": [{0: M64}]},
    # FFA_SPM_ID_GET before negotiation: the SPMD's SUCCESS with SPMC ID 0x8000 vs pKVM's
    # gate, INVALID_PARAMETERS (-2) sign-extended by ffa_to_smccc_error.
    "pkvm-ffa-range": {"buggy": [{0: SUCCESS, 2: 0x8000}], "fixed": [{0: ERROR, 2: M64 - 1}]},
    # ffa_set_retval: x4-x17 kept (the guest's own values) vs x4-x17 of pKVM's res (0).
    "pkvm-smccc-1.2": {"buggy": [{0: 0x10002, 4: 0x5_0000_0004, 7: 0x8_0000_0007,
                                  8: 0x9_0000_0008, 17: 0x12_0000_0011}],
                       "fixed": [{0: 0x10002, 4: 0, 7: 0, 8: 0, 17: 0}]},
    # Xen masks its results to 32 bits (ffa_set_regs): NOT_SUPPORTED zero-extended.
    "xen-features-sbz": {"buggy": [{0: ERROR, 2: NS32}], "fixed": [{0: SUCCESS, 2: 0}]},
    # FF-A off (unknown SMC, -1) / 1.0 under a 1.1 firmware vs Xen 4.22's own 1.2.
    "xen-fw-version": {"buggy": [{0: M64}, {0: 0x10000}], "fixed": [{0: 0x10002}, {0: 0x10002}]},
    "tfa-spmd-error-width": {"buggy": [{0: M64}, {0: ERROR, 2: M64}],
                             "fixed": [{0: NS32}, {0: ERROR, 2: NS32}]},
    "tfa-smc-unk-width": {"buggy": [{0: NS32}], "fixed": [{0: M64}]},
    # Hafnium v1.3 answers; x8-x17 the SPMC context's (0 at first) vs the caller's.
    "tfa-spmd-version-regs": {"buggy": [{0: 0x10003, 8: 0, 17: 0}],
                              "fixed": [{0: 0x10003, 8: 0x5EC0_0000_0000_0008,
                                         17: 0x5EC0_0000_0000_0011}]},
    # A 1.1 caller's REQ2: Hafnium's DENIED (-6) / the EL3 SPMC's SP answers RESP2
    # (0x8001 -> 0) vs the SPMD's NOT_SUPPORTED, zero-extended.
    "tfa-spmd-direct-req2": {"buggy": [{0: ERROR, 2: 0xFFFF_FFFA}, {0: RESP2, 1: 0x8001_0000}],
                             "fixed": [{0: ERROR, 2: NS32}, {0: ERROR, 2: NS32}]},
    # The EL3 SPMC sign-extends its errors (spmc_ffa_error_return); handles from 0xffffffc0.
    "el3-spmc-desc-version": {"buggy": [{0: ERROR, 2: M64 - 1}],
                              "fixed": [{0: SUCCESS, 2: 0xFFFF_FFC0, 3: 0}]},
    # TF-A v2.7.0's SPMD (no 5519f07cd) forwards a spoofed source 0x8002. Buggy (v2.7.0
    # direct_req_smc_handler): SP 0x8001 gets the request, its response to 0x8002 is
    # refused to the SP (direct_resp_smc_handler) and the call never returns: no registers
    # (STOPS). Fixed (48fe24c50): spmc_ffa_error_return(INVALID_PARAMETERS), an `int`: -2
    # sign-extended in x2.
    "el3-spmc-direct-src": {"buggy": [{}], "fixed": [{0: ERROR, 2: M64 - 1}]},
    "hafnium-version-store": {"buggy": [{0: 0x10001}], "fixed": [{0: NS32}]},
}
# (scenario, variant) -> how each probe's run ends, when not at the guest's SYSTEM_OFF, and
# what the one-line stop message must name.
STOPS = {("el3-spmc-direct-src", "buggy"): (["fault"], "refused SP 0x8001's FFA_MSG_SEND_DIRECT_RESP "
                                            "to 0x8002 with INVALID_PARAMETERS (direct_resp_smc_handler)")}
BUGZOO = {"pkvm-features-mask": ("pkvm:features-mask=off", "pkvm:features-mask=on", "3f5952917498"),
          "pkvm-version-downgrade": ("pkvm:downgrade=answer", "pkvm:downgrade=refuse", "f41426939244"),
          "pkvm-ffa-range": ("pkvm:ffa-max-func=0x7f", "pkvm:ffa-max-func=0xff", "0dd60c4632a1"),
          "pkvm-smccc-1.2": ("pkvm:retval-regs=4", "pkvm:retval-regs=18", "6f4c348b1d5c"),
          "xen-features-sbz": ("xen:features-args=check", "xen:features-args=ignore", "4992308e97"),
          "xen-fw-version": ("xen:fw-version-check=exact", "xen:fw-version-check=compatible", "da07df5558"),
          "tfa-spmd-error-width": ("tfa-spmd:result-width=sext", "tfa-spmd:result-width=zext", "e46b2fd21"),
          "tfa-smc-unk-width": ("tfa:smc-unk=zext", "tfa:smc-unk=sext", "4abd7fa71"),
          "tfa-spmd-version-regs": ("tfa-spmd:version-forward=leaky", "tfa-spmd:version-forward=clean",
                                    "76d53ee1a"),
          "tfa-spmd-direct-req2": ("tfa-spmd:req2=legacy", "tfa-spmd:req2=gated", "bb9fc8c0b"),
          "el3-spmc-desc-version": ("tfa-el3-spmc:desc-version=exact", "tfa-el3-spmc:desc-version=compatible",
                                    "6feaad6c6"),
          "el3-spmc-direct-src": ("tfa-el3-spmc:direct-src=unchecked", "tfa-el3-spmc:direct-src=checked",
                                  "48fe24c50"),
          "hafnium-version-store": ("tfa-spmd:version-store=any", "tfa-spmd:version-store=compatible",
                                    "3cc9d6f4")}


@pytest.mark.parametrize("name", EXPECTED)
def test_zoo_scenario_registers(name):
    sc = scenarios.get(name)
    assert (sc.option("buggy"), sc.option("fixed"), sc.fix) == BUGZOO[name]
    for variant in ("buggy", "fixed"):
        res = sc.run(variant, lambda line: None)
        seen = [{int(r[1:]): int(v, 16) for r, v in d["observed"].items()}
                for d in res.details["difference"]]
        assert seen == EXPECTED[name][variant], (variant, res.verdict)
        ends, message = STOPS.get((name, variant), (["system-off"] * len(seen), ""))
        assert [d["end"] for d in res.details["difference"]] == ends
        assert message in res.verdict and res.verdict.count("\n") == 0
        assert res.as_expected
        assert sc.fix in res.verdict


def test_fixed_values_are_the_defaults():
    """The fixed variant is each model's default: the spec without the option is the same."""
    from ffaemu.models.fw import FIRMWARE
    from ffaemu.models.hyp import HYPERVISORS
    for name in EXPECTED:
        sc = scenarios.get(name)
        model = (FIRMWARE if sc.layer == "el3" else HYPERVISORS).create(sc.model)
        assert model.options[sc.key][0] == sc.fixed, name


def test_scenario_list_groups_by_project_with_commits(capsys):
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if not line.startswith(" ")]
    assert heads == ["pKVM:", "Xen:", "TF-A:", "Hafnium:"]
    assert "  pkvm-smccc-1.2           fix 6f4c348b1d5c  Use SMCCC 1.2 for FF-A init and host handler" in out
    assert "    --variant buggy         tfa-spmd:req2=legacy (expect: bug)" in out


def test_scenario_page_json_and_markdown(capsys):
    assert main(["scenario", "run", "--all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 7 + 2 * len(EXPECTED)          # the seed bugs' 7 variants + the zoo
    row = next(r for r in rows if (r["scenario"], r["variant"]) == ("tfa-smc-unk-width", "buggy"))
    assert {k: row[k] for k in ("project", "fix", "option", "expected", "observed", "as_expected")} == {
        "project": "TF-A", "fix": "4abd7fa71", "option": "tfa:smc-unk=zext", "expected": "bug",
        "observed": "bug", "as_expected": True}
    assert row["difference"][0]["observed"] == {"x0": "0x00000000ffffffff"}
    assert row["difference"][0]["other_variant"] == {"x0": "0xffffffffffffffff"}
    assert any("EL1 -> EL3 tfa" in line for line in row["trace"])
    assert main(["scenario", "run", "hafnium-version-store", "--format", "markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == ("| project | scenario | fix | variant | option | expected | observed | "
                        "guest-visible difference |")
    assert table[2] == ("| Hafnium | `hafnium-version-store` | `3cc9d6f4` | buggy | "
                        "`tfa-spmd:version-store=any` | bug | bug | FFA_VERSION(1.3): x0=0x0000000000010001 |")


@pytest.mark.parametrize("argv, message", [
    (["scenario", "run"], "needs a scenario name or --all"),
    (["scenario", "run", "--all", "--variant", "buggy"], "--variant needs one scenario"),
    (["scenario", "run", "nope"], "unknown scenario 'nope'"),
])
def test_scenario_run_bad_input(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ffaemu: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("direct_src", ["checked", "unchecked"])
def test_lts_spmd_refuses_a_spoofed_source_first(direct_src):
    """With the SPMD's own check (5519f07cd, the default: lts-v2.14.6 spmd_smc_handler) a
    normal-world DIRECT_REQ with source 0x8002 never reaches the EL3 SPMC, whatever its
    check: spmd_ffa_error_return(INVALID_PARAMETERS), (uint32_t) -2 zero-extended in x2."""
    from ffaemu.widthfuzz import run_calls
    from ffaemu.ffa.abi import FfaId
    res, _, regs = run_calls(f"tfa-el3-spmc:direct-src={direct_src}", "none",
                             [([FfaId.FFA_VERSION, 0x10002], False),
                              ([FfaId.FFA_MSG_SEND_DIRECT_REQ, 0x8002_8001, 0, 0x11], False)])
    assert res.reason.value == "system-off"
    assert (regs[1][0], regs[1][2]) == (ERROR, NS32 - 1)
