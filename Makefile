# snbridge — build, run, test. `make run` and `make test` are the two commands a newcomer needs.
GO        ?= go
BIN       := bin
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 3s
LONGFUZZ  ?= 2m
CROSS     := linux/arm/6 linux/arm/7 linux/arm64/- linux/amd64/-

.PHONY: all build run test test-e2e test-deps vet lint fuzz fuzz-short bench bench-broker bench-gateway cross clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

run: build
	./$(BIN)/snbridge

# test: vet, the race-enabled test suite, then every fuzz target briefly.
test: test-deps vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	@$(MAKE) --no-print-directory fuzz-short

# Just the end-to-end tests (part of `make test` too): snsim and sncat against the snbridge
# daemon — 1 000 lossy sensors at QoS 0/1/2 (and their HTML report in headless chromium),
# sleeping actuators receiving QoS 1 and QoS 2 commands, forwarder encapsulation, sncat pub →
# sncat sub at each QoS.
test-e2e: test-deps
	$(GO) test -count=1 -timeout 15m -run 'Snbridge' ./cmd/snsim ./cmd/sncat

# Tools the end-to-end tests drive: Debian's mosquitto and mosquitto-clients, and chromium
# (headless) to render snsim's HTML report.
test-deps:
	@missing=""; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v mosquitto_pub >/dev/null 2>&1 || missing="$$missing mosquitto-clients"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (Debian packages needed by the end-to-end tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null) || \
	      { echo "apt-get install$$missing failed"; exit 1; }; \
	    systemctl disable --now mosquitto >/dev/null 2>&1 || true; \
	  else \
	    echo "missing:$$missing — run: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

vet:
	$(GO) vet $(PKGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) test -count=1 -run TestImportRules ./cmd/snbridge

# Each Fuzz target in each package, one at a time (go test allows one -fuzz target per run).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME_ARG=$(FUZZTIME)

fuzz:
	@t=$${FUZZTIME_ARG:-$(LONGFUZZ)}; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do \
	  for target in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$dir $$target ($$t)"; \
	    log=$$(mktemp); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $$t $$dir >$$log 2>&1; then \
	      if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input' $$log; then \
	        echo "  the fuzz coordinator ran out of time while stopping a slow worker (no failing input); once more"; \
	        $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $$t $$dir >$$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; \
	      else cat $$log; rm -f $$log; exit 1; fi; \
	    fi; \
	    rm -f $$log; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# bench-broker: issue 3's MQTT loads — fan-in (100 publishers → 1 subscriber) and fan-out (1 →
# 100) at QoS 0 and 1 with 32-byte payloads, one QoS 1 message in flight per publisher, QoS 0 also
# paced, and 10 000 idle connections — against Debian's mosquitto and snbridge (store on), each
# with its defaults and started on a free loopback port ({port}); prints Markdown tables.
# Beyond a subscriber's queue of 1000, mosquitto acknowledges QoS 1 messages and drops them
# (max_queued_messages) while snbridge holds the acknowledgement (limits.admission_wait), so
# fan-in QoS 1 is run once more with each broker's queue unlimited ("nodrop"). Options of the
# loads: BENCH_BROKER_ARGS (e.g. -duration 10s -inflight 16); snbridge's: SNBRIDGE_BENCH_ARGS
# (e.g. --cpuprofile /tmp/snb.pprof).
SNBRIDGE_BENCH_ARGS ?=
BENCH_BROKER_ARGS   ?=
bench-broker: build test-deps
	@d=$$(mktemp -d) && \
	printf 'allow_anonymous true\nmax_queued_messages 0\n' >$$d/mosquitto-nodrop.conf && \
	printf 'limits:\n  max_queued: 0\n' >$$d/snbridge-nodrop.yaml && \
	set -x && \
	$(GO) run ./mqtt/mqtttest/load/cmd/mqttload -suite $(BENCH_BROKER_ARGS) \
	  -spawn 'mosquitto=/usr/sbin/mosquitto -p {port}' \
	  -spawn "snbridge=./$(BIN)/snbridge --mqtt 127.0.0.1:{port} --mqttsn off --data-dir $$d/data $(SNBRIDGE_BENCH_ARGS)" \
	  -spawn "mosquitto-nodrop:fanin-qos1=/usr/sbin/mosquitto -c $$d/mosquitto-nodrop.conf -p {port}" \
	  -spawn "snbridge-nodrop:fanin-qos1=./$(BIN)/snbridge -c $$d/snbridge-nodrop.yaml --mqtt 127.0.0.1:{port} --mqttsn off --data-dir $$d/data-nodrop"

# bench-gateway: the MQTT-SN gateway inside snbridge, end to end (issue 4): 100 MQTT-SN clients ×
# 1 000 messages of 32 bytes over UDP to one MQTT subscriber over TCP at QoS 0 (paced at several
# rates, then unpaced) and QoS 1 (one in flight per client); connects per second; RSS per idle
# client with 100 000 clients behind the forwarder encapsulation (100 UDP sockets). gwbench starts
# ./bin/snbridge on free loopback ports with a temporary data dir (store on), raises its own
# `ulimit -n` soft limit to the hard one (inherited by snbridge), runs itself on one core
# (GOMAXPROCS 1, -procs) so that the gateway keeps one, and prints a table. Options:
# BENCH_GATEWAY_ARGS (e.g. -loads qos0 -rates 80000,120000 -cpuprofile /tmp/gw.pprof).
BENCH_GATEWAY_ARGS ?=
bench-gateway: build
	$(GO) run ./mqttsn/mqttsntest/gwbench/cmd/gwbench -snbridge ./$(BIN)/snbridge $(BENCH_GATEWAY_ARGS)

cross:
	@for t in $(CROSS); do \
	  os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=$${rest#*/}; \
	  [ "$$arm" = "-" ] && arm=""; \
	  echo "build $$os/$$arch$${arm:+ GOARM=$$arm}"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -o /dev/null ./... || exit 1; \
	done

clean:
	rm -rf $(BIN)
