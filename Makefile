# The two commands: `make run` starts the whole system with demo data,
# `make test` runs every test. Both work on a fresh machine of ours:
# Go, Node.js 20 with npm, PostgreSQL and Redis running locally.

SHELL := /bin/bash
GO ?= go
NPM ?= npm
export GOFLAGS := -buildvcs=false

WEB_APPS := edge/web/app backoffice/web/app
BINARIES := bin/edge bin/backoffice bin/simulators bin/loaddriver

.PHONY: all run test build web go-build migrate seed bench lint fuzz e2e browser go-test clean release-notes

all: build

## build: the front ends (Vite) and the Go binaries into bin/
build: web go-build

go-build:
	$(GO) build -o bin/edge ./edge
	$(GO) build -o bin/backoffice ./backoffice
	$(GO) build -o bin/simulators ./simulators/cmd/simulators
	$(GO) build -o bin/loaddriver ./loadtest/driver

web: edge/web/dist/index.html backoffice/web/dist/index.html

# A front end is rebuilt when any of its sources is newer than its build.
edge/web/dist/index.html: $(shell find edge/web/app -type f -not -path '*/node_modules/*' 2>/dev/null)
	cd edge/web/app && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run build

backoffice/web/dist/index.html: $(shell find backoffice/web/app -type f -not -path '*/node_modules/*' 2>/dev/null)
	cd backoffice/web/app && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run build

## run: build, then start simulators, back office and edge with demo data
run: build
	deploy/dev/run.sh

## test: vet, every Go test against the local PostgreSQL and Redis, and the browser tests
test: build go-test e2e

go-test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## e2e: the browser tests in Debian's Chromium
e2e: build browser
	cd e2e && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) test

# Debian's Chromium and a CJK font for the browser tests; installed once.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

## migrate: create the database if needed and apply the migrations
migrate: go-build
	bin/backoffice migrate

## seed: load Shanghai's divisions and generate the demo data (DEMO=1 opens the windows now)
seed: go-build
	bin/backoffice seed $(if $(DEMO),-demo,)

## bench: the peak-day load test on this machine (see loadtest/README.md)
bench: go-build
	loadtest/bench.sh

## fuzz: run each fuzz test for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./shared/document/
	$(GO) test -run='^$$' -fuzz='^FuzzParseName$$' -fuzztime=$(FUZZTIME) ./shared/person/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRegistration$$' -fuzztime=$(FUZZTIME) ./edge/submit/

## lint: gofmt, go vet and govulncheck (skipped with a notice when its database is unreachable)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) run golang.org/x/vuln/cmd/govulncheck@v1.1.4 -version >/dev/null 2>&1 && \
	    curl -fsS --max-time 5 -o /dev/null https://vuln.go.dev/index/db.json.gz 2>/dev/null; then \
		$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.1.4 ./...; \
	else \
		echo "govulncheck skipped: its vulnerability database (vuln.go.dev) cannot be reached from this machine"; \
	fi

clean:
	rm -rf bin .run edge/web/dist/assets edge/web/dist/index.html backoffice/web/dist/assets backoffice/web/dist/index.html
