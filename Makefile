# darn — mend container images in place.
# `make help` lists the targets. Everything a target needs (apt packages, Go
# tools, buildkitd, a registry, test images) is installed and started by the
# project's own scripts, idempotently.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TESTBED := $(CURDIR)/.testbed
PLUGIN_DIR ?= $(HOME)/.docker/cli-plugins
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/darn-dev/darn/patch.Version=$(VERSION)
# Integration tests build images and run apt; give them room.
INTEGRATION_TIMEOUT ?= 45m

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: plugin frontend-bin ## Build docker-patch and darn-frontend into bin/

.PHONY: plugin
plugin: ## Build the docker CLI plugin bin/docker-patch
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/docker-patch ./plugin/cmd/docker-patch

.PHONY: frontend-bin
frontend-bin: ## Build the gateway frontend binary bin/darn-frontend (static)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/darn-frontend ./frontend/cmd/darn-frontend

# The platforms of darn's image: the apk installer runs on the platform of
# the image it patches.
FRONTEND_ARCHES ?= amd64 arm64

.PHONY: frontend-bins
frontend-bins: ## Build darn-frontend and darn-apk for each of FRONTEND_ARCHES into bin/frontend-context/rootfs/ARCH
	rm -rf $(BIN)/frontend-context
	for a in $(FRONTEND_ARCHES); do \
	  r=$(BIN)/frontend-context/rootfs/$$a && mkdir -p $$r/bin $$r/tmp $$r/etc/ssl/certs && chmod 1777 $$r/tmp && \
	  cp /etc/ssl/certs/ca-certificates.crt $$r/etc/ssl/certs/ && \
	  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >$$r/etc/passwd && \
	  printf 'root:x:0:\nnonroot:x:65532:\n' >$$r/etc/group && \
	  CGO_ENABLED=0 GOARCH=$$a $(GO) build -ldflags "$(LDFLAGS)" -o $$r/bin/darn-frontend ./frontend/cmd/darn-frontend && \
	  CGO_ENABLED=0 GOARCH=$$a $(GO) build -ldflags "$(LDFLAGS)" -o $$r/bin/darn-apk ./tooling/cmd/darn-apk || exit 1; \
	done

# The frontend image goes to FRONTEND_IMAGE; by default the test bed's registry.
FRONTEND_IMAGE ?= $(shell . $(TESTBED)/env 2>/dev/null && echo $$DARN_REGISTRY/darn/frontend:dev)

.PHONY: frontend
frontend: tools frontend-bins ## Build darn's image (prebuilt path, no base image; FRONTEND_ARCHES) and push it to FRONTEND_IMAGE
	@test -n "$(FRONTEND_IMAGE)" || { echo "set FRONTEND_IMAGE (or run make testbed first)"; exit 2; }
	set -a && { . $(TESTBED)/env 2>/dev/null || true; } && set +a && \
	  $(BIN)/buildctl build --frontend dockerfile.v0 --progress plain \
	    --local context=$(BIN)/frontend-context --local dockerfile=$(CURDIR) \
	    --opt filename=Dockerfile.frontend --opt target=prebuilt \
	    --opt platform=$$(for a in $(FRONTEND_ARCHES); do printf 'linux/%s,' $$a; done | sed 's/,$$//') \
	    --output type=image,name=$(FRONTEND_IMAGE),push=true

.PHONY: eol-update
eol-update: ## Maintainer step: refresh distros/eol.json from endoflife.date (needs network access to it)
	hack/eol-update.sh

.PHONY: install
install: plugin ## Install docker-patch into ~/.docker/cli-plugins
	install -D -m 0755 $(BIN)/docker-patch $(PLUGIN_DIR)/docker-patch

.PHONY: tools
tools: ## Build the Go tools pinned in tools/go.mod (buildkitd, buildctl, gotestsum, ...) into bin/
	cd tools && $(GO) build -o $(BIN)/ \
	  -ldflags "-X github.com/moby/buildkit/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/moby/buildkit) \
	            -X github.com/docker/buildx/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/docker/buildx)" tool

.PHONY: testbed
testbed: tools ## Set up and start the test bed (buildkitd, registry, test images)
	integration/testbed/up.sh

.PHONY: trivy
trivy: ## Build bin/trivy (v0.74.0) and bin/darn-trivydb from tools/trivy/go.mod, and the bed's offline Trivy DB
	integration/testbed/trivy.sh

.PHONY: testbed-down
testbed-down: ## Stop the processes the test bed started
	integration/testbed/down.sh

