# Two commands set everything up on a fresh machine (Python 3.11, pip, venv):
#   make lab    create .venv if missing, install the pinned packages, open JupyterLab
#   make test   the same set-up, then every test layer (unit, widgets, notebooks, browser)
# Re-running either when requirements.txt and pyproject.toml are unchanged installs nothing.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.course-installed
DEV_STAMP := $(VENV)/.course-dev-installed
# configurable-http-proxy (npm) for the multi-user run on a real JupyterHub (make hub-load, make test)
HUB_PROXY := .hub/node_modules/.bin/configurable-http-proxy
HUB_STUDENTS ?= 8
# axe-core (npm) for the accessibility audits of the browser tests (make test)
AXE_JS := .axe/node_modules/axe-core/axe.min.js
# The static site: make site MAX_FRAMES=250 SITE_JOBS=2 (frames per interactive figure, notebooks at once)
MAX_FRAMES ?= 250
SITE_JOBS ?= 2
# JupyterLab's settings overrides (no news prompt): the same file Binder's postBuild installs.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
# JupyterLab options: make lab IP=0.0.0.0 PORT=8890 NO_BROWSER=1 (or LAB_ARGS="...")
IP      ?= 127.0.0.1
PORT    ?= 8888
NO_BROWSER ?=
LAB_ARGS ?=
# Jupyter refuses to start as root unless told; containers and Binder-like machines run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The instructor's deck (tools/deck.py): make demo DEMO_PORT=8866 DEMO_NOTEBOOKS=00,04 DEMO_THEME=dark
# DEMO_ARGS="--classroom --token SECRET" serves the classroom network (students' machines) too.
DEMO_PORT ?= 8866
DEMO_NOTEBOOKS ?=
DEMO_THEME ?= light
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup dev-setup axe hub-proxy hub-load class-link lab test test-fast demo demo-notebooks deck bench site pdf badges binder-check lowest-check chromium clean help

help:
	@echo "make lab    - set up .venv and open the course in JupyterLab"
	@echo "make test   - set up .venv and run every test layer"
	@echo "make demo   - the instructor's deck: one slide per live demo, pre-run, on 127.0.0.1:$(DEMO_PORT)"
	@echo "make demo-notebooks - every whole notebook in Voila, code hidden"
	@echo "make bench  - benchmarks, recorded in bench/README.md"
	@echo "make site   - the explorable static site in _site/ (figures move without a kernel)"
	@echo "make pdf    - the whole course as one PDF, _pdf/ntk-course.pdf (builds the site first)"
	@echo "make badges - write every Binder/Colab/Voila link from [tool.course] in pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml binder/jupyterlab-overrides.json | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	mkdir -p $(dir $(LAB_OVERRIDES))
	cp binder/jupyterlab-overrides.json $(LAB_OVERRIDES)
	touch $@

# The course's runtime (what a student needs): requirements.txt and course_utils.
setup: $(STAMP)

# Plus the tools of the tests, the site and the benchmarks (requirements-dev.txt).
$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

dev-setup: $(DEV_STAMP)

$(HUB_PROXY):
	npm install --prefix .hub --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0

hub-proxy: $(HUB_PROXY)

$(AXE_JS):
	npm install --prefix .axe --no-audit --no-fund --loglevel=error axe-core@4.14.1

axe: $(AXE_JS)

# The nbgitpuller link a class follows: make class-link HUB=https://hub.example.edu REPO=https://...
class-link:
	@$(PYTHON) tools/class_link.py --hub "$(HUB)" --repo "$(REPO)" $(if $(BRANCH),--branch "$(BRANCH)",)

# A real JupyterHub on 127.0.0.1 with HUB_STUDENTS simulated students, each running notebook 00
# and notebook 06 through the hub's REST API and kernels (see tools/hub_load.py).
hub-load: dev-setup $(HUB_PROXY)
	$(BIN)/python tools/hub_load.py --students $(HUB_STUDENTS) --out bench/hub_load.json

lab: setup
	$(BIN)/jupyter lab --ip=$(IP) --port=$(PORT) $(if $(NO_BROWSER),--no-browser,) $(ALLOW_ROOT) \
		--ServerApp.root_dir=$(CURDIR) $(LAB_ARGS) notebooks/00_start_here.ipynb

# Debian's Chromium for the browser tests: installed only under CI (root, apt available).
# Elsewhere the browser tests skip with a message when /usr/bin/chromium is missing.
chromium:
	@if [ "$$CI" = "true" ] && ! command -v chromium >/dev/null 2>&1; then \
		echo "CI: installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

test: dev-setup chromium $(HUB_PROXY) $(AXE_JS)
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --durations=25 $(PYTEST_ARGS)

# Unit and widget tests only (no notebooks, no browser): a quick loop while editing.
test-fast: dev-setup
	$(BIN)/python -m pytest tests -m "not browser and not slow" $(PYTEST_ARGS)

demo: setup
	$(BIN)/python tools/deck.py serve --port $(DEMO_PORT) --theme $(DEMO_THEME) \
		$(if $(DEMO_NOTEBOOKS),--notebooks $(DEMO_NOTEBOOKS),) $(DEMO_ARGS)

# Write the decks into _deck/ without serving them (to look at or to copy).
deck: setup
	$(BIN)/python tools/deck.py build $(if $(DEMO_NOTEBOOKS),--notebooks $(DEMO_NOTEBOOKS),)

demo-notebooks: setup
	bash tools/demo.sh $(DEMO_PORT)

bench: dev-setup
	$(BIN)/python bench/run_all.py

site: dev-setup
	$(BIN)/python tools/badges.py --check
	$(BIN)/python tools/build_site.py --max-frames $(MAX_FRAMES) --jobs $(SITE_JOBS)

pdf: site chromium
	$(BIN)/python tools/build_pdf.py --site _site --out _pdf/ntk-course.pdf

badges: setup
	$(BIN)/python tools/badges.py

binder-check:
	bash tools/binder_check.sh

# Every dependency at the lowest version pyproject.toml allows (as on Colab or Kaggle), course_utils
# installed as the notebooks' install cell does, notebooks 00 and 03 executed in it (.lowest-venv/).
lowest-check:
	$(PYTHON) tools/lowest_venv.py

clean:
	rm -rf _site _pdf _deck screenshots .pytest_cache
