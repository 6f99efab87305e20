# The installable packages: a .deb and an .rpm holding both binaries (the desktop app and the
# `linq-inbox` command), their man pages, shell completions, desktop entry, icons and AppStream
# metadata (src-tauri/packaging/package.sh), and the test that unpacks and runs them.
#
#   make bundle        release binaries → target/release/bundle/{deb,rpm}/ (what a rep installs)
#   make package-test  (in `make test`) the same recipe over the debug binaries the other suites
#                      already built: no second compile of the app (docs/BENCHMARKS.md has the
#                      numbers); PACKAGE_PROFILE=release tests the `make bundle` packages instead.

PACKAGE_APT := lintian desktop-file-utils appstream rpm binutils dpkg-dev
PACKAGE_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' src-tauri/Cargo.toml | head -n 1)
PACKAGE_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
PACKAGE_PROFILE ?= debug
PACKAGE_INPUTS := src-tauri/packaging/package.sh src-tauri/packaging/linq-inbox-desktop.spec \
	src-tauri/packaging/linq-inbox-desktop.desktop src-tauri/packaging/io.linqinbox.desktop.metainfo.xml \
	src-tauri/packaging/copyright src-tauri/packaging/lintian-overrides $(wildcard icons/*.png) icons/src/app.svg
# One stamp per profile: the packages are rebuilt only when a binary or a packaging input is newer.
package_stamp = target/$(1)/bundle/.packaged

.PHONY: package-deps bundle package-test

package-deps:
	@$(call apt_ensure,$(PACKAGE_APT))

target/%/bundle/.packaged: target/%/linq-inbox target/%/linq-inbox-desktop $(PACKAGE_INPUTS)
	src-tauri/packaging/package.sh target/$* $(PACKAGE_VERSION) target/$*/bundle/out
	mkdir -p target/$*/bundle/deb target/$*/bundle/rpm
	mv target/$*/bundle/out/*.deb target/$*/bundle/deb/
	mv target/$*/bundle/out/*.rpm target/$*/bundle/rpm/
	rm -rf target/$*/bundle/debug && mv target/$*/bundle/out/debug target/$*/bundle/debug && rmdir target/$*/bundle/out
	@touch $@

# The release binaries in one workspace resolution with Tauri's release mode (the same build
# `make bench` measures), then the packages if anything changed.
bundle: desktop-deps package-deps ui-build
	cargo build --release --workspace --bins --features linq-inbox-desktop/custom-protocol
	@$(MAKE) --no-print-directory $(call package_stamp,release)
	@ls -l target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm

package-test: package-deps desktop-deps $(if $(filter release,$(PACKAGE_PROFILE)),bundle,engine-debug)
	@$(MAKE) --no-print-directory $(call package_stamp,$(PACKAGE_PROFILE))
	tests/package/run.sh target/$(PACKAGE_PROFILE)/bundle