.PHONY: test
test: tools ## Run all tests: lint, unit, a brief run of every fuzz target, then integration on the test bed
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME_CI)
	$(MAKE) test-integration

.PHONY: test-unit
test-unit: tools ## Run the unit tests (no daemon needed)
	$(BIN)/gotestsum --format testname -- -short -count=1 ./...
	cd tools/trivy && $(BIN)/gotestsum --format testname -- -short -count=1 ./...

.PHONY: test-integration
test-integration: testbed trivy plugin frontend ## Run the integration tests against the test bed
	set -a && source $(TESTBED)/env && set +a && \
	  DARN_PLUGIN=$(BIN)/docker-patch DARN_REQUIRE_INTEGRATION=1 DARN_FRONTEND_IMAGE=$(FRONTEND_IMAGE) \
	  $(BIN)/gotestsum --format testname -- -count=1 -timeout $(INTEGRATION_TIMEOUT) ./...

# Every fuzz target runs for FUZZTIME: `make fuzz` for a while, `make test`
# briefly (a count, which Go 1.26 ends cleanly; see hack/fuzz.sh).
FUZZTIME ?= 30s
FUZZTIME_CI ?= 1000x

.PHONY: fuzz
fuzz: ## Run every native Go fuzz target for FUZZTIME (default 30s) each
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

.PHONY: golden
golden: ## Regenerate golden files
	$(GO) test ./... -short -args -update

# `make bench` (integration/cmd/darn-bench, docs/bench.md) measures darn on
# the test bed against the floor of the same work done by hand, medians of
# five runs, and the parsers with Go's benchmarks; it prints a table and
# writes .testbed/bench/results.{json,png}. It prunes the bed's BuildKit
# cache before every cold run: run nothing else on the bed meanwhile. About
# 15 minutes on an idle 2-core machine (6 1/2 without multi); BENCH_FLAGS
# picks a subset, e.g. BENCH_FLAGS='-only debian,parsers' or
# '-skip multi -runs 7' (-list names the groups).
BENCH_FLAGS ?=

.PHONY: bench
bench: testbed frontend ## Measure darn against the floor of the same work on the test bed (docs/bench.md; BENCH_FLAGS for a subset)
	set -a && source $(TESTBED)/env && set +a && \
	  DARN_FRONTEND_IMAGE=$(FRONTEND_IMAGE) $(GO) run ./integration/cmd/darn-bench -out $(TESTBED)/bench $(BENCH_FLAGS)

# Each step runs one self-contained script: distros/shared.sh, the family's
# common.sh, then (for steps that write into another root) distros/root.sh,
# then the step's own. shellcheck reads them as they run.
STEP_COMMON := distros/shared.sh
DEB := distros/deb
RPM := distros/rpm

.PHONY: lint
lint: ## Run go vet, golangci-lint (tools/lint/go.mod), shellcheck on every script, and go mod tidy -diff
	$(GO) vet ./...
	cd tools/trivy && $(GO) vet ./...
	cd tools/lint && $(GO) build -o $(BIN)/ tool
	$(BIN)/golangci-lint run ./...
	cd tools/trivy && $(BIN)/golangci-lint run ./...
	hack/apt-install.sh shellcheck
	git ls-files '*.sh' integration/testdata/hostile/apt-get | xargs shellcheck -S warning
	for s in install upgradable; do cat $(STEP_COMMON) $(DEB)/common.sh $(DEB)/$$s.sh | shellcheck -s sh -S warning - || exit 1; done
	cat $(STEP_COMMON) $(DEB)/common.sh distros/root.sh $(DEB)/unpack.sh | shellcheck -s sh -S warning -
	for s in install available; do cat $(STEP_COMMON) $(RPM)/common.sh $(RPM)/$$s.sh | shellcheck -s sh -S warning - || exit 1; done
	for s in root-install root-available manifest-unpack; do cat $(STEP_COMMON) $(RPM)/common.sh distros/root.sh $(RPM)/$$s.sh | shellcheck -s sh -S warning - || exit 1; done
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd tools/trivy && $(GO) mod tidy -diff
	cd tools/lint && $(GO) mod tidy -diff

.PHONY: demo
demo: ## Patch the sample vulnerable image end to end (prepares only what the demo needs; hack/demo.sh)
	GO=$(GO) hack/demo.sh

.PHONY: clean
clean: ## Remove build outputs (not the test bed's caches)
	rm -rf $(BIN)
