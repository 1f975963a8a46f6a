"""pytest plugin (entry point `pytest11`): installing ffaemu gives tests `ffaemu_run`."""
from __future__ import annotations

import pytest


@pytest.fixture
def ffaemu_run():
    """`ffaemu_run(image, el3=..., el2=..., fw_upper=..., vms=..., vcpus=..., max_insns=...)`
    runs an image and returns an `ffaemu.testing.Outcome` (.exit, .console, .regs,
    .exceptions, .calls: the data of `ffaemu run --json`)."""
    from .testing import run
    return run
