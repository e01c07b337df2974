# LSMS Edge. The two commands the README promises:
#   make demo   — the main job
#   make test   — every test (what CI runs through .ci/run)
# Install steps live here, idempotent, and fail loudly.

GO        ?= go
NODE      ?= node
NPM       ?= npm
BIN       := bin
LSMS      := $(BIN)/lsms
LITERT    := tools/litert
BROWSER   := tools/browser
GOFLAGS_TEST ?= -count=1

.PHONY: bench-peers cross train-setup train-test train-smoke data data-extra all build test demo deps deps-apt deps-node vet fuzz bench bench-litert generate clean

all: build

build:
	$(GO) build -o $(LSMS) ./cmd/lsms

# --- dependencies -----------------------------------------------------------

# Debian packages the tests need: Node.js + npm for the LiteRT (TFLite WASM)
# oracle; dcmtk (storescu/echoscu/dcmdump) and dicom3tools (dciodvfy) as DICOM
# peers. Installed only when missing.
deps-apt:
	@need=""; \
	command -v $(NODE) >/dev/null 2>&1 || need="$$need nodejs"; \
	command -v $(NPM) >/dev/null 2>&1 || need="$$need npm"; \
	command -v storescu >/dev/null 2>&1 || need="$$need dcmtk"; \
	command -v dciodvfy >/dev/null 2>&1 || need="$$need dicom3tools"; \
	[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || need="$$need python3-pydicom"; \
	command -v Orthanc >/dev/null 2>&1 || need="$$need orthanc"; \
	command -v qemu-aarch64-static >/dev/null 2>&1 || need="$$need qemu-user-static"; \
	command -v file >/dev/null 2>&1 || need="$$need file"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	if [ -n "$$need" ]; then \
	  echo "make: installing Debian packages:$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need \
	    || { echo "make: apt-get install$$need failed" >&2; exit 1; }; \
	fi

# Pinned JS tools (package-lock.json), reinstalled when the lock file changes.
deps-node: deps-apt
	@if [ ! -f $(LITERT)/node_modules/.installed ] || [ $(LITERT)/package-lock.json -nt $(LITERT)/node_modules/.installed ]; then \
	  echo "make: npm ci in $(LITERT)"; \
	  (cd $(LITERT) && $(NPM) ci --no-audit --no-fund) || { echo "make: npm ci failed in $(LITERT)" >&2; exit 1; }; \
	  touch $(LITERT)/node_modules/.installed; \
	fi
	@if [ ! -f $(BROWSER)/node_modules/.installed ] || [ $(BROWSER)/package-lock.json -nt $(BROWSER)/node_modules/.installed ]; then \
	  echo "make: npm ci in $(BROWSER)"; \
	  (cd $(BROWSER) && $(NPM) ci --no-audit --no-fund --ignore-scripts) || { echo "make: npm ci failed in $(BROWSER)" >&2; exit 1; }; \
	  touch $(BROWSER)/node_modules/.installed; \
	fi

deps: deps-apt deps-node
	@$(GO) mod download || { echo "make: go mod download failed" >&2; exit 1; }

# --- checks -----------------------------------------------------------------

vet:
	$(GO) vet ./...
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed: $$bad" >&2; exit 1; fi

# Every test. LSMS_REQUIRE_* turn a missing peer (LiteRT harness, dcmtk,
# dciodvfy, Orthanc, Chromium + playwright-core) into a failure instead of a skip. The
# runtime and the packages that run models (model, quant) run twice: with the assembly
# kernels and with their pure-Go twins (noasm).
test: deps vet train-test train-smoke
	LSMS_REQUIRE_LITERT=1 LSMS_REQUIRE_DICOM_TOOLS=1 LSMS_REQUIRE_ORTHANC=1 LSMS_REQUIRE_BROWSER=1 $(GO) test $(GOFLAGS_TEST) -timeout 25m ./...
	LSMS_REQUIRE_LITERT=1 $(GO) test $(GOFLAGS_TEST) -tags noasm ./runtime/... ./model/... ./quant/...
	CGO_ENABLED=0 $(GO) test $(GOFLAGS_TEST) ./runtime/tflitec/
	LSMS_REQUIRE_LITERT=1 QEMU_ARCHES="arm64 arm" ./scripts/qemu-test.sh $(GOFLAGS_TEST) -timeout 20m ./runtime/kernels/ ./tokenizer/
	./scripts/cross.sh $(BIN)/cross

# --- training (PyTorch from Debian, /usr/bin/python3) -------------------------

train-setup:
	train/setup.sh

train-test: train-setup
	/usr/bin/python3 -m unittest discover train

train-smoke: train-setup
	train/smoke.sh

# The synthetic set and the token ids the training side reads.
DATA ?= data/refct
data: build
	@if [ ! -f $(DATA)/manifest.jsonl ]; then $(LSMS) synth --out $(DATA) --cases 231 --seed 1; fi
	$(LSMS) tokenize --manifest $(DATA)/manifest.jsonl --size 2000 --vocab-out $(DATA)/vocab.txt --len 48 --out $(DATA)/tokens.jsonl

# More training cases for the shipped model (train/DESIGN.md, item 16): another
# seed, every case in train, token ids from $(DATA)'s vocabulary.
DATA_EXTRA ?= data/refct-s2
data-extra: data
	@if [ ! -f $(DATA_EXTRA)/manifest.jsonl ]; then $(LSMS) synth --out $(DATA_EXTRA) --cases 500 --seed 2 --val 0 --test 0; fi
	$(LSMS) tokenize --manifest $(DATA_EXTRA)/manifest.jsonl --vocab $(DATA)/vocab.txt --len 48 --out $(DATA_EXTRA)/tokens.jsonl
	cp $(DATA)/vocab.txt $(DATA_EXTRA)/vocab.txt

# Every fuzz target of the module for FUZZTIME each (default 60s).
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Static ARM builds of lsms (arm64, armv7) and an arm64 build with the tflite backend.
cross:
	./scripts/cross.sh $(BIN)/cross

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./runtime/kernels/

# Our interpreter vs LiteRT (TFLite WebAssembly) on LSMS layer shapes.
bench-litert: deps-node
	$(GO) run ./internal/layerbench -runs 20

# LSMS vision forward: ours (float32, int8) vs ONNX Runtime, PyTorch and
# LiteRT on the same weights, 480×480 and 256×256, 2 threads (issue 11).
bench-peers: deps-node train-setup
	./scripts/bench-peers.sh $(PEERFLAGS)

# Regenerate the TFLite flatbuffer bindings (needs flatc 2.0.8: apt-get install flatbuffers-compiler).
generate:
	$(GO) generate ./tflite/schema/

# --- the main job -------------------------------------------------------------

demo: build
	./scripts/demo.sh $(LSMS)

clean:
	rm -rf $(BIN)
