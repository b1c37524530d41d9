# Two commands matter: `make run` (the whole API locally on the embedded store) and
# `make test` (everything CI checks). Each installs what it needs.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The Python tools the tests use, pinned to major versions known to work offline; schemathesis
# exactly, so that a new release's checks cannot turn a build red without a change of ours.
PY_TOOLS := "moto[server]>=5,<6" "cfn-lint>=1,<2" "aws-sam-cli>=1.150,<2" "schemathesis==4.32.5" "openapi-spec-validator>=0.9,<1" "openapi-python-client>=0.29,<0.30" "authlib>=1.3,<2" "requests>=2.31,<3"
# The load generator of `make bench-load`.
OHA_VERSION := 1.16.0
# What `make build` needs besides Rust: cargo-lambda, and zig as its cross-linker.
BUILD_TOOLS := "cargo-lambda>=1.9,<2" "ziglang>=0.13,<0.14"
SAM := SAM_CLI_TELEMETRY=0 $(CURDIR)/$(VENV)/bin/sam
CARGO_LAMBDA := PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda

# Every function crate: each becomes target/lambda/iam-<name>/bootstrap (the template's CodeUri).
FUNCTIONS := accounts organizations passwords people roles sessions teams cleanup mailer
# Lambda builds leave the embedded store (SQLite) out: the cloud uses DynamoDB.
LAMBDA_BUILD := --release --no-default-features $(addprefix -p iam-,$(FUNCTIONS))

STAGE ?= prod
STACK ?= iam-$(STAGE)

export IAM_ADDR ?= 127.0.0.1:3000
export IAM_DATA_DIR ?= ./.iam

# The committed contract: docs/openapi.json and the reference rendered from it (a test keeps
# both equal to what the code generates).
docs:
	mkdir -p docs
	cargo run --quiet -p iam-cli --bin iam -- openapi > docs/openapi.json
	cargo run --quiet -p iam-cli --bin iam -- openapi --markdown > docs/API-REFERENCE.md

.PHONY: docs run admin-password test test-rust lint lint-rust lint-infra venv build build-tools deploy bench-coldstart bench-listings bench-hashing bench-durability bench-load clean

run:
	@echo "Building and starting the API (optimised; about 3 minutes the first time, seconds after)..."
	cargo run --profile local -p iam-cli --bin iam -- serve

# A new password for an account of the local store (a lost generated admin password): printed
# once, every session ended, nothing else changed.
admin-password:
	@test -n "$(EMAIL)" || { echo "usage: make admin-password EMAIL=admin@iam.local"; exit 2; }
	cargo run --profile local -p iam-cli --bin iam -- admin reset-password "$(EMAIL)"

test: lint test-rust

# The test tools from the venv: moto (DynamoDB, SES), schemathesis, openapi-spec-validator and
# openapi-python-client; the venv's Python runs the client scripts (authlib, the generated client).
MOTO := MOTO_SERVER=$(CURDIR)/$(VENV)/bin/moto_server IAM_REQUIRE_MOTO=1 \
	SCHEMATHESIS=$(CURDIR)/$(VENV)/bin/schemathesis OPENAPI_SPEC_VALIDATOR=$(CURDIR)/$(VENV)/bin/openapi-spec-validator \
	OPENAPI_PYTHON_CLIENT=$(CURDIR)/$(VENV)/bin/openapi-python-client TEST_PYTHON=$(CURDIR)/$(PY) \
	IAM_REQUIRE_TOOLS=1
# The end-to-end suites, run a second time with every request served by DynamoDB (moto), in two
# lanes at once, each test process with its own moto: a moto server computes on one core (it is
# Python), and account_costs (large seeds, index reads counted at depth) takes as long as all the
# others together, so one lane left a core idle for ten minutes.
E2E_SLOW := --test account_costs
E2E := --test accounts --test mfa --test invitations --test passwords --test account_sessions --test roles --test teams --test people --test relationship_costs --test account_queries --test organizations --test auth --test http_conventions --test routes --test lambda_events --test lambda_fixtures --test races --test malformed_keys --test token_lifecycles --test search --test addresses --test outbox --test store_pressure --test request_properties

