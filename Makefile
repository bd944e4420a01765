# Two commands do all set-up on a fresh machine:
#   make run   - virtualenv, install, build the sample data if missing, serve on $HOST:$PORT
#   make test  - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
SAMPLE  = data/sample/BUILD.json

.PHONY: run test install sample clean
.DEFAULT_GOAL := run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(SAMPLE): $(VENV)/.installed layers/sample/*.py layers/sample/key_regions.csv
	$(PY) -m layers.sample.build --force

sample: $(SAMPLE)

run: sample
	HOST=$(HOST) PORT=$(PORT) $(PY) -m app

test: sample
	$(PY) -m pytest

clean:
	rm -rf $(VENV) data/sample .pytest_cache
