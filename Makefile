# The two commands of the README: `make book` and `make test`. Each one creates .venv
# and installs requirements.txt and normreg (editable) first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# TensorFlow's start-up log lines go to stderr, which strict nbval would compare; oneDNN's
# reordering of float sums makes results differ in the last bits between runs. Silence the
# one and switch off the other for every command below (notebooks set them too).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: all book test notebooks bench clean venv

all: test book

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## make book: the HTML book from the notebooks' stored outputs; any warning fails it.
book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "open _build/html/index.html"

## make test: lint (the notebooks' code within 88 characters, as the book shows it), then unit, property, oracle, doctest and browser tests and nbval over every
## notebook, in one pytest run.
test: $(STAMP)
	$(VENV)/bin/ruff check normreg tests benchmarks
	$(VENV)/bin/ruff check --select E501,E9,F --line-length 88 book/*.ipynb
	$(PY) -m pytest -n 2 --dist loadfile

## make notebooks: re-execute every notebook and store its outputs.
notebooks: $(STAMP)
	$(PY) tests/execute_notebooks.py book

## make bench: the benchmark tables (ratios against references timed in the same run).
bench: $(STAMP)
	$(PY) -m pip install --quiet -r benchmarks/requirements-bench.txt
	$(PY) benchmarks/run_all.py

clean:
	rm -rf _build dist build *.egg-info
