# tenantwatch — build, test and demo.
#   make demo   the app on a simulated tenant: attacks → Teams cards, then a one-shot scan (no Azure needed)
#   make test   every test (gofmt check, vet, staticcheck, unit, end-to-end)
#   make bench  benchmarks (numbers go in the README)
#   make package  dist/tenantwatch.zip for zip deploy to Azure Functions

GO        ?= go
BIN       := tenantwatch
GOFLAGS_P := -p 2
DEMO_TAGS := shared/azureip/testdata/servicetags-sample.json
OUT       := out
# DEPLOY_TAGS build the deployed binary: without the development commands.
DEPLOY_TAGS := deploy

.PHONY: all build test test-go vet staticcheck fmt-check demo bench fuzz clean azurite adaptivecards chromium package

# Azurite (the Azure Storage emulator), pinned, installed from npm into a
# local folder. Storage tests start their own private Azurite from here.
AZURITE_VERSION := 3.37.0
AZURITE_DIR     := .tools/azurite
AZURITE_BIN     := $(AZURITE_DIR)/node_modules/.bin/azurite
export TENANTWATCH_AZURITE := $(CURDIR)/$(AZURITE_BIN)

# The card render test (shared/notify) shows every golden Teams card with
# Microsoft's Adaptive Cards JavaScript renderer, pinned, from npm into a
# local folder, in headless Chromium (Debian's package, installed with
# apt-get where it is missing; override the path with CHROMIUM=...).
ADAPTIVECARDS_VERSION := 3.0.6
ADAPTIVECARDS_DIR     := .tools/adaptivecards
ADAPTIVECARDS_PKG     := $(ADAPTIVECARDS_DIR)/node_modules/adaptivecards/package.json
export TENANTWATCH_ADAPTIVECARDS := $(CURDIR)/$(ADAPTIVECARDS_DIR)/node_modules/adaptivecards
CHROMIUM ?= /usr/bin/chromium
export TENANTWATCH_CHROMIUM := $(CHROMIUM)

all: build

build:
	$(GO) build $(GOFLAGS_P) -o $(BIN) .

vet:
	$(GO) vet $(GOFLAGS_P) ./...
	$(GO) vet $(GOFLAGS_P) -tags $(DEPLOY_TAGS) . ./shared/cli/

# staticcheck, pinned, built into a folder named for its version (a new pin
# builds anew; the first build takes minutes on 2 cores).
STATICCHECK_VERSION := v0.8.2
STATICCHECK_DIR     := .tools/staticcheck-$(STATICCHECK_VERSION)
STATICCHECK         := $(STATICCHECK_DIR)/staticcheck

