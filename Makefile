# The two commands of the README:
#   make start   set up .venv (first time only) and start rigready; with no display it prints the
#                terminal report instead and says so
#   make test    set up .venv and .venv-core (first time only), then lint, type-check, check the
#                import layers, run every test (GUI tests offscreen, plus a smoke test of the
#                whole window on a real X server, Xvfb, installed when missing and run as root),
#                and run the core tests again in .venv-core, which has no PySide6 or pyqtgraph
# Re-running either is cheap: a venv is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
CORE_VENV := .venv-core
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

.PHONY: start test lint gui-tests core-tests bundle bundle-smoke clean-venvs catalog-pack

start: $(VENV)/.app-installed
	$(VENV)/bin/rigready

test: lint gui-tests core-tests

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python packaging/pkgroot.py >/dev/null
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The GUI tests run offscreen, except tests/gui/test_xvfb_smoke.py, which starts its own Xvfb:
# gui_test_deps.sh installs Xvfb and Qt's X11 libraries first when run as root on Debian (CI).
gui-tests: $(VENV)/.test-installed
	packaging/gui_test_deps.sh $(VENV)/bin/python
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q

# The core packages must work on a headless server without Qt: same tests minus tests/gui, in a
# venv whose dependencies are pyproject's minus PySide6 and pyqtgraph.
core-tests: $(CORE_VENV)/.installed
	$(CORE_VENV)/bin/python -m pytest -q tests --ignore=tests/gui

$(VENV)/.app-installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.app-installed
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[test]'
	touch $@

$(CORE_VENV)/.installed: pyproject.toml
	test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install $(PIP_FLAGS) pytest hypothesis 'setuptools>=77' \
	    $$($(PYTHON) packaging/core_requirements.py)
	$(CORE_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-deps -e .
	touch $@

# The one-folder desktop bundle (PyInstaller, own build venv .venv-build): dist/rigready and a
# tarball; bundle-smoke runs the built bundle as a user would (docs/packaging.md).
bundle:
	packaging/build.sh --tarball

bundle-smoke: bundle
	packaging/smoke.sh

# A catalog data pack (catalog/data as a checksummed .tar.gz) for 'rigready catalog update';
# the pack's version and date are the data's newest [meta] updated unless VERSION/DATE are given.
catalog-pack: $(VENV)/.app-installed
	$(VENV)/bin/python packaging/build_catalog_pack.py dist/rigready-catalog.tar.gz \
	    $(if $(VERSION),--version $(VERSION)) $(if $(DATE),--date $(DATE))

clean-venvs:
	rm -rf $(VENV) $(CORE_VENV)
