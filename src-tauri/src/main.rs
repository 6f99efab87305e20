//! Linq Inbox on the desktop: the engine in-process, its web UI in a window, a tray icon with
//! the unread count, and desktop notifications.
//!
//! This crate holds no product logic. What deserves a notification is decided by the engine's
//! pure policy (`linq_inbox::notify`); what the window shows is the engine's own UI server,
//! reached through its one-time login URL, so the page needs no Tauri IPC at all. The shell
//! only adapts those two to the desktop: Tauri for the window and tray, zbus for the
//! notification server.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod actions;
mod desktop;
mod login_item;
mod notifier;
#[cfg(target_os = "linux")]
mod rendering;
mod responses;
mod tray;
mod window;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use clap::{CommandFactory, Parser};
use linq_inbox::config::{Settings, SettingsArgs};
use linq_inbox::engine::Engine;
use tauri::{App, AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;
use tauri_plugin_window_state::StateFlags;
use tokio::sync::watch;

#[derive(Parser, Debug)]
#[command(
    name = "linq-inbox-desktop",
    version,
    about = "Linq Inbox on your desktop: messages, calls and notifications from Linq"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Start in the tray without opening the window (what start-at-login uses).
    #[arg(long)]
    hidden: bool,
    /// Write the man page and shell completions into DIR (what the package recipe runs).
    #[arg(long = linq_inbox::cli_docs::FLAG, hide = true, value_name = "DIR", exclusive = true)]
    generate_docs: Option<std::path::PathBuf>,
}

/// What the tray, the window and the exit path share, kept in Tauri's state.
pub struct Shell {
    /// Taken out once, at exit, to shut the engine down cleanly.
    engine: Mutex<Option<Arc<Engine>>>,
    stop: watch::Sender<bool>,
    notifier: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl Shell {
    /// The running engine; `None` only while the app exits.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn main() -> ExitCode {
    let allocators = linq_inbox::memory::set_up_allocators();
    let launched = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINQ_INBOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = allocators {
        tracing::warn!(error = %e, "SQLite's memory stays on the system allocator");
    }
    // Before anything starts a thread or touches GTK.
    #[cfg(target_os = "linux")]
    rendering::configure();
    let cli = Cli::parse();
    if let Some(dir) = &cli.generate_docs {
        return match linq_inbox::cli_docs::write(Cli::command(), dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!(
                    "linq-inbox-desktop: could not write the docs into {}: {err}",
                    dir.display()
                );
                ExitCode::FAILURE
            }
        };
    }
    if !has_display() {
        eprintln!(
            "linq-inbox-desktop needs a graphical session (neither DISPLAY nor WAYLAND_DISPLAY \
             is set): run `linq-inbox serve` and open the URL it prints in a browser instead."
        );
        return ExitCode::from(2);
    }
    let settings = match Settings::resolve(&cli.settings) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("linq-inbox-desktop: {err}");
            return ExitCode::from(2);
        }
    };
    match run(settings, cli.hidden, launched) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!("linq-inbox-desktop: {err}");
            ExitCode::FAILURE
        }
    }
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    /// Its Display is already one sentence for the rep (a port in use, an unreadable folder).
    #[error(transparent)]
    Engine(#[from] linq_inbox::engine::EngineError),
    #[error("the desktop shell could not start: {0}")]
    Tauri(#[from] tauri::Error),
}

fn run(settings: Settings, hidden: bool, launched: Instant) -> Result<i32, StartError> {
    // Plugins initialise inside `build()`: a second launch meets the single-instance plugin
    // there, hands its arguments to the running app (which shows its window) and exits 0,
    // before this one binds any port.
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("second launch; showing the window");
            window::show(app);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                // Visibility is ours: the window starts hidden under `--hidden`, shown otherwise.
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .build(tauri::generate_context!())?;

    // The engine runs on Tauri's tokio runtime; `block_on` here is on the main thread, before
    // the event loop, so it blocks nothing else.
    let at_login = Arc::new(login_item::AtLogin::new(app.handle().clone()));
    let engine = Arc::new(tauri::async_runtime::block_on(Engine::start_in_shell(
        settings, at_login,
    ))?);
    tracing::info!(ui = %engine.ui_url(), "engine started");
    let (stop, stopped) = watch::channel(false);
    app.manage(Shell {
        engine: Mutex::new(Some(engine.clone())),
        stop,
        notifier: Mutex::new(None),
    });
    start_shell(&app, &engine, hidden, launched, stopped)?;
    // From here on the Shell holds the engine, so the exit path can take it back alone.
    drop(engine);
    watch_signals(app.handle().clone());

    Ok(app.run_return(|app, event| match event {
        // Closing the window only hides it, so the loop never runs out of windows; an exit
        // without a code would come from the platform and is refused: Quit is in the tray.
        RunEvent::ExitRequested { api, code, .. } if code.is_none() => api.prevent_exit(),
        RunEvent::Exit => shut_down(app),
        _ => {}
    }))
}

fn start_shell(
    app: &App,
    engine: &Arc<Engine>,
    hidden: bool,
    launched: Instant,
    stopped: watch::Receiver<bool>,
) -> tauri::Result<()> {
    window::create(app.handle(), engine, !hidden, launched)?;
    let tray = Arc::new(tray::Tray::create(app.handle())?);
    app.manage(tray.clone());
    let notifier = tauri::async_runtime::spawn(notifier::run(
        app.handle().clone(),
        engine.clone(),
        tray,
        stopped,
    ));
    let shell = app.state::<Shell>();
    *shell
        .notifier
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(notifier);
    Ok(())
}

/// SIGTERM (logout, `systemctl stop`, a test harness) and Ctrl-C quit like the tray's Quit, so
/// the window state is saved and the engine closes its database cleanly.
fn watch_signals(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot watch for SIGTERM; a kill will skip the clean shutdown");
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("signal received; quitting");
        app.exit(0);
    });
}

fn shut_down(app: &AppHandle) {
    let shell = app.state::<Shell>();
    let _ = shell.stop.send(true);
    let notifier = shell
        .notifier
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let engine = shell
        .engine
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    tauri::async_runtime::block_on(async move {
        if let Some(notifier) = notifier {
            let _ = notifier.await;
        }
        match engine.map(Arc::try_unwrap) {
            Some(Ok(engine)) => engine.shutdown().await,
            Some(Err(_)) => tracing::warn!("engine still in use at exit; skipping its shutdown"),
            None => {}
        }
    });
    tracing::info!("bye");
}
