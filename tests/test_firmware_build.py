"""`ffaemu firmware build`: its checks (without running make) and its flags against build.sh."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import IN_CI, ROOT, real_firmware
from ffaemu import cli
from ffaemu.backends import build
from ffaemu.backends.images import IMAGES
from ffaemu.errors import FfaemuError

PREBUILT = ROOT.parent / "shared" / "real-firmware"      # as .ci/run's FFAEMU_FIRMWARE


def _repo(path: Path, tags: dict[str, bool] = {}) -> Path:
    """A git repo with one commit; `tags`: name -> whether to create it."""
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "f").write_text("x")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    for tag in tags:
        subprocess.run([*git, "tag", tag], check=True)
    return path


def test_missing_tools_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli.main(["firmware", "build", "--tfa", str(tmp_path), "--optee", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("ffaemu: error: missing build tools: aarch64-linux-gnu-gcc "
                          "(apt-get install gcc-aarch64-linux-gnu)")
    assert "dtc (apt-get install device-tree-compiler)" in err


def test_source_checks(tmp_path):
    with pytest.raises(FfaemuError, match="not a git checkout of TF-A"):
        build.check_source(tmp_path, "TF-A", [build.TFA_2_14_6])
    repo = _repo(tmp_path / "tfa")
    with pytest.raises(FfaemuError, match=r"tag lts-v2.14.6 missing \(git -C .* fetch --tags\)"):
        build.check_source(repo, "TF-A", [build.TFA_2_14_6])
    other = _repo(tmp_path / "other", {"lts-v2.14.6": True})
    with pytest.raises(FfaemuError, match="tag lts-v2.14.6 is [0-9a-f]{12}, expected 8fe2e465a435"):
        build.check_source(other, "TF-A", [build.TFA_2_14_6])
    (other / "f").write_text("changed")
    with pytest.raises(FfaemuError, match="has uncommitted changes"):
        build.check_source(other, "TF-A", [build.TFA_2_14_6])


def test_recipe_matches_build_sh():
    """The flags are those of ../shared/real-firmware/build.sh, which built the prebuilt images."""
    candidates = [real_firmware("tfa").parent / "build.sh", PREBUILT / "build.sh"]
    script_path = next((p for p in candidates if p.is_file()), None)
    if script_path is None:
        message = f"build.sh not found in {' or '.join(map(str, candidates))}"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    script = script_path.read_text()
    optee_line = re.search(r"make -C \"\$OPTEE\" -j\"\$\(nproc\)\" (.*?) O=", script, re.S).group(1)
    assert optee_line.replace("\\\n", " ").split() == list(build.OPTEE_FLAGS)
    rows = re.findall(r"^tfa (\S+) (\S+)(.*)$", script, re.M)
    assert {f"{name}.bios" for _, name, _ in rows} == {i.file for i in IMAGES}
    for tag, name, rest in rows:
        image = next(i for i in IMAGES if i.file == f"{name}.bios")
        (tfa_tag, _), optee = image.tfa, image.optee
        assert tfa_tag == tag
        if "with_optee" in rest:
            assert f"optee-{optee[0]}" in rest and image.make_flags == ()
        else:
            assert optee is None and image.make_flags == tuple(rest.split())
    with_optee = re.search(r"echo (SPD=.*?); \}", script, re.S).group(1).replace("\\\n", " ").split()
    ours = build._optee_tfa_flags(Path("/o/core"))
    assert [f.split("=")[0] for f in ours] == [f.split("=")[0] for f in with_optee]


def test_python_without_optee_modules(tmp_path, monkeypatch):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")            # imports nothing
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PYTHON3", raising=False)
    monkeypatch.setattr(build, "SYSTEM_PYTHON3", str(fake))
    with pytest.raises(FfaemuError, match="no python3 with `cryptography` and `elftools`"):
        build.find_python3()


def test_output_directory_not_writable(tmp_path, monkeypatch):
    """Checked before anything is built (the sources' checks are stubbed here)."""
    monkeypatch.setattr(build, "check_source", lambda *a: None)
    target = tmp_path / "file"
    target.write_text("a file, not a directory")
    with pytest.raises(FfaemuError, match="cannot create the output directory"):
        build.build(tmp_path, tmp_path, target / "out", say=lambda s: None)
