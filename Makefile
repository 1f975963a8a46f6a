# Two entry points on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo demo-core test venv clean blobs bench fuzz check-wheel

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "error: $(PYTHON) has no venv/ensurepip module; on Debian: apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The three seed bugs, each buggy vs fixed, with a trace and a one-line verdict.
demo: $(STAMP)
	$(VENV)/bin/ffaemu scenario run pkvm-version-sext
	$(VENV)/bin/ffaemu scenario run pkvm-builtin-driver
	$(VENV)/bin/ffaemu scenario run xen-per-vm-negotiation

# The core machine on its own: EL3 -> EL2 -> EL1 in assembly, every exception explained.
demo-core: $(STAMP)
	$(VENV)/bin/ffaemu run asm/demo/trapped_smc.S --trace

# bench/speed.py: issue 13's targets as ratios to the binding's floor, the command line vs
# QEMU on real firmware, snapshot/explorer speed-ups vs the baseline commit, the suite's
# wall time (BENCH_SUITE=0 skips it); trap_profile.py, where a trap's microseconds go;
# then bench.py, ffaemu vs QEMU on the same work.
bench: $(STAMP)
	$(PY) bench/speed.py
	$(PY) bench/trap_profile.py
	$(PY) bench/bench.py

test: $(STAMP)
	$(PY) -m pytest -n auto -q

# A long hostile-input campaign over every input class of tests/fuzz/ (CI runs a few
# cases of each); `make fuzz FUZZ_INPUTS=50000 FUZZ_JOBS=4`. Report: fuzz-report.json.
FUZZ_INPUTS ?= 10000
FUZZ_JOBS   ?= 2
fuzz: $(STAMP)
	nice $(PY) tests/fuzz/campaign.py --inputs $(FUZZ_INPUTS) --jobs $(FUZZ_JOBS) --report fuzz-report.json

# Build the sdist and wheel, install them into fresh venvs, run the README's commands there.
check-wheel:
	bash scripts/check_wheel.sh

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Prebuilt EL2 proxies in C (bug 1 with the compiler's own 64-bit compare). Reproducible:
# no build ID, no .comment, source paths mapped; `make blobs BLOB_OUT=dir` builds elsewhere.
CROSS     ?= aarch64-linux-gnu-
BLOB_SRC   = firmware_blobs/src
BLOB_OUT  ?= firmware_blobs
BLOB_FLAGS = -O2 -g -ffreestanding -nostdlib -nostartfiles -static -fno-pic -fno-pie -no-pie \
             -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
             -ffile-prefix-map=$(CURDIR)=. -Wl,--build-id=none -Wl,-T,$(BLOB_SRC)/link.ld
BLOB_DEPS  = $(BLOB_SRC)/start.S $(BLOB_SRC)/proxy.c $(BLOB_SRC)/link.ld

blobs: $(BLOB_OUT)/pkvm_proxy_u64.elf $(BLOB_OUT)/pkvm_proxy_s32.elf

$(BLOB_OUT)/pkvm_proxy_u64.elf: $(BLOB_DEPS)
	$(CROSS)gcc $(BLOB_FLAGS) -DVERSION_CHECK_U64 -o $@ $(BLOB_SRC)/start.S $(BLOB_SRC)/proxy.c

$(BLOB_OUT)/pkvm_proxy_s32.elf: $(BLOB_DEPS)
	$(CROSS)gcc $(BLOB_FLAGS) -o $@ $(BLOB_SRC)/start.S $(BLOB_SRC)/proxy.c
