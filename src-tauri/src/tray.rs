//! The tray icon: unread count at a glance, and the few things a rep does without the window.
//!
//! Linux tray hosts (StatusNotifier/AppIndicator) show no badge and no tooltip, so the count
//! is shown three ways: a dot on the icon, the icon's label, and the first menu line. When the
//! self-test finds the path Linq delivers through broken, the icon turns to a warning and the
//! first line says where it breaks, until a check passes again.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Local, TimeDelta, Utc};
use linq_inbox::http::login_item::LoginItem;
use linq_inbox::linq_api::delivery::Stage;
use linq_inbox::store::settings::{SettingsPatch, UiSettings};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

use crate::login_item::AtLogin;
use crate::window;

const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../icons/tray-unread.png");
const ICON_WARNING: &[u8] = include_bytes!("../../icons/tray-warning.png");

/// What the tray shows, so it is only redrawn when something changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrayState {
    pub unread: u64,
    /// When paused: until when (`None` = until resumed).
    pub paused: Option<Option<DateTime<Utc>>>,
    /// Where the path Linq → tunnel → app breaks, while the self-test finds it broken.
    pub broken: Option<Stage>,
}

pub struct Tray {
    icon: TrayIcon,
    status: MenuItem<tauri::Wry>,
    resume: MenuItem<tauri::Wry>,
    at_login: CheckMenuItem<tauri::Wry>,
    shown: Mutex<Option<TrayState>>,
}

impl Tray {
    pub fn create(app: &AppHandle) -> tauri::Result<Tray> {
        let status = MenuItem::with_id(app, "status", "No unread messages", false, None::<&str>)?;
        let open = MenuItem::with_id(app, "open", "Open Linq Inbox", true, None::<&str>)?;
        let hour = MenuItem::with_id(app, "pause-hour", "For 1 hour", true, None::<&str>)?;
        let tomorrow =
            MenuItem::with_id(app, "pause-tomorrow", "Until tomorrow", true, None::<&str>)?;
        let resume = MenuItem::with_id(app, "resume", "Resume", false, None::<&str>)?;
        let pause = Submenu::with_items(
            app,
            "Pause notifications",
            true,
            &[&hour, &tomorrow, &resume],
        )?;
        let at_login = app.autolaunch().is_enabled().unwrap_or(false);
        let autostart = CheckMenuItem::with_id(
            app,
            "autostart",
            "Start at login",
            true,
            at_login,
            None::<&str>,
        )?;
        let quit = MenuItem::with_id(app, "quit", "Quit Linq Inbox", true, None::<&str>)?;
        let menu = Menu::with_items(
            app,
            &[
                &status,
                &PredefinedMenuItem::separator(app)?,
                &open,
                &pause,
                &autostart,
                &PredefinedMenuItem::separator(app)?,
                &quit,
            ],
        )?;
        let icon = TrayIconBuilder::with_id("main")
            .icon(Image::from_bytes(ICON)?)
            .tooltip("Linq Inbox")
            .menu(&menu)
            .on_menu_event(on_menu)
            .build(app)?;
        Ok(Tray {
            icon,
            status,
            resume,
            at_login: autostart,
            shown: Mutex::new(None),
        })
    }

    /// The "Start at login" check mark, after a switch made elsewhere (Settings).
    pub fn show_start_at_login(&self, enabled: bool) {
        if let Err(err) = self.at_login.set_checked(enabled) {
            tracing::warn!(%err, "could not update the tray's start-at-login mark");
        }
    }

    /// Redraw the tray if `state` differs from what it shows.
    pub fn show(&self, state: TrayState) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if shown.as_ref() == Some(&state) {
            return;
        }
        let icon = icon_of(&state);
        let result = Image::from_bytes(icon)
            .and_then(|image| self.icon.set_icon(Some(image)))
            .and_then(|()| {
                let label = (state.unread > 0).then(|| state.unread.to_string());
                self.icon.set_title(label)
            })
            .and_then(|()| self.status.set_text(status_line(&state)))
            .and_then(|()| self.resume.set_enabled(state.paused.is_some()));
        match result {
            Ok(()) => *shown = Some(state),
            Err(err) => tracing::warn!(%err, "could not update the tray"),
        }
    }
}

