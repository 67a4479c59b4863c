# The two commands: `make demo` (set up, then run the demo) and `make test`
# (set up, then run every test). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test setup bench clean lab catalogs

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,authoring,hub]"
	touch $@

# the example plugin the tests install (its "scramble" kind must not show in a teacher's
# palette, so `make demo` and `make lab` do not install it)
$(VENV)/.test-plugin: $(VENV)/.installed tests/plugin_example/pyproject.toml
	$(PY) -m pip install --quiet -e tests/plugin_example
	touch $@

# JupyterHub's proxy (configurable-http-proxy), project-local: never a global npm install
node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(VENV)/bin/questengine demo

# JupyterLab on this folder (notebooks/ and quests/), on 127.0.0.1 only; the teacher authors
# with questengine.edit("quests/NAME.yaml") in a notebook (notebooks/author.ipynb shows how)
lab: setup
	$(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 \
		--ServerApp.root_dir="$(CURDIR)" --ServerApp.default_url=/lab/tree/notebooks

test: setup $(VENV)/.test-plugin
	$(PY) -m pytest

# interface text -> questengine/locale/questengine.pot -> each language's .po (then translate
# the new entries; tests/test_i18n.py fails while a Spanish one is missing)
catalogs: setup
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-o questengine/locale/questengine.pot questengine
	$(VENV)/bin/pybabel update -i questengine/locale/questengine.pot -d questengine/locale \
		-D questengine --no-fuzzy-matching --ignore-obsolete
	$(PY) -c "from questengine.i18n import catalog_report; catalog_report()"

bench: setup
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis node_modules
