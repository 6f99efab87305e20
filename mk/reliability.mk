# Reliability and security beyond `make test` (docs/SECURITY.md says what each one proves).
#   make soak  — the crash loop and the listener-abuse test at full length (many kill -9s,
#                60 s of 1,000 connections + a bad-signature flood, UI p95 asserted < 50 ms).
#   make fuzz  — cargo-fuzz targets (fuzz/, a workspace of its own), FUZZ_SECONDS each.

FUZZ_SECONDS ?= 600
FUZZ_TARGETS := envelope_projection signature
# libFuzzer needs nightly flags; a stable toolchain accepts them with RUSTC_BOOTSTRAP=1.
FUZZ_ENV := RUSTC_BOOTSTRAP=1

.PHONY: soak fuzz fuzz-deps

soak: engine-deps
	LINQ_INBOX_SOAK=1 cargo nextest run --workspace --no-capture \
		-E 'test(kill_nine_under_load_loses_nothing) | test(listener_abuse_does_not_starve_the_ui)'

fuzz-deps: engine-deps
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Each target runs FUZZ_SECONDS on its corpus (seeded from tests/fixtures); a crash stops the
# run and leaves the input in fuzz/artifacts/<target>/.
fuzz: fuzz-deps
	python3 fuzz/seed.py
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		$(FUZZ_ENV) cargo fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 || exit 1; \
	done
