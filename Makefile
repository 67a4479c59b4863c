# The two commands: `make demo` (set up, then run the demo) and `make test`
# (set up, then run every test). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test setup bench clean catalogs

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tests/plugin_example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet -e tests/plugin_example
	touch $@

demo: setup
	$(VENV)/bin/questengine demo

test: setup
	$(PY) -m pytest

# interface text -> questengine/locale/questengine.pot -> each language's .po (then translate
# the new entries; tests/test_i18n.py fails while a Spanish one is missing)
catalogs: setup
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-o questengine/locale/questengine.pot questengine
	$(VENV)/bin/pybabel update -i questengine/locale/questengine.pot -d questengine/locale \
		-D questengine --no-fuzzy-matching --ignore-obsolete

bench: setup
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
