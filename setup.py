"""Packaging step pyproject.toml cannot express: ship asm/ and firmware_blobs/ in the wheel.

They stay at the top of the repository (other work adds files there); build_py copies them
to ffaemu/_data/, where ffaemu.resources.data_dir finds them in an installed package.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("asm", "firmware_blobs")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            src = root / name
            if not src.is_dir():
                raise SystemExit(f"setup.py: {src} is missing; build from a checkout or an sdist")
            dst = Path(self.build_lib) / "ffaemu" / "_data" / name
            shutil.copytree(src, dst, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