$(STATICCHECK):
	@echo "make: installing staticcheck@$(STATICCHECK_VERSION) into $(STATICCHECK_DIR)"
	@mkdir -p $(STATICCHECK_DIR)
	GOBIN=$(CURDIR)/$(STATICCHECK_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags $(DEPLOY_TAGS) . ./shared/cli/

fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

azurite: $(AZURITE_BIN)

$(AZURITE_BIN):
	@command -v npm >/dev/null || { echo "make: npm is needed to install Azurite (apt install nodejs npm)"; exit 1; }
	@mkdir -p $(AZURITE_DIR)
	@echo "make: installing azurite@$(AZURITE_VERSION) into $(AZURITE_DIR)"
	@cd $(AZURITE_DIR) && npm install --no-audit --no-fund --loglevel=error --no-save azurite@$(AZURITE_VERSION) >/dev/null
	@test -x $@

adaptivecards: $(ADAPTIVECARDS_PKG)

$(ADAPTIVECARDS_PKG):
	@command -v npm >/dev/null || { echo "make: npm is needed to install adaptivecards (apt install nodejs npm)"; exit 1; }
	@mkdir -p $(ADAPTIVECARDS_DIR)
	@echo "make: installing adaptivecards@$(ADAPTIVECARDS_VERSION) into $(ADAPTIVECARDS_DIR)"
	@cd $(ADAPTIVECARDS_DIR) && npm install --no-audit --no-fund --loglevel=error --no-save adaptivecards@$(ADAPTIVECARDS_VERSION) >/dev/null
	@test -f $@

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$(CHROMIUM)" = /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing Debian's chromium (apt-get)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null || exit 1; \
	  else \
	    echo "make: chromium is needed at $(CHROMIUM) for the card render test (as root: apt-get install chromium; or make test CHROMIUM=/path/to/chromium)"; exit 1; \
	  fi; \
	fi

# staticcheck runs beside the tests: they mostly wait on Azurite and timer
# schedules, which leaves it a core (the cold analysis takes minutes).
test: fmt-check vet $(STATICCHECK) $(AZURITE_BIN) $(ADAPTIVECARDS_PKG) chromium
	@$(MAKE) --no-print-directory -j2 staticcheck test-go

test-go:
	$(GO) test $(GOFLAGS_P) -timeout 14m ./...
	$(GO) test $(GOFLAGS_P) -tags $(DEPLOY_TAGS) -run '^TestDeployed' ./shared/cli/

# demo: the deployed app's whole story, locally. `tenantwatch demo` starts
# Azurite, the simulated tenant (live), a Teams webhook receiver and the
# local Functions host running `tenantwatch serve`; it installs the app (one
# posture digest), plays the scenario's attacks and prints each card with the
# time from attack to card: first apt29 (the 2022 report), then midnight (the
# same actor's 2024–2025 techniques), each on a fresh Azurite and tenant.
# Then one-shot scans of both tenants write out/report.html and
# out/midnight/report.html.
demo: build $(AZURITE_BIN)
	@rm -rf $(OUT) && mkdir -p $(OUT)
	./$(BIN) demo --scenario apt29 --azure-ip-ranges $(DEMO_TAGS) --log $(OUT)/demo.log --data $(OUT)/azurite
	@echo
	./$(BIN) demo --scenario midnight --azure-ip-ranges $(DEMO_TAGS) --log $(OUT)/demo-midnight.log --data $(OUT)/azurite-midnight
	@echo
	@for sc in apt29 midnight; do \
	dir=$(OUT); [ $$sc = apt29 ] || dir=$(OUT)/$$sc; mkdir -p $$dir; rm -f $(OUT)/.sim-url; \
	./$(BIN) sim --scenario $$sc --addr 127.0.0.1:0 --url-file $(OUT)/.sim-url 2>$(OUT)/sim-$$sc.log & echo $$! > $(OUT)/.sim-pid; \
	for i in $$(seq 100); do [ -s $(OUT)/.sim-url ] && break; sleep 0.1; done; \
	if [ ! -s $(OUT)/.sim-url ]; then echo "demo: the simulator did not start:"; cat $(OUT)/sim-$$sc.log; kill $$(cat $(OUT)/.sim-pid); exit 1; fi; \
	url=$$(cat $(OUT)/.sim-url); \
	echo "demo: one-shot scan of $$sc: ./$(BIN) scan --graph-url $$url --auth none --since 720h --azure-ip-ranges $(DEMO_TAGS) --out $$dir"; \
	./$(BIN) scan --graph-url $$url --auth none --since 720h --azure-ip-ranges $(DEMO_TAGS) --out $$dir; rc=$$?; \
	kill $$(cat $(OUT)/.sim-pid) 2>/dev/null; rm -f $(OUT)/.sim-url $(OUT)/.sim-pid; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then exit $$rc; fi; \
	echo "demo: open $$dir/report.html in a browser"; echo; \
	done

# package: the Functions app for zip deploy. A static Linux binary and dist/
# laid out as the host expects (host.json, one folder per function, the
# executable with its run bit), zipped as dist/tenantwatch.zip. The binary
# is built with -tags deploy: scan, serve and doctor only, without the
# development commands (sim, host, demo) and the code only they use
# (shared/pack's test lists what it links).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
package:
	@rm -rf dist && mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_P) -trimpath -tags $(DEPLOY_TAGS) \
	  -ldflags "-s -w -X github.com/tenantwatch/tenantwatch/shared/cli.Version=$(VERSION)" -o dist/tenantwatch .
	$(GO) run ./shared/pack/cmd/pack -root . -exe dist/tenantwatch -out dist

bench:
	$(GO) test $(GOFLAGS_P) -run '^$$' -bench . -benchmem ./...

# fuzz: a short run of every fuzz target (the seed corpora also run in `make test`).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN) $(OUT) dist
