# tableau.tsm developer entry points.
#
#   make test   everything CI runs (.ci/run calls it); sets itself up on a fresh machine
#   make demo   runs tools/demo.sh against an emulated cluster (sets itself up too)
#
# Everything lives inside the repository: .venv/ (toolchain), .tmp/ (collection paths,
# ansible-test copy, build output, stamps). The only things written outside it are the
# offline get-pip shims in ~/.ansible/test/cache/ and ansible-test's venv cache in
# ~/.ansible/test/venv/ (see README "Development").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.NOTPARALLEL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT       := $(CURDIR)
TMP        := $(ROOT)/.tmp
STAMPS     := $(TMP)/stamps

# Toolchain: Python 3.11 + ansible-core 2.19 (the newest core that supports 3.11).
PY311      ?= $(firstword $(wildcard /root/.pyenv/versions/3.11.7/bin/python3) python3)
VENV       := $(ROOT)/.venv
VPY        := $(VENV)/bin/python
TEST_PYTHON := 3.11

# Optional second line: newest ansible-core (2.21) on Python 3.12, sanity + units only.
PY312      ?= $(firstword $(wildcard /root/.pyenv/versions/3.12.1/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
VENV_LATEST := $(ROOT)/.venv-latest
LATEST_PYTHON := 3.12
LATEST     ?= 1

# Collection paths. ansible-playbook / ansible-lint / molecule use a symlink to the
# working tree; ansible-test and antsibull-docs use a copy of the files git would commit.
COLL_ROOT  := $(TMP)/collections
COLL_LINK  := $(COLL_ROOT)/ansible_collections/tableau/tsm
AT_ROOT    := $(TMP)/ansible-test
AT_COLL    := $(AT_ROOT)/ansible_collections/tableau/tsm
DIST       := $(TMP)/dist
INSTALLED  := $(TMP)/installed
GET_PIP_CACHE := $(HOME)/.ansible/test/cache
GET_PIP_SHIMS := $(GET_PIP_CACHE)/get_pip_24_2.py $(GET_PIP_CACHE)/get_pip_25_2.py

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Extra arguments, e.g. make sanity SANITY_ARGS='--test pep8'
PYTEST_ARGS ?=
SANITY_ARGS ?=
UNITS_ARGS ?=
INTEGRATION_ARGS ?= --allow-destructive
MOLECULE_ARGS ?=

# ansible-test ignores ANSIBLE_COLLECTIONS_PATH; unset it so it cannot add a second copy.
ANSIBLE_TEST := env -u ANSIBLE_COLLECTIONS_PATH ansible-test

step = echo "==> [$$(date +%T)] $(1)"
note = echo "NOTE: $(1)"

.PHONY: help setup system-packages test test-emulator sanity units integration molecule \
        lint changelog-lint docs-lint build sanity-latest units-latest test-latest \
        demo demo-clean bench clean distclean sync-copy awx-test docsite reliability

help:
	@echo "make test       run every check CI runs (sets up .venv and system packages first)"
	@echo "make demo       run the demo (tools/demo.sh) against an emulated cluster"
	@echo "make setup      only set up: Debian packages, .venv, get-pip shims, collection paths"
	@echo "single steps:   test-emulator sanity units integration molecule lint changelog-lint"
	@echo "                docs-lint build test-latest bench"
	@echo "make clean      remove .tmp/ and tool debris (keeps .venv); distclean also removes venvs"

# --------------------------------------------------------------------------- setup
setup: system-packages $(STAMPS)/venv $(GET_PIP_SHIMS) $(COLL_LINK)

system-packages:
	@bash tools/ensure-system-packages.sh

$(STAMPS)/venv: requirements-dev.txt $(wildcard tests/emulator/requirements.txt)
	@$(call step,venv $(VENV))
	if [ ! -x "$(VPY)" ]; then
	    rm -rf "$(VENV)"
	    "$(PY311)" -m venv "$(VENV)"
	fi
	"$(VPY)" -c 'import sys; v = sys.version_info[:2]; sys.exit(0) if v == (3, 11) else print("WARNING: .venv uses Python %d.%d, not 3.11; ansible-core pins assume 3.11" % v)'
	"$(VPY)" -m pip install -q -r requirements-dev.txt 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	if [ -f tests/emulator/requirements.txt ]; then "$(VPY)" -m pip install -q -r tests/emulator/requirements.txt 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }; fi
	mkdir -p "$(@D)" && touch "$@"

$(GET_PIP_CACHE)/get_pip_%.py: tools/get_pip_shim.py
	@mkdir -p "$(@D)" && cp "$<" "$@" && echo "installed offline get-pip shim $@"

$(COLL_LINK):
	@mkdir -p "$(@D)" && ln -sfn ../../../.. "$@"

sync-copy: $(STAMPS)/venv
	@"$(VPY)" tools/sync_collection_copy.py "$(ROOT)" "$(AT_COLL)"

# --------------------------------------------------------------------------- test
# Runs the steps in order and stops at the first failure.
test: setup
	@start=$$(date +%s)
	$(MAKE) test-emulator sanity units integration molecule reliability awx-test lint changelog-lint docs-lint build
	if [ "$(LATEST)" = 1 ]; then $(MAKE) test-latest; else $(call note,LATEST=0: skipping ansible-core 2.21 / Python 3.12 checks); fi
	echo "==> make test passed in $$(( $$(date +%s) - start )) s"

test-emulator: setup
	@$(call step,emulator tests)
	if compgen -G 'tests/emulator/tests/test_*.py' >/dev/null; then
	    "$(VPY)" -m pytest tests/emulator/tests $(PYTEST_ARGS)
	else
	    $(call note,no emulator tests in tests/emulator/tests yet: skipped)
	fi

sanity: setup sync-copy
	@$(call step,ansible-test sanity (ansible-core $$("$(VPY)" -c 'import ansible.release as r; print(r.__version__)') / Python $(TEST_PYTHON)))
	cd "$(AT_COLL)" && $(ANSIBLE_TEST) sanity --venv --python $(TEST_PYTHON) $(SANITY_ARGS)

units: setup sync-copy
	@$(call step,ansible-test units)
	if [ -n "$$(find tests/unit -name 'test_*.py' 2>/dev/null | head -1)" ]; then
	    cd "$(AT_COLL)" && $(ANSIBLE_TEST) units --venv --python $(TEST_PYTHON) $(UNITS_ARGS)
	else
	    $(call note,no unit tests in tests/unit yet: skipped)
	fi

integration: setup sync-copy
	@$(call step,ansible-test integration)
	if compgen -G 'tests/integration/targets/*/tasks/main.yml' >/dev/null \
	   || compgen -G 'tests/integration/targets/*/runme.sh' >/dev/null; then
	    cd "$(AT_COLL)" && $(ANSIBLE_TEST) integration --venv --python $(TEST_PYTHON) $(INTEGRATION_ARGS)
	else
	    $(call note,no integration targets in tests/integration/targets yet: skipped)
	fi

molecule: setup
	@$(call step,molecule)
	if compgen -G 'extensions/molecule/*/molecule.yml' >/dev/null; then
	    # molecule (ansible-compat) installs a built copy of the collection itself; keep it
	    # away from .tmp/collections, whose tableau/tsm is a symlink to this working tree.
	    env -u ANSIBLE_COLLECTIONS_PATH molecule test --all $(MOLECULE_ARGS)
	else
	    $(call note,no molecule scenarios in extensions/molecule yet: skipped)
	fi

reliability: setup
	@$(call step,reliability suite: bad input matrix, faults, secrets)
	"$(VPY)" -m pytest tests/reliability -p no:cacheprovider $(PYTEST_ARGS)

awx-test: setup
	@$(call step,AWX job path through ansible-runner (tests/awx))
	"$(VPY)" -m pytest tests/awx $(PYTEST_ARGS)

docsite: setup
	@$(call step,docsite (antsibull-docs + Sphinx, offline))
	bash tools/build-docsite.sh

lint: setup
	@$(call step,ansible-lint (production profile, offline))
	ansible-lint

changelog-lint: setup
	@$(call step,antsibull-changelog lint)
	antsibull-changelog lint

docs-lint: setup sync-copy
	@$(call step,antsibull-docs lint-collection-docs --plugin-docs)
	cd "$(AT_COLL)" && ANSIBLE_COLLECTIONS_PATH="$(AT_ROOT)" \
	    antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .

build: setup
	@$(call step,galaxy build + install + ansible-doc from the artifact)
	rm -rf "$(DIST)" "$(INSTALLED)" && mkdir -p "$(DIST)"
	ansible-galaxy collection build --force --output-path "$(DIST)" .
	artifact=$$(ls "$(DIST)"/tableau-tsm-*.tar.gz)
	if ! ansible-galaxy collection install --force -p "$(INSTALLED)" "$$artifact" >"$(DIST)/install.log" 2>&1; then
	    cat "$(DIST)/install.log"; exit 1
	fi
	grep -v "is not part of the configured Ansible collections paths" "$(DIST)/install.log" || true
	test -f "$(INSTALLED)/ansible_collections/tableau/tsm/MANIFEST.json"
	"$(VPY)" tools/artifact_check.py "$$artifact" "$(INSTALLED)"

# ------------------------------------------------- newest ansible-core on Python 3.12
$(STAMPS)/venv-latest: requirements-latest.txt
	@$(call step,venv $(VENV_LATEST))
	if [ ! -x "$(VENV_LATEST)/bin/python" ]; then
	    rm -rf "$(VENV_LATEST)"
	    "$(PY312)" -m venv "$(VENV_LATEST)"
	fi
	"$(VENV_LATEST)/bin/python" -m pip install -q -r requirements-latest.txt 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	mkdir -p "$(@D)" && touch "$@"

test-latest: sanity-latest units-latest

sanity-latest: setup sync-copy
	@if [ -z "$(PY312)" ]; then $(call note,no Python 3.12 on this machine: ansible-core 2.21 sanity skipped); exit 0; fi
	$(MAKE) "$(STAMPS)/venv-latest"
	$(call step,ansible-test sanity (ansible-core 2.21 / Python $(LATEST_PYTHON)))
	cd "$(AT_COLL)" && PATH="$(VENV_LATEST)/bin:$$PATH" $(ANSIBLE_TEST) sanity --venv --python $(LATEST_PYTHON) $(SANITY_ARGS)

units-latest: setup sync-copy
	@if [ -z "$(PY312)" ]; then $(call note,no Python 3.12 on this machine: ansible-core 2.21 units skipped); exit 0; fi
	if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null | head -1)" ]; then $(call note,no unit tests yet: 2.21 units skipped); exit 0; fi
	$(MAKE) "$(STAMPS)/venv-latest"
	$(call step,ansible-test units (ansible-core 2.21 / Python $(LATEST_PYTHON)))
	cd "$(AT_COLL)" && PATH="$(VENV_LATEST)/bin:$$PATH" $(ANSIBLE_TEST) units --venv --python $(LATEST_PYTHON) $(UNITS_ARGS)

# --------------------------------------------------------------------------- demo, bench
demo: setup
	@for s in tools/demo.sh scripts/demo.sh; do
	    if [ -f "$$s" ]; then exec bash "$$s"; fi
	done
	$(call note,no tools/demo.sh yet: nothing to demo)

demo-clean:
	@if [ -d .tmp/demo/cluster ]; then "$(VPY)" tests/emulator/tsm-emulator destroy .tmp/demo/cluster || true; fi
	rm -rf .tmp/demo

bench: setup
	@$(call step,benchmarks)
	if [ -f bench/run.sh ]; then bash bench/run.sh
	elif [ -f bench/run.py ]; then "$(VPY)" bench/run.py
	else $(call note,no bench/run.sh or bench/run.py yet: skipped)
	fi

# --------------------------------------------------------------------------- clean
clean:
	rm -rf "$(TMP)" tests/output collections .ansible .pytest_cache .benchmarks changelogs/.plugin-cache.yaml \
	    tests/integration/inventory ./*.tar.gz
	find . -path ./.venv -prune -o -path ./.venv-latest -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf "$(VENV)" "$(VENV_LATEST)"
