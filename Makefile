# Linq Inbox. `make run` and `make test` install what is missing (apt-get, npm), build, and go.
SHELL := /bin/bash
.DEFAULT_GOAL := run
export CARGO_TERM_COLOR ?= never

include mk/engine.mk mk/ui.mk mk/desktop.mk

.PHONY: setup run test bench

# Everything the build and the tests need, installed idempotently.
setup: engine-deps ui-deps e2e-deps desktop-deps

# The desktop app; on a machine without a display, says so and points to `linq-inbox serve`.
run: engine-deps ui-build desktop-run

# The whole suite: formatting, lints, engine unit/property/integration tests, UI unit tests,
# browser end-to-end tests, desktop end-to-end test.
test: setup lint engine-test ui-test e2e-test desktop-test
	@echo "make test: all suites passed"

bench: engine-release
	@if [ -x benches/run.sh ]; then benches/run.sh; else echo "benchmarks are not written yet (issue 6)"; exit 1; fi
