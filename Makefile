# Run inside the project's virtual environment (see README).
SHELL := /bin/bash
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export MPLBACKEND ?= Agg

.PHONY: test sync nbtest pytest demo export outputs clean-nbs

test: sync nbtest pytest

sync:
	bash tools/check_sync.sh

# Tests run with one BLAS/OpenMP thread per process: nbdev_test runs two notebooks at once on two cores, and
# oversubscribed threads made a tiny GRPO step 20x slower.
nbtest:
	OMP_NUM_THREADS=1 nbdev_test --n_workers 2

# pytest exits 5 when it collects no test: that means the suite went missing, which is a failure, said plainly.
pytest:
	@OMP_NUM_THREADS=1 pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; exit 1; fi; exit $$rc

demo:
	grpo-nb pipeline --recipe demo

export:
	nbdev_export && nbdev_clean

# Store the notebooks' outputs (machine- and moment-independent ones only), as fastcore's notebooks are stored.
outputs:
	python tools/store_outputs.py && nbdev_clean
