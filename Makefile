# The two commands: `make run` starts the whole system with demo data,
# `make test` runs every test. Both work on a fresh machine of ours:
# Go, Node.js 20 with npm, PostgreSQL and Redis running locally.

SHELL := /bin/bash
GO ?= go
NPM ?= npm
export GOFLAGS := -buildvcs=false

WEB_APPS := edge/web/app backoffice/web/app
BINARIES := bin/edge bin/backoffice bin/simulators bin/loaddriver bin/dashboards-load

.PHONY: all run test build web go-build migrate seed bench bench-dashboards bench-staff bench-sealing lint gofmt-check fuzz e2e browser fonts go-test clean release-notes

all: build

## build: the front ends (Vite) and the Go binaries into bin/
build: web go-build

go-build:
	$(GO) build -o bin/edge ./edge
	$(GO) build -o bin/backoffice ./backoffice
	$(GO) build -o bin/simulators ./simulators/cmd/simulators
	$(GO) build -o bin/loaddriver ./loadtest/driver
	$(GO) build -o bin/dashboards-load ./loadtest/dashboards

web: edge/web/dist/index.html backoffice/web/dist/index.html

# A front end is rebuilt when any of its sources is newer than its build.
edge/web/dist/index.html: $(shell find edge/web/app -type f -not -path '*/node_modules/*' 2>/dev/null)
	cd edge/web/app && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run build

backoffice/web/dist/index.html: $(shell find backoffice/web/app -type f -not -path '*/node_modules/*' 2>/dev/null)
	cd backoffice/web/app && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run build

## run: build, then start simulators, back office and edge with demo data
run: build fonts
	deploy/dev/run.sh

## test: vet, every Go test against the local PostgreSQL and Redis, and the browser tests
test: build go-test e2e

go-test: fonts conflict-markers gofmt-check
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## e2e: the browser tests in Debian's Chromium
e2e: build browser fonts
	cd e2e && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) test

# Debian's Chromium and a CJK font for the browser tests; installed once.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# Fails when a file still has a merge's conflict markers.
.PHONY: conflict-markers
conflict-markers:
	@if git grep -nE '^(<<<<<<<|>>>>>>>)( |$$)' -- . ':!*package-lock.json'; then \
		echo "merge conflict markers above: resolve them"; exit 1; \
	fi

# TrueType CJK fonts for the filled-form PDFs (shared/formpdf); installed once.
fonts:
	@if [ ! -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ]; then \
		echo "installing Debian's fonts-droid-fallback and fonts-hanazono for the form PDFs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-droid-fallback fonts-hanazono >/dev/null; \
	fi

## migrate: create the database if needed and apply the migrations
migrate: go-build
	bin/backoffice migrate

## seed: load Shanghai's divisions and generate the demo data (DEMO=1 opens the windows now)
seed: go-build
	bin/backoffice seed $(if $(DEMO),-demo,)

## bench: the peak-day load test on this machine (see loadtest/README.md);
## make bench-staff measures the list pages under 120 signed-in staff
bench: go-build
	$(GO) build -tags benchplaintext -o bin/edge-plaintext ./edge
	loadtest/bench.sh

## bench-dashboard-attendance: 120 staff on the attendance panels over a month of raw
## rows and a year of rollups (see loadtest/attendance.sh for its settings)
.PHONY: bench-dashboard-attendance
bench-dashboard-attendance:
	$(GO) build -o bin/backoffice ./backoffice
	$(GO) build -o bin/attendancebench ./loadtest/attendance
	loadtest/attendance.sh

## bench-dashboards: 120 staff on the dashboard APIs over a generated season (see loadtest/README.md)
bench-dashboards: go-build
	loadtest/dashboards.sh

## bench-staff: 120 concurrent staff on the back office's list pages (see loadtest/README.md)
bench-staff:
	$(GO) build -o bin/backoffice ./backoffice
	$(GO) build -o bin/staffbench ./loadtest/staff
	loadtest/bench-staff.sh

## bench-sealing: the edge's submit path with and without SM4 sealing, in one run
bench-sealing:
	go test -count=1 -run '^$$' -bench SealingOverhead -benchtime=1x ./edge/submit/

