//! The loop between the engine's change feed and the desktop: every committed event goes
//! through the notification policy; what it decides to show goes to the notification server;
//! once a second, held summaries are released and the tray is brought up to date (unread count,
//! pause, and whether the path Linq delivers through is broken).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use linq_inbox::engine::Engine;
use linq_inbox::notify::{Decision, Incoming, Policy, Viewing, What};
use linq_inbox::store::settings::UiSettings;
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::desktop::Desktop;
use crate::responses::{Responses, Shown};
use crate::tray::{self, Tray, TrayState};

/// How often the unread count is re-read when no event arrived (the UI marking a chat read
/// changes it without a feed event).
const UNREAD_REFRESH_TICKS: u32 = 5;

pub async fn run(
    app: AppHandle,
    engine: Arc<Engine>,
    tray: Arc<Tray>,
    mut stop: watch::Receiver<bool>,
) {
    let mut events = engine.subscribe();
    let mut policy = Policy::default();
    // Listening before the first notification shows, so no action on it is missed.
    let shown = Shown::default();
    let mut bus = None;
    if let Some(responses) = Responses::subscribe().await {
        bus = Some(responses.connection());
        tauri::async_runtime::spawn(responses.run(
            app.clone(),
            engine.clone(),
            shown.clone(),
            stop.clone(),
        ));
    }
    let desktop = Desktop::new(bus, app.path().app_cache_dir().ok(), shown);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks_since_refresh = UNREAD_REFRESH_TICKS;
    let mut changed = true;
    let mut unread = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            received = events.recv() => match received {
                Ok(event) => {
                    changed = true;
                    let incoming = Incoming::from(&event.data);
                    if incoming.what == What::Other {
                        continue;
                    }
                    let (prefs, viewing) = now_state(&engine);
                    match policy.decide(&incoming, &prefs, &viewing, Utc::now()) {
                        Decision::Show(n) => desktop.show(n),
                        Decision::Suppress(why) => tracing::debug!(
                            event = %event.event,
                            %why,
                            "no notification"
                        ),
                    }
                }
                // Events this loop fell behind on are minutes old by now: not worth a
                // notification, but the unread count must be re-read.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "notification loop fell behind the feed");
                    changed = true;
                }
                Err(RecvError::Closed) => break,
            },
            _ = ticker.tick() => {
                let (prefs, viewing) = now_state(&engine);
                let now = Utc::now();
                for n in policy.tick(&prefs, &viewing, now) {
                    desktop.show(n);
                }
                ticks_since_refresh += 1;
                if changed || ticks_since_refresh >= UNREAD_REFRESH_TICKS {
                    changed = false;
                    ticks_since_refresh = 0;
                    match engine.unread_total(true) {
                        Ok(count) => unread = count,
                        Err(err) => tracing::warn!(%err, "could not count unread messages"),
                    }
                }
                tray.show(TrayState {
                    unread,
                    paused: tray::pause_of(&prefs, now),
                    broken: engine.path_broken(),
                });
            }
        }
    }
}

/// The rep's preferences and what the window shows, read fresh for every decision so a mute or
/// a pause applies to the very next event.
fn now_state(engine: &Engine) -> (UiSettings, Viewing) {
    let prefs = engine.ui_settings().unwrap_or_else(|err| {
        // Notifying by the defaults beats going silent while the disk has trouble.
        tracing::warn!(%err, "could not read notification settings; using defaults");
        UiSettings::default()
    });
    (prefs, Viewing::from(&engine.presence()))
}
