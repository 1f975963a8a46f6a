"""C guests and EL2/EL3 images in C (clang + lld from ziglang), and function names for
compiler-built ELFs (mapping symbols never name a location)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from ffaemu.cli import main
from ffaemu.loader import load_elf

ROOT = Path(__file__).resolve().parent.parent
C = ROOT / "tests" / "c"
ASM = ROOT / "asm"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_c_guest_under_models_with_file_line_in_trace(capsys):
    code, out, err = run_cli(capsys, "run", C / "hello.c", "--el3", "tfa-spmd", "--el2", "pkvm", "--trace")
    # FFA_VERSION returns the callee's own version (DEN0077 §13.2.1): the tfa-spmd model
    # follows TF-A lts-v2.14.6, which reports v1.3 (w0 = 0x10003).
    assert "FFA_VERSION: 0x0000000000010003\n" in out
    # The SMC is on hello.c line 9 (DWARF), named by its function, not by a mapping symbol.
    assert re.search(r"smc #0x0 at 0x[0-9a-f]+ <main\+0x[0-9a-f]+> hello\.c:9, ", out), out
    assert "$x" not in out
    # Semihosting SYS_EXIT {0x20026, 7}: exit code 7, which is not success (exit status 1).
    assert "semihost-exit (code 7)" in err and code == 1


def test_c_images_at_el3_and_el2(capsys):
    code, out, err = run_cli(capsys, "run", C / "hello.c", "--el3", C / "monitor_el3.c",
                             "--el2", C / "proxy_el2.c")
    assert out == "el2(C): forwarding 0x0000000084000063\nFFA_VERSION: 0x0000000000010002\n"
    assert "semihost-exit (code 7)" in err and code == 1


def test_c_el3_image_ends_the_run_with_psci_system_off(capsys):
    code, out, err = run_cli(capsys, "run", ASM / "el1" / "psci_off.S", "--el3", C / "monitor_el3.c")
    # psci_off.S prints 'P', then '0' + w0 of PSCI_VERSION (-1 here: '/'), then SYSTEM_OFF.
    assert out == "P/\nel3(C): system off\n" and code == 0


def test_c_compile_error_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.c"
    bad.write_text('#include "ffaemu.h"\nint main(void)\n{\n\treturn nope;\n}\n')
    code, _, err = run_cli(capsys, "run", bad)
    assert code == 2
    assert re.fullmatch(r"ffaemu: error: \S*bad\.c:4:9: error: use of undeclared identifier 'nope'\n", err), err


def test_el3_image_in_c_without_handler(tmp_path, capsys):
    fw = tmp_path / "fw.c"
    fw.write_text("int main(void) { return 0; }\n")
    code, _, err = run_cli(capsys, "run", ASM / "el1" / "psci_off.S", "--el3", fw)
    assert code == 2
    assert err.endswith("fw.c: an EL3 image in C must define "
                        "void handle_lower_sync(struct ffaemu_frame *frame)\n")


@pytest.mark.parametrize("blob", ["pkvm_proxy_u64.elf", "pkvm_proxy_s32.elf"])
def test_gcc_elf_locations_are_function_names(blob):
    """gcc's ELFs carry ARM mapping symbols ($x, $d) at function starts; they mark code vs
    data ("ELF for the Arm 64-bit Architecture", Mapping symbols) and must not be names."""
    path = ROOT / "firmware_blobs" / blob
    with open(path, "rb") as f:
        raw = {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    assert {"$x", "$d"} & raw                       # the file has them...
    image = load_elf(path)
    assert not [n for n in image.symbols if n.startswith("$")]     # ...the harness drops them
    at = image.symbols["hyp_ffa_init"]
    assert image.symbolize(at + 4) == "hyp_ffa_init+0x4"
    assert image.symbolize(image.symbols["handle_lower_sync"]) == "handle_lower_sync"


def test_readme_c_example_runs(tmp_path, capsys):
    text = (ROOT / "README.md").read_text()
    src = re.search(r"```c\n(#include \"ffaemu.h\".*?)```", text, re.S).group(1)
    (tmp_path / "guest.c").write_text(src)
    code, out, err = run_cli(capsys, "run", tmp_path / "guest.c", "--el3", "tfa", "--el2", "pkvm")
    # TF-A without SPMD: FF-A IDs are unknown SMCs, x0 = -1 (SMC_UNK, sign-extended; FFA.md).
    assert out == "FF-A not supported\n0xffffffffffffffff" and code == 0
