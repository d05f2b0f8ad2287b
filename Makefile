# The two commands a new user needs: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-all venv bench regress regress-baseline goldens clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml tools/setup_env.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vbench run --protocol cross_generator --method sta

test: $(STAMP)
	$(VPY) -m pytest -q tests

test-all: $(STAMP)
	$(VPY) -m pytest -q -m "slow or not slow" tests

# The regression gate on the CPU: a smaller set than the GPU workflow (tools/regress.sh).
regress: $(STAMP)
	DEVICE=cpu METHODS="$(or $(METHODS),sta mmvgm_i3d aigvdet)" TRAIN="$(or $(TRAIN),sta)" tools/regress.sh

regress-baseline: $(STAMP)
	DEVICE=cpu METHODS="$(or $(METHODS),sta mmvgm_i3d aigvdet)" TRAIN="$(or $(TRAIN),sta)" tools/regress.sh --write-baseline

# After a deliberate numerical change: rewrite tests/goldens and print what moved.
goldens: $(STAMP)
	$(VPY) tools/update_goldens.py

bench: $(STAMP)
	$(VPY) tools/bench_eval.py --method sta --config mini

clean:
	rm -rf $(VENV) vbench_runs vbench_regress_runs .pytest_cache
