# shardmq — every target describes itself; `make` alone lists them.

GO        ?= go
BIN       ?= bin
DATA      ?= data
FUZZTIME  ?= 30s
STATICCHECK_VERSION ?= v0.8.2
# Packages whose tests exercise goroutines, sockets or the catalog writer run under -race.
RACE_PKGS ?= ./netio/... ./shards/... ./catalog/... ./httpapi/... ./bench/... ./cmd/...
# Packages without concurrency run without -race (faster; the codec is single-threaded by design).
PLAIN_PKGS ?= ./mqtt/...

.DEFAULT_GOAL := help
.PHONY: help deps build run test race fuzz soak bench bench-full bench-cluster lint readme-check screenshots

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install what tests and benchmarks use when missing: mosquitto, its clients, curl, coap-client (libcoap3-bin), chromium, MQTT.js, the peers (root then; silent when all are there)
	@bash .ci/deps
	@bash .ci/deps-node
	@bash bench/peers/deps.sh
	@$(GO) mod download

build: ## build the broker and the benchmark tool into ./bin
	@echo "building $(BIN)/shardmq and $(BIN)/shardmq-bench (the first build compiles SQLite with cgo: a few minutes)"
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## start the broker with embedded defaults (MQTT 127.0.0.1:1883, API 127.0.0.1:18083)
	$(BIN)/shardmq --data-dir $(DATA)

test: deps ## set up (deps), go vet, then every test (-race on the packages with concurrency)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 5m $(PLAIN_PKGS)
	$(GO) test -count=1 -timeout 10m -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout 2m -run 'Allocs' ./shards/... ./netio/
	$(GO) test -count=1 -timeout 5m -run 'TestBrowserClientsPage100k' -v ./httpapi/dashboard/

race: ## every package under the race detector
	$(GO) test -count=1 -race ./...

SOAK_ROUNDS ?= 12
soak: ## long fault tests: the nodes of a 3-process cluster killed in turn, then cut off at their routes and healed in turn (SOAK_ROUNDS rounds each, about 15 s and 30 s); 40 SIGKILLs per durability of the store and of the broker with real clients; recovery of 1M sessions + 1M retained
	SHARDMQ_SOAK=$(SOAK_ROUNDS) $(GO) test -count=1 -timeout 30m -run 'TestClusterSoak|TestClusterPartitionSoak' -v ./cmd/shardmq/
	SHARDMQ_SOAK=1 $(GO) test -count=1 -timeout 20m -run TestCrash ./shards/store/disk/
	SHARDMQ_SOAK=1 $(GO) test -count=1 -timeout 20m -run '^TestCrash$$' -v ./cmd/shardmq/
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench 'BenchmarkRecover/sessions=1000000/' -benchtime=1x ./shards/
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench 'BenchmarkRecovery/engine=pebble/sessions=1000000/' -benchtime=1x ./shards/store/disk/

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
		done; \
	done

bench: build ## short side-by-side benchmark: shardmq vs mosquitto, mochi, nats and aedes (about 8 minutes)
	bash bench/peers/deps.sh
	$(BIN)/shardmq-bench --profile short

bench-full: build ## long side-by-side benchmark with repeats, 1M persistent sessions and a 1M-session catalog under churn
	bash bench/peers/deps.sh
	$(BIN)/shardmq-bench --profile full

bench-cluster: build ## cluster scenarios on shardmq processes (docs/cluster.md): p2p QoS 0 across nodes against one node alone, fan-in over 3 nodes, GET /clients page 1 over 3 x 15,000 offline sessions (about 2 minutes)
	bash bench/cluster.sh

lint: ## go vet, gofmt and staticcheck (installed through the Go module proxy)
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

screenshots: ## write PNGs of each dashboard page (1366x768) to docs/img/, from the broker binary driven in chromium
	@bash .ci/deps
	@mkdir -p docs/img
	SHARDMQ_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run '^TestDashboardBinary$$' -v ./cmd/shardmq/

readme-check: build ## run the README's `make run` for real and check the broker answers (used by CI)
	bash .ci/readme-check
