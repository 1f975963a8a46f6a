"""EL3 firmware models, by CLI name (`--el3 NAME[:key=value,...]`)."""
from .. import ModelRegistry

# Classes by "module:name": imported when a model is created (ModelRegistry.factory).
Optee, Tfa = f"{__name__}.optee:Optee", f"{__name__}.tfa:Tfa"
TfaEl3Spmc, TfaSpmd = f"{__name__}.tfa_el3_spmc:TfaEl3Spmc", f"{__name__}.tfa_spmd:TfaSpmd"

FIRMWARE = ModelRegistry("firmware")
FIRMWARE.register("tfa", Tfa, "TF-A lts-v2.14.6 without SPMD: FF-A IDs are unknown SMCs (-1, sign-extended); held to the real image (option smc-unk=sext|zext)")
FIRMWARE.register("tfa-spmd", TfaSpmd, "TF-A lts-v2.14.6 SPMD + Hafnium v2.15.0 SPMC, FF-A 1.3 (option spmc=absent: no SPMC, held to the real image; bug zoo: result-width=zext|sext, version-forward=clean|leaky, req2=gated|legacy, version-store=compatible|any, spmc-version=1.3|1.2|1.1)")
FIRMWARE.register("tfa-el3-spmc", TfaEl3Spmc, "TF-A lts-v2.14.6 with the EL3 SPMC, FF-A 1.2 (bug zoo: desc-version=compatible|exact, direct-src=checked|unchecked, req2=gated|legacy, spmd-src-check=present|absent)")
FIRMWARE.register("optee", Optee, "TF-A lts-v2.14.6 SPMD + OP-TEE 4.10.0, FF-A 1.2 (option release=4.4: TF-A v2.12.0 + OP-TEE 4.4.0, FF-A 1.1); held to the real images")
