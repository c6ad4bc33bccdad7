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

# Tests never reach the network: wandb offline, no downloads; 2 workers on 2 cores, each taking the next test file
# when it is free, in the order of tests/conftest.py (files of heavy tests first). Whole files: a module's fixtures
# are made once. (--dist loadgroup would group finer, but pytest-xdist 3.8 cannot rename pytest 9's node ids.)
test: install
	WANDB_MODE=offline WANDB_SILENT=true $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

bench: install
	$(PY) scripts/bench_overhead.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
