# registryops.harbor_ha: the two commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

VENV        ?= .venv
BIN         := $(CURDIR)/$(VENV)/bin
COLL_ROOT   := $(CURDIR)/build/collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/registryops/harbor_ha
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT):$(CURDIR)/$(VENV)/lib/python3.11/site-packages
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help bootstrap collection-link lint yamllint ansible-lint specs-check sanity unit functional example-inventory \
        molecule test lab lab-down build-installer-check bench bench-site clean

help:
	@echo "make lab        bring up the local multi-host lab and run playbooks/site.yml against it"
	@echo "make lab-down   remove the lab"
	@echo "make test       every test (lint, sanity, unit, functional, molecule)"
	@echo "make bench      benchmark figures (login_matrix timing)"
	@echo "make bench-site site.yml figures for 1, 3 and 5 Harbor nodes on the bench lab (BENCH_ARGS=--keep, --sizes 3)"

bootstrap:
	hack/bootstrap.sh

# The collection must be importable as ansible_collections.registryops.harbor_ha: link the repo there.
collection-link:
	mkdir -p $(COLL_ROOT)/ansible_collections/registryops
	ln -sfn $(CURDIR) $(COLL_LINK)

yamllint: bootstrap
	$(BIN)/yamllint --strict .

ansible-lint: bootstrap collection-link
	$(BIN)/ansible-lint --offline

specs-check: bootstrap
	$(BIN)/python hack/check_argument_specs.py
	$(BIN)/python hack/role_readme.py --check
	$(BIN)/python hack/check_awx_config.py

lint: yamllint ansible-lint specs-check

sanity: bootstrap
	hack/sanity.sh

unit: bootstrap collection-link
	PYTHONPATH=$(COLL_ROOT) $(BIN)/python -m pytest -q tests/unit

functional: bootstrap collection-link
	$(BIN)/python -m pytest -q tests/functional

# The README's quick start on a copy of inventories/example (no nodes needed), and the lab inventories'
# shape against it.
example-inventory: bootstrap collection-link
	hack/example_inventory.sh

build-installer-check: bootstrap
	hack/build_and_doc.sh

molecule: bootstrap collection-link
	hack/molecule.sh test

# The static stages and the molecule labs run side by side (hack/test.sh says how and why).
test: bootstrap collection-link
	hack/test.sh

lab: bootstrap collection-link
	hack/lab.sh up

lab-down: bootstrap collection-link
	hack/lab.sh down

bench: bootstrap collection-link
	PYTHONPATH=$(COLL_ROOT) $(BIN)/python tests/bench/login_matrix_bench.py

# site.yml figures for 1, 3 and 5 Harbor nodes on the bench lab (molecule scenario bench, created and prepared when
# not running, destroyed at the end): per size, fresh nodes, a first converge, a no-op re-run (its changed count) and a
# re-run with one setting changed (rolling restart; ok/failed pulls through the LB), each whole and the Harbor plays;
# then no-op(5)/no-op(3) and first(5)/first(1). BENCH_ARGS="--sizes 3 --keep": fewer sizes, leave the lab up.
bench-site: bootstrap collection-link
	hack/lab-images.sh
	$(BIN)/python tests/bench/site_bench.py $(BENCH_ARGS)

clean:
	rm -rf build tests/output .pytest_cache
