"""asm/ and firmware_blobs/ are found in a checkout and in an installed package."""
from __future__ import annotations

from ffaemu import resources
from ffaemu.loader import load_image

from conftest import ROOT


def test_checkout_dirs():
    assert resources.data_dir("asm") == ROOT / "asm"
    assert resources.data_dir("firmware_blobs") == ROOT / "firmware_blobs"


def test_readme_paths_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.resolve("asm/el1/psci_off.S") == ROOT / "asm" / "el1" / "psci_off.S"
    assert resources.resolve("elsewhere/x.S").as_posix() == "elsewhere/x.S"      # untouched
    image = load_image("asm/el1/psci_off.S")
    assert image.name == "asm/el1/psci_off.S"
    # Line 4 of psci_off.S is its first instruction (`ldr x0, =0x84000000`), at the base.
    assert image.source_line(0x4010_0000) == "asm/el1/psci_off.S:4"


def test_installed_copy_is_preferred(tmp_path, monkeypatch):
    (tmp_path / "_data" / "asm" / "el1").mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGED", tmp_path / "_data")
    assert resources.data_dir("asm") == tmp_path / "_data" / "asm"
    assert resources.data_dir("firmware_blobs") == ROOT / "firmware_blobs"     # not packaged here
