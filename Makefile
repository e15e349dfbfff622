# Civil — `make help` lists every target.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install browser run test test-unit test-integration chaos constraints lint bench bench-burst bench-flood bench-spam bench-models bench-queue cluster-test bench-cluster clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel; an unpinned resolve would pull CUDA builds.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev,ops,train]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with everything, the `civil` command included (no-op when unchanged)

run: install ## Start API + worker + scheduler on http://127.0.0.1:$(PORT) (SQLite + embedded broker under ./var)
	$(BIN)/civil run --port $(PORT)

# The browser tests drive Debian's chromium (never a downloaded browser); install it when missing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "chromium missing and no apt-get: install Chromium at $(CHROMIUM)" >&2; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium

browser: $(CHROMIUM) ## Install Debian's chromium for the browser tests (when missing)

test: install browser ## Run the whole suite (needs Redis and PostgreSQL on loopback; installs chromium)
	$(BIN)/python -m pytest -q

test-unit: install ## Unit tests only (no services)
	$(BIN)/python -m pytest -q tests/unit

test-integration: install browser ## Integration tests (real Redis, PostgreSQL, Celery workers)
	$(BIN)/python -m pytest -q tests/integration

# Kills and restarts real services under load (its own redis-server and PostgreSQL cluster in
# temp dirs, never the machine's); bounded so the whole run stays within a few minutes.
CHAOS_TIMEOUT ?= 600
chaos: install ## Chaos suite (tests/chaos): worker, Redis, PostgreSQL, receiver, full disk
	timeout $(CHAOS_TIMEOUT) $(BIN)/python -m pytest -q -m chaos tests/chaos

# Several hosts on this machine (network namespaces joined by a bridge; root), a worker host cut
# off mid-task, Redis Sentinel and RabbitMQ quorum queues, PgBouncer in transaction mode. Needs
# redis-server, PostgreSQL's binaries, RabbitMQ (rabbitmqctl) and pgbouncer; bounded.
CLUSTER_TIMEOUT ?= 600
cluster-test: install ## Cluster suite (tests/cluster): hosts in network namespaces, broker failover, PgBouncer
	timeout $(CLUSTER_TIMEOUT) $(BIN)/python -m pytest -q -s -m cluster tests/cluster

constraints: install ## Regenerate constraints.txt (the image's pinned versions) from .venv
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^civil=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

lint: install ## ruff (check + format), mypy on the domain package, the import rules (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

BENCH_ARGS ?= -n 600 --rate 10 --model cascade
bench: install ## Pipeline bench (real comments open-loop → decided → callback verified; scorer alone for comparison) + spam scorer bench
	$(BIN)/python bench/intake_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/spam_bench.py

BENCH_BURST_ARGS ?= -n 10000 --burst --model cascade --wait-every 100 --wait 5
bench-burst: install ## 10,000 distinct comments as fast as the client posts: none lost, all called back, broker messages per waiting event, ?wait= answers
	$(BIN)/python bench/intake_bench.py $(BENCH_BURST_ARGS)

BENCH_FLOOD_ARGS ?= --copies 10000 -n 200
bench-flood: install ## 10,000 copies of one spam text: per-comment cost of copies against ordinary comments (PostgreSQL)
	$(BIN)/python bench/flood_bench.py $(BENCH_FLOOD_ARGS)

bench-spam: install ## Spam scorer only: comments/s on one core, batched and one at a time
	$(BIN)/python bench/spam_bench.py

bench-models: install ## Toxicity models: comments/s single and batched, p50/p95 per comment
	$(BIN)/python bench/models_bench.py

bench-queue: install ## Moderator queue at 100k comments (SQLite; BENCH_QUEUE_ARGS="--pg postgresql://…/postgres")
	$(BIN)/python bench/queue_bench.py $(BENCH_QUEUE_ARGS)

clean: ## Remove ./var (embedded database, broker, metrics)
	rm -rf var
