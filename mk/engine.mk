# The engine (crate linq-inbox at the root): its tools, debug and release builds of both binaries
# (engine and desktop app), lints, tests, the benchmark tools' own checks, and `serve`/`demo`.

# dbus-daemon, dbus-bin and gnome-keyring: tests/engine/keyring.rs runs a real Secret Service
# (gnome-keyring-daemon) on a private session bus (dbus-run-session) and talks to it (dbus-send).
ENGINE_APT := pkg-config build-essential libdbus-1-dev dbus-daemon dbus-bin gnome-keyring

.PHONY: engine-deps engine-debug engine-release lint engine-test bench-tools-test serve demo

# System packages, and the cargo tools the suite runs (nextest; cargo-machete for `lint`).
engine-deps:
	@$(call apt_ensure,$(ENGINE_APT))
	@command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
	@command -v cargo-machete >/dev/null || cargo install cargo-machete --locked

# One cargo invocation builds both binaries: the workspace resolves features once, so the engine
# and the desktop app share every compiled dependency (built per package, serde and friends
# would be compiled twice with different features).
engine-debug: engine-deps desktop-deps
	cargo build --workspace --bins

# Release builds of both binaries (`make bench` measures the engine and the desktop app's memory),
# in one workspace resolution like the debug build, and with the features `make bundle` ships
# (mk/package.mk), so the two share one build.
engine-release: engine-deps desktop-deps ui-build
	cargo build --release --workspace --bins --features linq-inbox-desktop/custom-protocol

# Formatting and clippy over the whole workspace (the desktop crate needs its GTK packages,
# hence desktop-deps), no unused dependency in any manifest (cargo-machete), no import cycle
# between the engine's modules (tests/lint/module_cycles.py lists any it finds), and no assertion
# without its reason (tests/lint/bare_asserts.py names each bare one by file:line; its self-test
# runs first, so a lint that stopped finding anything fails instead of passing every tree).
lint: engine-deps desktop-deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo machete
	python3 tests/lint/module_cycles.py src
	python3 tests/lint/bare_asserts_selftest.py
	python3 tests/lint/bare_asserts.py src tests src-tauri benches/src fuzz

# Unit, property and integration tests of both crates (tests/engine/main.rs is the engine's one
# integration entry; the desktop crate's unit tests run here too).
engine-test: engine-deps desktop-deps
	cargo nextest run --workspace --no-fail-fast

# The benchmark tools are a workspace of their own; their tests (the report's verdicts, the
# payloads' signatures) run with the suite so they cannot rot between `make bench` runs.
bench-tools-test: engine-deps
	cargo fmt --manifest-path benches/Cargo.toml --check
	cargo clippy --manifest-path benches/Cargo.toml --target-dir target --all-targets -- -D warnings
	cargo test --manifest-path benches/Cargo.toml --target-dir target

# Headless engine with the UI (what `make run` falls back to without a display).
serve: engine-debug ui-build
	cargo run --bin linq-inbox -- serve

# The app fed by the simulator: a demo inbox to click through.
demo: engine-debug ui-build
	@LINQ_WEBHOOK_SECRET=$${LINQ_WEBHOOK_SECRET:-demo-secret} ; export LINQ_WEBHOOK_SECRET; \
	dir=$$(mktemp -d); \
	target/debug/linq-inbox serve --data-dir $$dir & pid=$$!; \
	sleep 1; target/debug/linq-inbox simulate --scenario demo --count 120; \
	echo "Demo running (data in $$dir); Ctrl-C to stop."; wait $$pid
