# Two commands matter: `make run` (the whole API locally on the embedded store) and
# `make test` (everything CI checks). Each installs what it needs.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The Python tools the tests use, pinned to major versions known to work offline.
PY_TOOLS := "moto[server]>=5,<6" "cfn-lint>=1,<2" "aws-sam-cli>=1.150,<2"
# What `make build` needs besides Rust: cargo-lambda, and zig as its cross-linker.
BUILD_TOOLS := "cargo-lambda>=1.9,<2" "ziglang>=0.13,<0.14"
SAM := SAM_CLI_TELEMETRY=0 $(CURDIR)/$(VENV)/bin/sam
CARGO_LAMBDA := PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda

# Every function crate: each becomes target/lambda/iam-<name>/bootstrap (the template's CodeUri).
FUNCTIONS := accounts organizations passwords roles sessions teams cleanup
# Lambda builds leave the embedded store (SQLite) out: the cloud uses DynamoDB.
LAMBDA_BUILD := --release --no-default-features $(addprefix -p iam-,$(FUNCTIONS))

STAGE ?= prod
STACK ?= iam-$(STAGE)

export IAM_ADDR ?= 127.0.0.1:3000
export IAM_DATA_DIR ?= ./.iam

.PHONY: run test test-rust lint lint-rust lint-infra venv build build-tools deploy bench-coldstart clean

run:
	cargo run --profile local -p iam-cli --bin iam -- serve

test: lint test-rust

MOTO := MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server IAM_REQUIRE_MOTO=1
# The end-to-end suites, run a second time with every request served by DynamoDB (moto).
E2E := --test accounts --test invitations --test passwords --test account_sessions --test roles --test teams --test account_queries --test account_costs --test organizations --test auth --test http_conventions --test routes --test lambda_events --test lambda_fixtures --test races --test malformed_keys --test token_lifecycles

test-rust: $(VENV)/.installed
	$(MOTO) cargo test --workspace --all-targets
	$(MOTO) IAM_TEST_STORE=dynamodb cargo test -p iam-tests $(E2E)

lint: lint-rust lint-infra

lint-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

lint-infra: $(VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(SAM) validate --lint --template infra/template.yaml --region us-east-1

# Every function for Lambda: provided.al2023 on arm64 (Graviton), cross-linked by zig.
build: build-tools
	$(CARGO_LAMBDA) build --arm64 $(LAMBDA_BUILD)
	@ls -l target/lambda/*/bootstrap

build-tools: $(VENV)/.build-tools

$(VENV)/.build-tools: $(VENV)/.installed
	$(PY) -m pip install --quiet $(BUILD_TOOLS)
	rustup target add aarch64-unknown-linux-gnu
	touch $@

# The first deployment of a stage is guided (it asks for the parameters and saves them in
# infra/samconfig.toml under the stage's name); later ones reuse the saved answers.
deploy: build
	cd infra && if grep -qs '^\[$(STAGE)\.deploy' samconfig.toml; then \
		$(SAM) deploy --config-env $(STAGE); \
	else \
		$(SAM) deploy --guided --config-env $(STAGE) --stack-name $(STACK) --capabilities CAPABILITY_IAM \
			--parameter-overrides Stage=$(STAGE) SigningKeyParameter=/iam/$(STAGE)/signing-key; \
	fi

# Cold start of every function (and of a lambda_http hello-world built the same way) through a
# local Lambda Runtime API; writes bench/RESULTS.md. Sizes are of the arm64 build.
# The functions run here (x86_64); their arm64 twins are what is deployed and what is weighed.
bench-coldstart: build
	$(CARGO_LAMBDA) build --arm64 --release -p iam-bench-hello --lambda-dir target/bench/arm64
	$(CARGO_LAMBDA) build --x86-64 $(LAMBDA_BUILD) -p iam-bench-hello --lambda-dir target/bench/x86_64
	cargo build --profile local -p iam-bench --bin coldstart
	$(MOTO) target/local/coldstart --run-dir target/bench/x86_64 --size-dir target/lambda \
		--hello-size-dir target/bench/arm64 --out bench/RESULTS.md

venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PY_TOOLS)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV) .iam
