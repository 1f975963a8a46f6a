"""Every runtime dependency of ffaemu has a wheel for each platform we promise (no source
builds): `pip download --only-binary=:all:` per platform, with pyproject.toml's environment
markers evaluated for that platform (pip evaluates them for the running machine only).

Usage: python scripts/check_platform_wheels.py [DEST]   (Python >= 3.11, network access to PyPI)
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# name: (pip --platform tags, environment for the markers)
PLATFORMS = {
    "manylinux x86_64": (["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                          "manylinux1_x86_64"], {"sys_platform": "linux", "platform_machine": "x86_64"}),
    "manylinux aarch64": (["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
                          {"sys_platform": "linux", "platform_machine": "aarch64"}),
    "macOS arm64": (["macosx_14_0_arm64"], {"sys_platform": "darwin", "platform_machine": "arm64"}),
    "macOS x86_64": (["macosx_14_0_x86_64"], {"sys_platform": "darwin", "platform_machine": "x86_64"}),
}


def main() -> int:
    deps = [Requirement(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="ffaemu-wheels-"))
    failed = []
    for name, (tags, env) in PLATFORMS.items():
        wanted = [f"{d.name}{d.specifier}" for d in deps if d.marker is None or d.marker.evaluate(env)]
        skipped = [d.name for d in deps if d.marker is not None and not d.marker.evaluate(env)]
        out = dest / name.replace(" ", "-")
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version",
               "3.11", "--implementation", "cp", "-d", str(out)]
        for tag in tags:
            cmd += ["--platform", tag]
        r = subprocess.run(cmd + wanted, capture_output=True, text=True)
        files = sorted(p.name for p in out.glob("*.whl")) if out.is_dir() else []
        print(f"{name}: {'ok' if r.returncode == 0 else 'FAILED'}"
              f"{f' (not a dependency here: {skipped})' if skipped else ''}")
        for f in files:
            print(f"  {f}")
        if r.returncode:
            failed.append(name)
            print("  " + (r.stderr.strip().splitlines() or ["?"])[-1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
