# The web UI (ui/: Svelte 5 + TypeScript + Vite, built into ui/dist and served by the engine)
# and its browser tests (tests/e2e/: playwright-core driving Debian's Chromium against the real
# engine fed by signed webhooks).

UI_STAMP := ui/node_modules/.package-lock.json
E2E_STAMP := tests/e2e/node_modules/.package-lock.json
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/svelte.config.js \
	ui/tsconfig.json ui/package.json ui/package-lock.json
CHROMIUM ?= /usr/bin/chromium

.PHONY: ui-deps ui-build ui-test ui-types e2e-deps e2e-test

# Rewrites ui/src/lib/types.generated.ts from the Rust types the UI API serializes (ts-rs, in
# the engine's test http::ts_types). The same test, run by engine-test, fails when the checked-in
# file and the Rust types differ, so the two cannot drift.
ui-types:
	LINQ_UPDATE_UI_TYPES=1 cargo test --lib http::ts_types::ui_types_match_the_rust_view_types

# `npm ci` only when node_modules is missing or older than the lock file.
$(UI_STAMP): ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ui-deps: $(UI_STAMP)

# Rebuilt only when a source is newer than the last build.
ui/dist/index.html: $(UI_SOURCES) $(UI_STAMP)
	cd ui && npx --no-install vite build --logLevel warn

ui-build: ui/dist/index.html

ui-test: ui-deps
	cd ui && npx --no-install svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human
	cd ui && npx --no-install vitest run

$(E2E_STAMP): tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

e2e-deps: $(E2E_STAMP)
	@$(call apt_ensure,chromium fonts-noto-color-emoji)

# `engine-debug` (mk/engine.mk: `cargo build --workspace --bins`, the engine and the desktop
# app in one resolution) builds the binary the browser tests start.
e2e-test: e2e-deps ui-build engine-debug
	cd tests/e2e && LINQ_INBOX_BIN=$(CURDIR)/target/debug/linq-inbox CHROMIUM=$(CHROMIUM) \
		node --test --test-concurrency=1 --test-reporter=spec *.test.mjs
