//! The main window: the engine's web UI, kept to the UI's own origin.
//!
//! Message text carries links from strangers. Inside the app window a link could load any page
//! next to the rep's inbox, so the window only ever shows the UI server's origin; `http(s)`
//! links elsewhere open in the system browser and every other scheme is refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use linq_inbox::engine::Engine;
use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};
use url::Url;

pub const MAIN: &str = "main";

/// Where a navigation may go.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// The UI server itself: load it in the window.
    InApp,
    /// A web page elsewhere: open it in the system browser.
    Browser,
    /// Anything else (`file:`, `javascript:`, custom schemes): nowhere.
    Refuse,
}

/// The rule for every navigation the window attempts.
pub fn route(ui: &Url, target: &Url) -> Route {
    if target.origin() == ui.origin() {
        return Route::InApp;
    }
    match target.scheme() {
        "http" | "https" if target.host().is_some() => Route::Browser,
        // WebKit loads this for empty frames; it shows nothing and can reach nothing.
        "about" if target.as_str() == "about:blank" => Route::InApp,
        _ => Route::Refuse,
    }
}

/// Open the main window on the UI through a fresh one-time login URL.
pub fn create(
    app: &AppHandle,
    engine: &Engine,
    visible: bool,
    launched: Instant,
) -> tauri::Result<WebviewWindow> {
    let ui = Url::parse(&engine.ui_url()).map_err(tauri::Error::InvalidUrl)?;
    let login = Url::parse(&engine.login_url()).map_err(tauri::Error::InvalidUrl)?;
    let first_load = Arc::new(AtomicBool::new(true));
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(login))
        .title("Linq Inbox")
        .inner_size(1100.0, 720.0)
        .min_inner_size(720.0, 480.0)
        .visible(visible)
        .on_navigation(move |target| match route(&ui, target) {
            Route::InApp => true,
            Route::Browser => {
                open_in_browser(target);
                false
            }
            Route::Refuse => {
                tracing::warn!(scheme = target.scheme(), "refused a navigation");
                false
            }
        })
        // `target=_blank` links and `window.open`: never a second app window.
        .on_new_window(|target, _features| {
            if matches!(target.scheme(), "http" | "https") {
                open_in_browser(&target);
            }
            NewWindowResponse::Deny
        })
        .on_page_load(move |_window, payload| {
            if payload.event() == PageLoadEvent::Finished
                && first_load.swap(false, Ordering::SeqCst)
            {
                // The launch-to-window time the desktop test reports.
                tracing::info!(ms = launched.elapsed().as_millis() as u64, "window ready");
            }
        })
        .build()?;

    let handle = window.clone();
    window.on_window_event(move |event| match event {
        WindowEvent::CloseRequested { api, .. } => {
            // Closing hides to the tray: notifications keep coming until Quit.
            api.prevent_close();
            let _ = handle.hide();
            set_focused(handle.app_handle(), false);
            // The state plugin saves only at exit; a logout that kills the app must not lose it.
            let _ = handle
                .app_handle()
                .save_window_state(StateFlags::all() - StateFlags::VISIBLE);
        }
        WindowEvent::Focused(focused) => set_focused(handle.app_handle(), *focused),
        _ => {}
    });
    Ok(window)
}

fn set_focused(app: &AppHandle, focused: bool) {
    if let Some(engine) = app.state::<crate::Shell>().engine() {
        engine.set_window_focused(focused);
    }
}

/// Bring the main window to the front (tray "Open", a second launch, a notification click).
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Show the window on one chat.
pub fn open_chat(app: &AppHandle, chat_id: Option<&str>) {
    show(app);
    if let Some(chat_id) = chat_id {
        go_to(app, chat_id, "");
    }
}

/// Show the window on one chat's thread with the composer focused (a notification's Reply).
pub fn open_reply(app: &AppHandle, chat_id: &str) {
    show(app);
    go_to(app, chat_id, "/reply");
}

/// Routes the window to `#/chats/<chat_id><rest>`.
fn go_to(app: &AppHandle, chat_id: &str, rest: &'static str) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    // The UI routes on the hash; the id is hostile text, so it reaches the script only as a
    // JSON string literal.
    let Ok(literal) = serde_json::to_string(chat_id) else {
        return;
    };
    let script =
        format!("window.location.hash = '#/chats/' + encodeURIComponent({literal}) + '{rest}';");
    if let Err(err) = window.eval(&script) {
        tracing::warn!(%err, "could not open the chat in the window");
    }
}

fn open_in_browser(target: &Url) {
    tracing::info!(
        host = target.host_str().unwrap_or(""),
        "opening a link in the browser"
    );
    if let Err(err) = open::that_detached(target.as_str()) {
        tracing::warn!(%err, "could not start the system browser");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_ui_origin_stays_in_the_window() {
        let ui = url("http://127.0.0.1:8788/");
        assert_eq!(
            route(&ui, &url("http://127.0.0.1:8788/login?token=x")),
            Route::InApp,
            "the UI's login page stays in the window"
        );
        assert_eq!(
            route(&ui, &url("http://127.0.0.1:8788/#/chats/1")),
            Route::InApp,
            "a UI route stays in the window"
        );
        assert_eq!(
            route(&ui, &url("about:blank")),
            Route::InApp,
            "about:blank stays in the window"
        );
    }

    #[test]
    fn other_web_pages_go_to_the_browser() {
        let ui = url("http://127.0.0.1:8788/");
        assert_eq!(
            route(&ui, &url("https://example.com/x")),
            Route::Browser,
            "another site opens in the browser, not in the app window"
        );
        assert_eq!(
            route(&ui, &url("http://127.0.0.1:9999/")),
            Route::Browser,
            "another local port is another site"
        );
        assert_eq!(
            route(&ui, &url("http://localhost:8788/")),
            Route::Browser,
            "another host name is another origin, even for the same server"
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        let ui = url("http://127.0.0.1:8788/");
        for s in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,hi",
            "tel:+15551234567",
            "about:config",
        ] {
            assert_eq!(route(&ui, &url(s)), Route::Refuse, "{s}");
        }
    }
}
