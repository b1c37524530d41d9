# Two commands matter: `make run` (the whole API locally on the embedded store) and
# `make test` (everything CI checks). Each installs what it needs.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The Python tools the tests use, pinned to major versions known to work offline.
PY_TOOLS := "moto[server]>=5,<6" "cfn-lint>=1,<2"

export IAM_ADDR ?= 127.0.0.1:3000
export IAM_DATA_DIR ?= ./.iam

.PHONY: run test test-rust lint lint-rust lint-infra venv build clean

run:
	cargo run --profile local -p iam-cli --bin iam -- serve

test: lint test-rust

MOTO := MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server IAM_REQUIRE_MOTO=1
# The end-to-end suites, run a second time with every request served by DynamoDB (moto).
E2E := --test accounts --test invitations --test passwords --test account_sessions --test roles --test teams --test account_queries --test account_costs --test organizations --test auth --test http_conventions --test routes --test lambda_events

test-rust: $(VENV)/.installed
	$(MOTO) cargo test --workspace --all-targets
	$(MOTO) IAM_TEST_STORE=dynamodb cargo test -p iam-tests $(E2E)

lint: lint-rust lint-infra

lint-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

lint-infra: $(VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml

venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PY_TOOLS)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV) .iam