test-rust: $(VENV)/.installed
	$(MOTO) cargo test --workspace --all-targets
	$(MOTO) IAM_TEST_STORE=dynamodb cargo test -p iam-tests --no-run $(E2E_SLOW) $(E2E)
	$(MOTO) IAM_TEST_STORE=dynamodb cargo test -p iam-tests $(E2E_SLOW) > target/e2e-slow-lane.log 2>&1 & slow=$$!; \
	$(MOTO) IAM_TEST_STORE=dynamodb cargo test -p iam-tests $(E2E); rest=$$?; \
	wait $$slow; slow_rc=$$?; echo "--- the other lane: $(E2E_SLOW) ---"; cat target/e2e-slow-lane.log; \
	exit $$(( rest || slow_rc ))

lint: lint-rust lint-infra

lint-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

lint-infra: $(VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(SAM) validate --lint --template infra/template.yaml --region us-east-1

# The mail templates shipped with the mailer (its IAM_MAIL_TEMPLATES): ours by default, or an
# operator's folder (`make build MAIL_TEMPLATES=path`; see README, Email).
MAIL_TEMPLATES ?= shared/templates/mail

# Every function for Lambda: provided.al2023 on arm64 (Graviton), cross-linked by zig.
build: build-tools
	$(CARGO_LAMBDA) build --arm64 $(LAMBDA_BUILD)
	rm -rf target/lambda/iam-mailer/templates && cp -R $(MAIL_TEMPLATES) target/lambda/iam-mailer/templates
	@ls -l target/lambda/*/bootstrap

build-tools: $(VENV)/.build-tools

$(VENV)/.build-tools: $(VENV)/.installed
	@echo "Installing cargo-lambda and zig (the cross-linker) into $(VENV), once (a minute or two)..."
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
			--parameter-overrides Stage=$(STAGE) SigningKeyParameter=/iam/$(STAGE)/signing-key \
			VerificationKeysParameter=/iam/$(STAGE)/verification-keys OutboxKeyParameter=/iam/$(STAGE)/outbox-key; \
	fi

# Password hashing: RustCrypto's argon2 against argon2-rust at the production cost.
bench-hashing:
	cargo run --release -p iam-bench --bin hashing > bench/HASHING.md.tmp
	mv bench/HASHING.md.tmp bench/HASHING.md

# Requests per second, latency and server CPU of `iam serve` (login, refresh, GET /accounts/me)
# against a hyper hello-world and the raw argon2id rate, server and load on separate cores. The
# load generator, oha, is built once into target/tools.
OHA := target/tools/bin/oha
$(OHA):
	cargo install oha --locked --version "$(OHA_VERSION)" --root target/tools
bench-load: $(OHA)
	cargo build --profile local -p iam-cli --bin iam -p iam-bench --bin load --bin hello-http
	target/local/load --iam target/local/iam --hello target/local/hello-http --oha $(OHA) > bench/LOAD.md.tmp
	mv bench/LOAD.md.tmp bench/LOAD.md

# Commit latency and throughput of the embedded store, synchronous=FULL against NORMAL.
bench-durability:
	cargo run --release -p iam-bench --bin durability > bench/DURABILITY.md.tmp
	mv bench/DURABILITY.md.tmp bench/DURABILITY.md

# What an admin console's listings cost at 100,000 and 1,000,000 accounts (embedded store).
bench-listings:
	cargo build --profile local -p iam-bench-listings --bin listings
	{ printf '# Listing costs at scale: results\n\nGenerated by `make bench-listings` (method: `bench/listings/src/main.rs`).\n\n'; \
	  printf -- '- when: %s\n- machine: %s (%s cores), %s\n\n' "$$(date -u '+%Y-%m-%d %H:%M UTC')" "$$(uname -m)" "$$(nproc)" \
	    "$$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"; \
	  target/local/listings 100000 1000000; } > bench/LISTINGS.md.tmp
	mv bench/LISTINGS.md.tmp bench/LISTINGS.md

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
	@$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || { echo "$(PYTHON) cannot make a venv: install python3-venv (Debian, Ubuntu)"; exit 1; }
	@echo "Installing the test tools into $(VENV), once (a few minutes): moto, cfn-lint, the SAM CLI, schemathesis, openapi-spec-validator, openapi-python-client, authlib..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PY_TOOLS)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV) .iam
