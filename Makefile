# Midfield: every set-up step lives here, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two cores: two xdist workers, each with its own embedded broker.
XDIST  ?= -n 2 --dist loadgroup

.PHONY: help venv demo test test-fast soak lint bench clean system-deps \
        kafka-start kafka-stop test-kafka soak-kafka

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install Midfield with its test tools

demo: $(STAMP)  ## run the whole hub on the embedded broker with sample faxes (Ctrl-C stops it)
	$(BIN)/midfield demo

test: $(STAMP) system-deps  ## install everything and run the test suite (soak runs excluded)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

system-deps:  ## Chromium, kcat, CJK fonts, LibreOffice and pdftoppm for the tests (apt, when root)
	@.ci/system-deps

soak: $(STAMP)  ## the long fault/load runs
	$(BIN)/pytest -m soak $(PYTEST_ARGS)

# The Apache Kafka lane (docs/brokers.md): Kafka 2.3.0 + ZooKeeper on free loopback ports,
# installed into ~/.cache/midfield/kafka-2.3.0 on first use; its address in $(KAFKA_RUN)/bootstrap.
KAFKA_RUN ?= .midfield/kafka
KAFKA_TEST_RUN := .midfield/kafka-test
KAFKA_SUITES ?= tests/integration tests/e2e
# Start a fresh broker in $(KAFKA_TEST_RUN) (one left by an interrupted run is stopped first),
# run $(1) with its address, stop it whatever $(1) did.
define with_kafka
	@$(BIN)/midfield broker stop --kind kafka --run-dir $(KAFKA_TEST_RUN) >/dev/null
	$(BIN)/midfield broker start --kind kafka --run-dir $(KAFKA_TEST_RUN) >/dev/null
	KAFKA_BOOTSTRAP_SERVERS=$$(cat $(KAFKA_TEST_RUN)/bootstrap) MIDFIELD_KAFKA_PROFILE=kafka \
	  MIDFIELD_TEST_BROKER=apache-kafka \
	  $(1); status=$$?; \
	  $(BIN)/midfield broker stop --kind kafka --run-dir $(KAFKA_TEST_RUN) >/dev/null; exit $$status
endef

kafka-start: $(STAMP)  ## start Apache Kafka 2.3.0 (+ ZooKeeper) for by-hand use; prints its variables
	$(BIN)/midfield broker start --kind kafka --run-dir $(KAFKA_RUN)

kafka-stop: $(STAMP)  ## stop the broker and ZooKeeper that kafka-start started
	$(BIN)/midfield broker stop --kind kafka --run-dir $(KAFKA_RUN)

test-kafka: $(STAMP) system-deps  ## integration and end-to-end suites (short soak too) on Apache Kafka
	$(call with_kafka,$(BIN)/pytest $(XDIST) $(KAFKA_SUITES) $(PYTEST_ARGS))

soak-kafka: $(STAMP)  ## the long soak runs on Apache Kafka
	$(call with_kafka,$(BIN)/pytest -m soak $(PYTEST_ARGS))

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy schemas connectors midfield streams

bench: $(STAMP)  ## every benchmark (~45 min, quiet machine: views loads 2M events); numbers go to bench/results/
	$(BIN)/midfield bench all

clean:  ## remove the virtualenv and run state (stops a kafka-start broker first)
	-[ -x $(BIN)/midfield ] && $(BIN)/midfield broker stop --kind kafka --run-dir $(KAFKA_RUN)
	rm -rf $(VENV) .midfield
