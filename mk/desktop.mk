# The desktop app (src-tauri, package linq-inbox-desktop): system packages, build, run, the
# desktop end-to-end test, the installable bundle, and the icons.

DESKTOP_APT := libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev \
	libsoup-3.0-dev xvfb xauth dbus-x11 dunst webkit2gtk-driver xdg-utils imagemagick xdotool x11-utils \
	python3-dbus python3-gi
DESKTOP_BIN := target/debug/linq-inbox-desktop

.PHONY: desktop-deps desktop-build desktop-run desktop-test icons

desktop-deps:
	@$(call apt_ensure,$(DESKTOP_APT))
	@command -v tauri-driver >/dev/null || cargo install tauri-driver --locked

# ui-build (mk/ui.mk) first: the engine embeds ui/dist when it compiles.
desktop-build: desktop-deps ui-build
	cargo build --workspace --bins

# What `make run` calls. Without a display there is nothing to open a window on: say so in
# one sentence, before spending minutes on a build.
desktop-run:
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		echo "No display here (DISPLAY and WAYLAND_DISPLAY are empty), so the desktop app cannot open: run \`cargo run -- serve\` (linq-inbox serve) and open the URL it prints in a browser."; \
	else \
		$(MAKE) --no-print-directory desktop-build && exec $(DESKTOP_BIN); \
	fi

# The desktop crate's unit tests run with the engine's, in engine-test.
desktop-test: desktop-build
	tests/desktop/run.sh $(DESKTOP_BIN)

# The PNG and ICO icons are drawn from icons/src/*.svg; run after editing a drawing.
icons:
	@command -v rsvg-convert >/dev/null || $(SUDO) apt-get install -y -qq librsvg2-bin
	for size in 16 24 32 48 64; do rsvg-convert -w $$size -h $$size icons/src/app.svg -o icons/$${size}x$${size}.png; done
	rsvg-convert -w 128 -h 128 icons/src/app.svg -o icons/128x128.png
	rsvg-convert -w 256 -h 256 icons/src/app.svg -o icons/128x128@2x.png
	rsvg-convert -w 512 -h 512 icons/src/app.svg -o icons/icon.png
	rsvg-convert -w 64 -h 64 icons/src/tray.svg -o icons/tray.png
	rsvg-convert -w 64 -h 64 icons/src/tray-unread.svg -o icons/tray-unread.png
	rsvg-convert -w 64 -h 64 icons/src/tray-warning.svg -o icons/tray-warning.png
	convert icons/32x32.png icons/128x128.png icons/icon.png -define icon:auto-resize=16,24,32,48,64,128,256 icons/icon.ico