/// The icon: the warning while the path is broken (the count stays in the label), else the
/// dot while anything is unread.
fn icon_of(state: &TrayState) -> &'static [u8] {
    if state.broken.is_some() {
        ICON_WARNING
    } else if state.unread > 0 {
        ICON_UNREAD
    } else {
        ICON
    }
}

/// The first menu line: where deliveries break while they do; else the unread count, and the
/// pause if there is one.
pub fn status_line(state: &TrayState) -> String {
    if let Some(stage) = state.broken {
        return format!("Linq deliveries failing: {}", where_it_breaks(stage));
    }
    let unread = match state.unread {
        0 => "No unread messages".to_owned(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    };
    match state.paused {
        None => unread,
        Some(None) => format!("{unread} · notifications paused"),
        Some(Some(until)) => format!(
            "{unread} · paused until {}",
            until.with_timezone(&Local).format("%a %H:%M")
        ),
    }
}

/// A few words on where the path breaks (Setup says what to do about it).
fn where_it_breaks(stage: Stage) -> &'static str {
    match stage {
        Stage::Delivered => "none",
        Stage::Dns => "tunnel address not found",
        Stage::Tls => "TLS handshake fails",
        Stage::Timeout => "tunnel not answering",
        Stage::Connect => "tunnel not running",
        Stage::Signature => "secret mismatch",
        Stage::Path => "wrong webhook path",
        Stage::Tunnel => "tunnel cannot reach the app",
        Stage::Status | Stage::NotStored => "another server answers",
    }
}