## fuzz: run each fuzz test for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./shared/document/
	$(GO) test -run='^$$' -fuzz='^FuzzParseName$$' -fuzztime=$(FUZZTIME) ./shared/person/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRegistration$$' -fuzztime=$(FUZZTIME) ./edge/submit/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./shared/address/

## lint: gofmt, go vet and govulncheck (skipped with a notice when its database is unreachable)
# gofmt-check fails when gofmt would change a tracked Go file.
gofmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

lint: gofmt-check
	$(GO) vet ./...
	@if $(GO) run golang.org/x/vuln/cmd/govulncheck@v1.1.4 -version >/dev/null 2>&1 && \
	    curl -fsS --max-time 5 -o /dev/null https://vuln.go.dev/index/db.json.gz 2>/dev/null; then \
		$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.1.4 ./...; \
	else \
		echo "govulncheck skipped: its vulnerability database (vuln.go.dev) cannot be reached from this machine"; \
	fi

## release: static Linux binaries for amd64, arm64 and loong64 in bin/release/<os>-<arch>/,
## each with a detached SM2 signature <binary>.sig made with the PEM key in RELEASE_SIGNING_KEY
## (named RELEASE_SIGNING_KEY_ID); without it a throwaway key is generated under bin/release/
RELEASE_PLATFORMS := linux/amd64 linux/arm64 linux/loong64
RELEASE_COMMANDS := edge:./edge backoffice:./backoffice simulators:./simulators/cmd/simulators logsigner:./deploy/logsigner
RELEASE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
RELEASE_SIGNING_KEY_ID ?= release
.PHONY: release
release: web
	@set -euo pipefail; \
	started=$$(date +%s); \
	key="$(RELEASE_SIGNING_KEY)"; key_id="$(RELEASE_SIGNING_KEY_ID)"; \
	if [ -n "$$key" ]; then \
		case "$$(realpath -m "$$key")" in "$$(realpath -m bin/release)"/*) \
			echo "RELEASE_SIGNING_KEY must not be inside bin/release, which make release empties" >&2; exit 1;; esac; \
		[ -r "$$key" ] || { echo "RELEASE_SIGNING_KEY=$$key cannot be read" >&2; exit 1; }; \
	fi; \
	rm -rf bin/release; mkdir -p bin/release; \
	$(GO) build -o bin/releasesign ./deploy/releasesign; \
	if [ -z "$$key" ]; then \
		key=bin/release/throwaway-signing-key.pem; key_id=throwaway-$$(date +%Y%m%d%H%M%S); \
		bin/releasesign generate-key -key "$$key" -public-key bin/release/throwaway-signing-key.pub.pem >/dev/null; \
		echo "################################################################################"; \
		echo "# RELEASE_SIGNING_KEY is not set: these binaries are signed with a THROWAWAY key"; \
		echo "# ($$key, key ID $$key_id), made just now. Do not ship them."; \
		echo "# Set RELEASE_SIGNING_KEY=/path/to/release-key.pem to sign with the release key."; \
		echo "################################################################################"; \
	fi; \
	for platform in $(RELEASE_PLATFORMS); do \
		os=$${platform%/*}; arch=$${platform#*/}; \
		for command in $(RELEASE_COMMANDS); do \
			name=$${command%%:*}; package=$${command#*:}; \
			echo "building $$os-$$arch/$$name"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
				-ldflags "-s -w -X github.com/sh-preschool/preschool/shared/release.Version=$(RELEASE_VERSION)" \
				-o bin/release/$$os-$$arch/$$name $$package; \
		done; \
	done; \
	binaries=$$(find bin/release -mindepth 2 -type f ! -name '*.sig' | sort); \
	bin/releasesign sign -key "$$key" -key-id "$$key_id" $$binaries; \
	bin/releasesign public-key -key "$$key" -out bin/release/release-signing-key.pub.pem >/dev/null; \
	bin/releasesign verify -public-key bin/release/release-signing-key.pub.pem -key-id "$$key_id" $$binaries >/dev/null; \
	ls -l $$binaries; \
	echo "release $(RELEASE_VERSION) built, signed (key ID $$key_id) and verified in $$(( $$(date +%s) - started ))s;" \
		"public key: bin/release/release-signing-key.pub.pem"

clean:
	rm -rf bin .run edge/web/dist/assets edge/web/dist/index.html backoffice/web/dist/assets backoffice/web/dist/index.html
