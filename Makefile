# Two entry points on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "error: $(PYTHON) has no venv/ensurepip module; on Debian: apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@echo "== All-assembly EL3 -> EL2 -> EL1 boot; an SMC trapped by HCR_EL2.TSC and forwarded to EL3"
	$(VENV)/bin/ffaemu run asm/demo/trapped_smc.S --trace
	@echo
	@echo "== An EL1 guest booted by real EL3/EL2 stubs; a Python TF-A firmware model answers at EL3"
	$(VENV)/bin/ffaemu run asm/el1/psci_off.S --el3 tfa --trace

test: $(STAMP)
	$(PY) -m pytest -n auto -q

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
