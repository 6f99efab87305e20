//! Start at login, switched from the tray menu or from the UI's Settings (the engine's
//! `PUT /api/start-at-login` calls [`AtLogin`]).
//!
//! Tauri's autostart plugin does the platform's part: on Linux an XDG autostart entry,
//! `~/.config/autostart/Linq Inbox.desktop`, whose `Exec` runs this binary with `--hidden` (the
//! app starts in the tray); a LaunchAgent on macOS; the `Run` registry key on Windows.

use std::sync::Arc;

use linq_inbox::http::login_item::{LoginItem, SwitchError};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

use crate::tray::Tray;

pub struct AtLogin {
    app: AppHandle,
}

impl AtLogin {
    pub fn new(app: AppHandle) -> AtLogin {
        AtLogin { app }
    }
}

impl LoginItem for AtLogin {
    fn is_enabled(&self) -> Result<bool, SwitchError> {
        self.app.autolaunch().is_enabled().map_err(|err| {
            SwitchError(format!(
                "could not read whether the app starts at login: {err}"
            ))
        })
    }

    fn set_enabled(&self, enabled: bool) -> Result<(), SwitchError> {
        let autolaunch = self.app.autolaunch();
        if enabled {
            autolaunch.enable()
        } else {
            autolaunch.disable()
        }
        .map_err(|err| SwitchError(format!("could not change start at login: {err}")))?;
        // The tray's check mark follows a switch made in Settings.
        if let Some(tray) = self.app.try_state::<Arc<Tray>>() {
            tray.show_start_at_login(enabled);
        }
        Ok(())
    }
}