/// When "until tomorrow" ends: 8:00 tomorrow morning, local time.
pub fn tomorrow_morning(now: DateTime<Local>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + TimeDelta::days(1);
    tomorrow
        .and_hms_opt(8, 0, 0)
        .and_then(|t| t.and_local_timezone(Local).earliest())
        .map(|t| t.with_timezone(&Utc))
        // A clock change that skips 8:00 (none does) would still end the pause within a day.
        .unwrap_or_else(|| now.with_timezone(&Utc) + TimeDelta::hours(24))
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        "open" => window::show(app),
        "pause-hour" => pause(app, Some(Utc::now() + TimeDelta::hours(1))),
        "pause-tomorrow" => pause(app, Some(tomorrow_morning(Local::now()))),
        "resume" => pause(app, None),
        "autostart" => toggle_autostart(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// A pause is the UI settings' do-not-disturb, so the window's settings page shows it too:
/// a timed pause sets `dnd_until`; Resume also switches off a do-not-disturb set in the UI.
fn pause(app: &AppHandle, until: Option<DateTime<Utc>>) {
    let Some(engine) = app.state::<crate::Shell>().engine() else {
        return;
    };
    let patch = SettingsPatch {
        do_not_disturb: until.is_none().then_some(false),
        dnd_until: Some(until),
        ..SettingsPatch::default()
    };
    if let Err(err) = engine.update_ui_settings(patch) {
        tracing::warn!(%err, "could not change do-not-disturb");
    }
}

/// The tray's view of the pause: `Some(None)` while do-not-disturb is switched on, the end of a
/// timed pause while one lasts, `None` otherwise.
pub fn pause_of(settings: &UiSettings, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
    if settings.do_not_disturb {
        Some(None)
    } else {
        settings.dnd_until.filter(|until| now < *until).map(Some)
    }
}

/// The menu item toggles its own check mark; the switch is the same one Settings uses.
fn toggle_autostart(app: &AppHandle) {
    let at_login = AtLogin::new(app.clone());
    let result = at_login
        .is_enabled()
        .and_then(|enabled| at_login.set_enabled(!enabled));
    if let Err(err) = result {
        tracing::warn!(%err, "could not change start at login");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike};

    #[test]
    fn the_status_line_counts_and_tells_about_a_pause() {
        let state = TrayState {
            unread: 3,
            ..TrayState::default()
        };
        assert_eq!(
            status_line(&state),
            "3 unread messages",
            "the tray counts unread messages"
        );
        let state = TrayState {
            unread: 1,
            paused: Some(None),
            broken: None,
        };
        assert_eq!(
            status_line(&state),
            "1 unread message · notifications paused",
            "one unread is singular and a pause is mentioned"
        );
    }

    #[test]
    fn a_broken_path_shows_the_warning_and_where_it_breaks_until_it_recovers() {
        let broken = TrayState {
            unread: 2,
            paused: Some(None),
            broken: Some(Stage::Connect),
        };
        assert_eq!(
            status_line(&broken),
            "Linq deliveries failing: tunnel not running",
            "a broken path outranks the count and the pause on the first line"
        );
        assert_eq!(
            icon_of(&broken),
            ICON_WARNING,
            "the warning icon while it is broken"
        );
        let recovered = TrayState {
            broken: None,
            ..broken
        };
        assert_eq!(
            status_line(&recovered),
            "2 unread messages · notifications paused",
            "recovery brings the usual line back"
        );
        assert_eq!(icon_of(&recovered), ICON_UNREAD, "and the usual icon");
        assert_eq!(
            icon_of(&TrayState::default()),
            ICON,
            "nothing unread, nothing broken"
        );
    }

    #[test]
    fn every_broken_stage_has_its_own_few_words() {
        let stages = [
            Stage::Dns,
            Stage::Tls,
            Stage::Timeout,
            Stage::Connect,
            Stage::Signature,
            Stage::Path,
            Stage::Tunnel,
            Stage::Status,
        ];
        let lines: Vec<String> = stages
            .iter()
            .map(|&stage| {
                status_line(&TrayState {
                    broken: Some(stage),
                    ..TrayState::default()
                })
            })
            .collect();
        for (stage, line) in stages.iter().zip(&lines) {
            assert!(
                line.starts_with("Linq deliveries failing: ") && line.split(' ').count() <= 9,
                "{stage:?}: a few words on the first menu line, got {line:?}"
            );
        }
        let distinct: std::collections::HashSet<_> = lines.iter().collect();
        assert_eq!(
            distinct.len(),
            stages.len(),
            "each stage says its own place: {lines:?}"
        );
        assert_eq!(
            where_it_breaks(Stage::NotStored),
            where_it_breaks(Stage::Status),
            "a 200 from something else and another status are both another server"
        );
    }

    #[test]
    fn the_pause_shown_is_the_switch_or_a_timed_pause_still_running() {
        let now = Utc::now();
        let off = UiSettings::default();
        assert_eq!(
            pause_of(&off, now),
            None,
            "no switch and no timed pause shows no pause"
        );
        let switched = UiSettings {
            do_not_disturb: true,
            ..UiSettings::default()
        };
        assert_eq!(pause_of(&switched, now), Some(None), "on until resumed");
        let hour = now + TimeDelta::hours(1);
        let timed = UiSettings {
            dnd_until: Some(hour),
            ..UiSettings::default()
        };
        assert_eq!(
            pause_of(&timed, now),
            Some(Some(hour)),
            "a timed pause shows when it ends"
        );
        assert_eq!(
            pause_of(&timed, hour + TimeDelta::seconds(1)),
            None,
            "a pause that ended shows nothing"
        );
    }

    #[test]
    fn until_tomorrow_means_tomorrow_morning() {
        let late = Local
            .with_ymd_and_hms(2026, 11, 27, 23, 30, 0)
            .earliest()
            .unwrap_or_else(Local::now);
        let end = tomorrow_morning(late).with_timezone(&Local);
        assert_eq!(end.day(), 28, "the next calendar day, not 24 hours on");
        assert_eq!(
            (end.hour(), end.minute()),
            (8, 0),
            "until tomorrow ends at 8:00"
        );
    }
}
