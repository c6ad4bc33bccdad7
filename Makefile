# The README's commands. `make install` is idempotent: it reinstalls only when pyproject.toml changed.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/gan-runner $(ARGS)

# Tests never reach the network: wandb offline, no downloads; 2 workers on 2 cores.
test: install
	WANDB_MODE=offline WANDB_SILENT=true $(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: install
	$(PY) scripts/bench_overhead.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
