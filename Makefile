# Linq Inbox. `make run` and `make test` install what is missing (apt-get, npm), build, and go.
SHELL := /bin/bash
.DEFAULT_GOAL := run
export CARGO_TERM_COLOR ?= never

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# $(call apt_ensure,PACKAGES): installs only the Debian packages not installed yet.
apt_ensure = missing=$$(for p in $(1); do \
	dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; $(SUDO) apt-get update -qq && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

include mk/engine.mk mk/ui.mk mk/desktop.mk mk/package.mk mk/reliability.mk

.PHONY: setup run test bench

# Everything the build and the tests need, installed idempotently.
setup: engine-deps ui-deps e2e-deps desktop-deps package-deps

# The desktop app; on a machine without a display, says so and points to `linq-inbox serve`.
run: engine-deps ui-build desktop-run

# The whole suite: formatting, lints, engine unit/property/integration tests, UI unit tests,
# browser end-to-end tests, desktop end-to-end test, the packages unpacked and run.
test: setup lint engine-test bench-tools-test ui-test e2e-test desktop-test package-test
	@echo "make test: all suites passed"

bench: engine-release
	@if [ -x benches/run.sh ]; then benches/run.sh; else echo "benchmarks are not written yet (issue 6)"; exit 1; fi
