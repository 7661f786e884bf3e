# Liaison — build, run and test.
#
#   make run     install what is missing, build release, make dev certs, start the server
#   make test    unit/integration tests (swift test) + end-to-end tests (pytest)
#
# Variables you can override: make run ARGS="--port 9000", make test PYTEST_ARGS="-k presence".

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# One thing at a time: swift build parallelises itself, and apt must finish before it.
.NOTPARALLEL:

# Debian packages the build and the tests need (later features append here).
APT_PACKAGES ?= libwebsockets-dev libssl-dev pkg-config openssl chromium chromium-driver nats-server libnats-dev

PYTHON       ?= python3
SWIFT        ?= swift
VENV         := .venv
REQUIREMENTS := Tests/e2e/requirements.txt
RELEASE_BIN  := .build/release/liaison
DEBUG_BIN    := .build/debug/liaison

ARGS             ?=
SWIFT_TEST_ARGS  ?=
PYTEST_ARGS      ?=

.PHONY: help deps build build-debug certs run cluster token venv test tsan clean bench bench-cluster bench-export bench-files bench-smoke bench-hotpath conformance

## help: list the targets
help:
	@echo "Liaison — make targets:"
	@sed -n 's/^## \{0,1\}/  /p' $(MAKEFILE_LIST)

## deps: apt-get install the missing system packages (APT_PACKAGES), python3-venv if needed
deps:
	@command -v $(SWIFT) >/dev/null 2>&1 || { \
	  echo "deps: '$(SWIFT)' not found: install the Swift 6.3 toolchain (swift.org) and put it on PATH" >&2; exit 1; }
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  [ "$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	if ! command -v $(PYTHON) >/dev/null 2>&1; then \
	  missing="$$missing python3 python3-venv"; \
	elif [ ! -x $(VENV)/bin/python ] && ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  missing="$$missing python3-venv"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  echo "deps: installing$$missing"; \
	  $$sudo apt-get update; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

## build: release build of the liaison executable (.build/release/liaison)
build: deps
	$(SWIFT) build -c release --product liaison

## build-debug: debug build of every target, tests included (.build/debug/)
build-debug: deps
	$(SWIFT) build --build-tests

## certs: make the dev CA and localhost server certificate in certs/ if missing
certs:
	@certs/make-dev-certs.sh

## run: deps + release build + dev certs, then liaison serve (ws :8080, wss :8443, ./data); ARGS=... adds flags
run: build certs
	exec $(RELEASE_BIN) serve --tls-cert certs/server.crt --tls-key certs/server.key $(ARGS)

## cluster: deps + release build, then a local nats-server -js (./data/nats) and three nodes on ws 8081-8083 (docs/CLUSTER.md); Ctrl-C stops all; ARGS=... adds flags
cluster: build
	exec cluster/run-local.sh $(ARGS)

## token: mint a token with the dev secret of ./data (what make run uses): SUB=alice ROLE=msl TENANT=acme NAME="Alice" AREAS=a,b
SUB    ?= alice
ROLE   ?= msl
TENANT ?= acme
NAME   ?= Alice
token: build
	@test -f data/dev-secret || { echo "no data/dev-secret yet: start the server once with make run" >&2; exit 1; }
	@$(RELEASE_BIN) token --secret "$$(cat data/dev-secret)" --sub '$(SUB)' --role '$(ROLE)' --tenant '$(TENANT)' --name '$(NAME)' $(if $(AREAS),--areas '$(AREAS)')

## venv: .venv with the pinned e2e test requirements (reinstalled when requirements.txt changes)
venv: $(VENV)/.stamp

$(VENV)/.stamp: $(REQUIREMENTS) | deps
	@$(VENV)/bin/python -c '' >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)
	@touch $@

## test: swift tests, then the end-to-end tests against the debug binary; fails on any failure
test: build-debug venv certs
	$(SWIFT) test --skip-build $(SWIFT_TEST_ARGS)
	BIN="$(CURDIR)/.build/debug" loadtest/smoke.sh
	LIAISON_BIN="$(CURDIR)/$(DEBUG_BIN)" $(VENV)/bin/pytest -q $(PYTEST_ARGS) Tests/e2e

## tsan: build with ThreadSanitizer (.build-tsan) and run the in-process integration tests under it; fails on any report
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=1 $${TSAN_OPTIONS:-}" $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter LiaisonServerTests

## bench: release build, then Liaison vs libwebsockets' test server vs Node ws on the same fan-out, and the Liaison-only scenarios (~10 min; loadtest/bench.sh), then bench-export
bench: deps
	loadtest/bench.sh
	$(MAKE) bench-export SKIP_BUILD=1
	$(MAKE) bench-files SKIP_BUILD=1

## bench-cluster: release build, then chat, paced chat, fan-out and MOD against one process, a cluster's active node and a relaying node, and the failover time (~4 min; loadtest/cluster-figures.sh)
bench-cluster: deps
	loadtest/cluster-figures.sh

## bench-files: release build, then file upload/download MB/s for 25 MiB over loopback (beside curl) and RSS during 20 parallel 10 MiB uploads (~1 min; loadtest/files-figure.py)
bench-files: deps venv
	$(if $(SKIP_BUILD),,$(SWIFT) build -c release --product liaison)
	$(VENV)/bin/python loadtest/files-figure.py --bin $(dir $(RELEASE_BIN))

## bench-export: release build, then peak RSS of liaison export over 1,000,000 messages, written straight to disk (~6 min; loadtest/export-memory.py); fails at 100 MiB or more
bench-export: deps
	$(if $(SKIP_BUILD),,$(SWIFT) build -c release --product liaison)
	$(PYTHON) loadtest/export-memory.py --bin $(RELEASE_BIN)

## bench-hotpath: release build, then issue 18's figures (chat, MOD, calls, fan-out) with the server's own /metrics p99 beside the harness's (~5 min; loadtest/hotpath.sh)
bench-hotpath: deps
	loadtest/hotpath.sh

## conformance: Autobahn|Testsuite (RFC 6455 cases 1-10) against liaison serve --echo-path /echo; needs Python 2.7 or Docker (conformance/run.sh, docs/CONFORMANCE.md)
conformance: build-debug
	LIAISON_BIN="$(CURDIR)/$(DEBUG_BIN)" conformance/run.sh

## bench-smoke: every load-test scenario for ~2 s against a debug server; fails on any protocol error (loadtest/smoke.sh)
bench-smoke:
	loadtest/smoke.sh

## clean: remove build products and the venv (keeps certs/ and data/)
clean:
	rm -rf .build .build-tsan $(VENV) .pytest_cache
	find Tests -name __pycache__ -type d -prune -exec rm -rf {} +
