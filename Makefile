# Two commands a new user needs (see README): `make synth STACK=...` and `make test`.
# Everything installs into ./.venv and ./node_modules from pinned files.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= Serverless
CONTEXT ?=
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,22
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup synth synth-all test snapshots lint typecheck budget bench consumer clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt tests/requirements-botocore.txt bench/requirements-boto3.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[cdk,pulumi,dev]'
	$(PY) -m pip install -q --no-deps -r tests/requirements-botocore.txt -r bench/requirements-boto3.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Offline synth of one example stack with the pinned CDK CLI: make synth STACK=Paas CONTEXT="-c instanceClass=db.m5.large"
synth: setup
	cdk synth $(STACK) $(CONTEXT) --quiet
	@echo "template: cdk.out/$(STACK).template.json"

synth-all: setup
	cdk synth $(CONTEXT) --quiet

## The whole test suite (what CI runs). Installs PostgreSQL and MariaDB first when absent.
test: setup
	scripts/test_databases.sh
	$(PY) -m pytest -q

## Rewrite the syrupy snapshots and budget summaries on purpose, then review the diff.
snapshots: setup
	$(PY) -m pytest -q --snapshot-update tests

lint: setup
	$(PY) -m ruff check constructs stacks tests bench

typecheck: setup
	$(PY) -m mypy

budget: setup
	$(VENV)/bin/deploy-paradigms budget --engine postgres --instance-class db.m5.large

## Benchmarks (BENCHMARKS.md): connection budget under load (real PostgreSQL + PgBouncer, ~1.5 min),
## then synth/test/package timings (~2 min), cold start (~1 min), database faults (~30 s), the change
## stream (~30 s), edge cache, then the README and BENCHMARKS.md tables from bench/results/.
bench: setup
	$(PY) -m bench connections
	$(PY) -m bench devloop
	-$(PY) -m bench coldstart  # exit 1 = a target missed (the table says which); the tables still render
	-$(PY) -m bench faults
	$(PY) -m bench changes
	$(PY) -m bench cache
	$(PY) -m bench readme

## Build the wheel, install it into a fresh venv outside the repo, synthesize examples/consumer (about 1.5 min).
consumer: setup
	scripts/consumer_check.sh

clean:
	rm -rf cdk.out .pytest_cache build dist
