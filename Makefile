# Every target creates .venv on first use; a fresh machine needs only Python, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck docs bench chaos clean kafka-fetch kafka-up kafka-down

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hub demo

test: $(STAMP) lint typecheck
	$(BIN)/hub contracts check
	$(BIN)/pytest

LINTED := hub tests $(wildcard bench) $(wildcard chaos)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/hub contracts export --out contracts-docs

bench: $(STAMP)
	$(BIN)/python -m bench

# Apache Kafka from Maven Central (deploy/kafka), one KRaft node on 127.0.0.1:19092, data in
# var/kafka. kafka-up prints the bootstrap address as its last line.
kafka-fetch:
	@deploy/kafka/fetch.sh

kafka-up:
	@deploy/kafka/start.sh --nodes 1 --data var/kafka --port 19092

kafka-down:
	@deploy/kafka/stop.sh --data var/kafka

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Referrals through 3 hub processes on PostgreSQL and a three-node Apache Kafka cluster while
# processes, brokers, a recipient and PostgreSQL fail (chaos/); ends with one JSON line of counts.
chaos: $(STAMP)
	$(BIN)/python -m chaos --workdir var/chaos
