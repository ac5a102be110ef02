# packyard — see README.md
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
export CGO_ENABLED := 0

.PHONY: all build deps test unit integration fuzz bench plan-data clean

all: build

build:
	$(GO) build -trimpath -o bin/packyard ./cmd/packyard

deps:
	bash scripts/host-deps.sh

# Real Debian indexes (bookworm, trixie) for the planner's integration tests.
PLAN_DATA ?= /var/tmp/packyard-plan-data
export PACKYARD_PLAN_DATA := $(PLAN_DATA)

# The end-to-end backport (spdlog from trixie, with fmtlib and catch2 first).
PACKYARD_E2E_BACKPORT ?= 1
export PACKYARD_E2E_BACKPORT

# The whole test suite: vet, unit tests, a short fuzz run, integration tests.
test: deps build plan-data
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) test -count=1 ./...
	$(MAKE) fuzz
	$(GO) test -count=1 -tags integration -timeout 80m -p 1 ./...

plan-data:
	sh bench/plan/fetch-data.sh $(PLAN_DATA) bookworm trixie

unit:
	$(GO) test ./...

integration: build plan-data
	$(GO) test -count=1 -tags integration -timeout 80m -p 1 ./...

fuzz:
	@for t in $$(grep -l 'func Fuzz' -r internal --include='*_test.go' | xargs -r -n1 dirname | sort -u); do \
	  for f in $$(grep -ho 'func Fuzz[A-Za-z0-9_]*' -r $$t --include='*_test.go' | sed 's/func //'); do \
	    echo "fuzz $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s ./$$t || exit 1; \
	  done; \
	done

# Benchmarks against peer tools (reprepro, aptly, sbuild, dose); prints medians and ratios.
bench: build
	@for s in bench/*/run.sh; do echo "== $$s"; bash $$s || exit 1; done

clean:
	rm -rf bin
