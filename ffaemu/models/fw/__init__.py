"""EL3 firmware models."""
from .. import ModelRegistry
from .psci import PsciFirmware

FIRMWARE = ModelRegistry("firmware")
FIRMWARE.register("psci", PsciFirmware, "PSCI only (VERSION, SYSTEM_OFF); other SMCs: -1 sign-extended")
