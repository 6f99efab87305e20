//! The engine as one running thing: store, writer, feed, webhook listener and UI server.
//! `linq-inbox serve` and the desktop app both start it through here, with the same settings.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};

use crate::attachments::Attachments;
use crate::config::Settings;
use crate::feed::{self, LiveState, Presence, StreamEvent, TypingState};
use crate::http::login_item::LoginItem;
use crate::http::{self, ApiError, ApiState, Auth, StatusInfo};
use crate::ingest::{Ingest, WriterOptions};
use crate::linq_api::sync::{watch_clock, watch_logind, CatchUp, Trigger};
use crate::store::settings::{self as prefs, SettingsPatch, UiSettings};
use crate::store::{chats, Store, StoreError};

/// Why the engine did not start; each is one sentence for the rep (the CLI and the desktop app
/// print it and exit non-zero).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database could not be opened, migrated or read.
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr} for the {what}: {reason}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        reason: String,
    },
    /// A thread or runtime the engine runs on could not be started (out of memory or threads).
    #[error("could not start the {what}: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
    /// The key that signs UI sessions could not be read or created in the data folder.
    #[error("cannot keep the session key in the data folder {dir}: {source}")]
    SessionKey {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::ingest::StartError> for EngineError {
    fn from(e: crate::ingest::StartError) -> EngineError {
        match e {
            crate::ingest::StartError::Store(e) => EngineError::Store(e),
            crate::ingest::StartError::Thread(source) => EngineError::Thread {
                what: "writer thread",
                source,
            },
        }
    }
}

/// How long after start the first catch-up pass begins.
const START_PASS_DELAY: Duration = Duration::from_secs(2);

pub struct Engine {
    store: Store,
    ingest: Ingest,
    live: LiveState,
    auth: Arc<Auth>,
    webhook_addr: SocketAddr,
    ui_addr: SocketAddr,
    shutdown: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Holds the tunnel the app may run, stopped with the engine, and the path's last check.
    linq: Arc<http::connect::ConnectState>,
    /// What the UI API works on, for the shell's notification actions.
    api: Arc<ApiState>,
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, EngineError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(addr, what, e))
}

fn bind_error(addr: SocketAddr, what: &'static str, e: std::io::Error) -> EngineError {
    let reason = if e.kind() == std::io::ErrorKind::AddrInUse {
        "the port is already in use (is another linq-inbox running?)".to_string()
    } else {
        e.to_string()
    };
    EngineError::Bind { addr, what, reason }
}

/// A one-worker runtime for the UI server, kept by a thread of its own for the life of the
/// process; `Engine::shutdown` aborts the tasks spawned on it.
fn ui_runtime() -> Result<tokio::runtime::Handle, EngineError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("linq-ui")
        .enable_all()
        .build()
        .map_err(|source| EngineError::Thread {
            what: "UI server's runtime",
            source,
        })?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("linq-ui-runtime".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|source| EngineError::Thread {
            what: "UI server's thread",
            source,
        })?;
    Ok(handle)
}

/// Everything the two servers share, built before any socket: the store, the writer, the live
/// feed state, the secrets, and the servers' states.
struct Parts {
    store: Store,
    ingest: Ingest,
    live: LiveState,
    secrets: Arc<RwLock<Vec<crate::linq::Secret>>>,
    auth: Arc<Auth>,
    webhook_state: Arc<http::webhook::WebhookState>,
    api: Arc<ApiState>,
    linq: Arc<http::connect::ConnectState>,
    activity: crate::memory::Activity,
    catch_up: CatchUp,
    demo: Arc<http::demo::Demo>,
    login_item: Option<Arc<dyn LoginItem>>,
}

impl Parts {
    /// Opens the store, starts the writer and the feed builder. Must run inside a tokio runtime.
    fn assemble(
        settings: &Settings,
        webhook_addr: SocketAddr,
        ui_addr: SocketAddr,
        login_item: Option<Arc<dyn LoginItem>>,
    ) -> Result<Parts, EngineError> {
        crate::memory::bound_sqlite();
        let store = Store::open(&settings.data_dir)?;
        let ui_settings = prefs::load(&store.reader()?)?;
        let retention = Duration::from_secs(settings.typing_retention_hours.saturating_mul(3600));
        let ingest = Ingest::start(
            &store,
            WriterOptions {
                typing_retention: retention,
                wal_restart_frames: crate::ingest::WAL_RESTART_FRAMES,
            },
            tokio::runtime::Handle::current(),
        )?;
        let live = LiveState::new(ui_settings);
        feed::spawn_builder(
            &store,
            live.clone(),
            ingest.projected(),
            tokio::runtime::Handle::current(),
        )?;

        let secrets = Arc::new(RwLock::new(settings.secrets.clone()));
        let session_key = http::auth::session_key(&settings.data_dir).map_err(|source| {
            EngineError::SessionKey {
                dir: settings.data_dir.clone(),
                source,
            }
        })?;
        let auth = Arc::new(Auth::new(
            settings.ui_token.clone(),
            ui_addr.port(),
            session_key,
        ));
        let webhook_state = Arc::new(http::webhook::WebhookState {
            ingest: ingest.clone(),
            secrets: secrets.clone(),
            allow_unsigned: settings.allow_unsigned,
        });
        let linq_connection = crate::linq_api::ConnectSettings::from_settings(settings);
        let activity = crate::memory::Activity::default();
        let catch_up = CatchUp::start(
            linq_connection.clone(),
            ingest.clone(),
            store.clone(),
            Arc::new(publish_sync(live.clone())),
        );
        let outbox = crate::linq_api::outbox::Outbox::start(
            linq_connection.clone(),
            ingest.clone(),
            store.clone(),
            settings.data_dir.join(crate::attachments::FOLDER),
        );
        let api = Arc::new(ApiState {
            store: store.clone(),
            readers: Mutex::new(Vec::new()),
            ingest: ingest.clone(),
            live: live.clone(),
            info: StatusInfo {
                listen: webhook_addr.to_string(),
                webhook_path: settings.webhook_path.clone(),
                ui_listen: ui_addr.to_string(),
                secret_source: settings.secret_source,
                allow_unsigned: settings.allow_unsigned,
                data_dir: settings.data_dir.clone(),
                typing_retention_hours: settings.typing_retention_hours,
            },
            secrets: secrets.clone(),
            activity: activity.clone(),
            attachments: Attachments::new(&settings.data_dir, settings.attachments),
            catch_up: catch_up.clone(),
            outbox,
            typing: crate::linq_api::typing::Typing::start(linq_connection.clone()),
        });
        let linq = Arc::new(http::connect::ConnectState {
            connection: linq_connection,
            secrets: secrets.clone(),
            api: api.clone(),
            path: std::sync::RwLock::new(None),
            tunnel: http::tunnel::Tunnel::default(),
            listener: webhook_addr,
        });
        let demo = Arc::new(http::demo::Demo::new(
            crate::config::webhook_url(webhook_addr, &settings.webhook_path),
            secrets.clone(),
        ));
        Ok(Parts {
            store,
            ingest,
            live,
            secrets,
            auth,
            webhook_state,
            api,
            linq,
            activity,
            catch_up,
            demo,
            login_item,
        })
    }
}

/// The UI server's whole router (auth guard, API, stream, `/api/linq/*`, static UI) over the data
/// folder of `settings`, without binding a socket: tests drive it with `tower`'s `oneshot`. The
/// Host and Origin checks expect `settings.ui_listen`'s port. Starts the writer and the feed
/// builder like the engine does; must run inside a tokio runtime.
pub fn ui_router(settings: &Settings) -> Result<axum::Router, EngineError> {
    let parts = Parts::assemble(settings, settings.listen, settings.ui_listen, None)?;
    Ok(http::ui_router(
        parts.api,
        parts.auth,
        parts.linq,
        parts.demo,
        parts.login_item,
    ))
}

impl Engine {
    /// Opens the store and starts everything. Must run inside a tokio runtime.
    pub async fn start(settings: Settings) -> Result<Engine, EngineError> {
        Engine::start_with(settings, None).await
    }

    /// Like [`Engine::start`], for the desktop app: Settings can switch its start at login.
    pub async fn start_in_shell(
        settings: Settings,
        login_item: Arc<dyn LoginItem>,
    ) -> Result<Engine, EngineError> {
        Engine::start_with(settings, Some(login_item)).await
    }

    async fn start_with(
        settings: Settings,
        login_item: Option<Arc<dyn LoginItem>>,
    ) -> Result<Engine, EngineError> {
        let webhook_listener = bind(settings.listen, "webhook listener").await?;
        let ui_listener = bind(settings.ui_listen, "UI server").await?;
        let webhook_addr = webhook_listener.local_addr().unwrap_or(settings.listen);
        let ui_addr = ui_listener.local_addr().unwrap_or(settings.ui_listen);

        let Parts {
            store,
            ingest,
            live,
            secrets,
            auth,
            webhook_state,
            api,
            linq,
            activity,
            catch_up,
            demo,
            login_item,
        } = Parts::assemble(&settings, webhook_addr, ui_addr, login_item)?;

        let mut shutdown = Vec::new();
        let mut tasks = Vec::new();
        let webhook_app = http::webhook::router(&settings.webhook_path, webhook_state)
            .into_make_service_with_connect_info::<SocketAddr>();
        let (tx, rx) = oneshot::channel::<()>();
        shutdown.push(tx);
        tasks.push(tokio::spawn(async move {
            let server = axum::serve(http::without_nagle(webhook_listener), webhook_app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "webhook listener stopped");
            }
        }));
        // Every attachment the inbox holds is downloaded in the background, apart from ingest.
        let fresh = crate::linq_api::attachment_url::AttachmentUrls::for_account(
            crate::linq_api::ConnectSettings::from_settings(&settings),
        )
        .map(|urls| Arc::new(urls) as Arc<dyn crate::attachments::fetch::FreshUrl>);
        tasks.extend(
            api.attachments
                .spawn(&settings, &store, &ingest, &live, fresh),
        );
        let watched = linq.clone();
        let owner = linq.clone();
        let shell_api = api.clone();
        // The UI server runs on a runtime of its own, so a flood on the webhook listener (the
        // port the internet reaches) cannot queue the rep's own requests behind its tasks.
        let ui_app = http::ui_router(api, auth.clone(), linq, demo, login_item);
        let ui_runtime = ui_runtime()?;
        let ui_listener = ui_listener
            .into_std()
            .map_err(|e| bind_error(ui_addr, "UI server", e))?;
        let (tx, rx) = oneshot::channel::<()>();
        shutdown.push(tx);
        tasks.push(ui_runtime.spawn(async move {
            let server = TcpListener::from_std(ui_listener).map(|listener| {
                axum::serve(http::without_nagle(listener), ui_app).with_graceful_shutdown(async {
                    let _ = rx.await;
                })
            });
            match server {
                Ok(server) => {
                    if let Err(e) = server.await {
                        tracing::error!(error = %e, "UI server stopped");
                    }
                }
                Err(e) => tracing::error!(error = %e, "UI server could not start"),
            }
        }));
        tasks.push(tokio::spawn(expire_typing(live.clone())));
        tasks.push(tokio::spawn(crate::memory::release_when_quiet(
            activity,
            ingest.committed(),
        )));
        // What webhooks missed while the app was not running; later, what they miss while the
        // machine sleeps.
        // A moment after start, so the desktop shell's notifier is listening when the pass
        // ends (its summary is the rep's "while you were away").
        let starting = catch_up.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(START_PASS_DELAY).await;
            starting.request(Trigger::Start);
        }));
        tasks.push(tokio::spawn(watch_clock(catch_up.clone())));
        // The path Linq → tunnel → listener, checked at start and then every few minutes.
        tasks.push(tokio::spawn(http::path_watch::watch_path(
            watched,
            settings.self_test_every,
        )));
        watch_logind(catch_up);
        // Rotations by the CLI and the end of a grace period reach the listener from here.
        tasks.push(tokio::spawn(crate::linq_api::connection::keep_secrets(
            settings.data_dir.clone(),
            settings.secret_source,
            secrets,
        )));

        Ok(Engine {
            store,
            ingest,
            live,
            auth,
            webhook_addr,
            ui_addr,
            shutdown,
            tasks,
            linq: owner,
            api: shell_api,
        })
    }

    pub fn login_url(&self) -> String {
        self.auth.login_url()
    }

    pub fn ui_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.ui_addr.port())
    }

    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhook_addr
    }

    pub fn ui_addr(&self) -> SocketAddr {
        self.ui_addr
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StreamEvent>> {
        self.live.events.subscribe()
    }

    pub fn ui_settings(&self) -> Result<UiSettings, StoreError> {
        Ok(self.live.settings())
    }

    pub fn update_ui_settings(&self, patch: SettingsPatch) -> Result<UiSettings, StoreError> {
        let updated = patch.apply(self.live.settings())?;
        prefs::save(&self.store.writer()?, &updated)?;
        if let Ok(mut s) = self.live.settings.write() {
            *s = updated.clone();
        }
        Ok(updated)
    }

    pub fn presence(&self) -> Presence {
        self.live.presence()
    }

    pub fn set_window_focused(&self, focused: bool) {
        if let Ok(mut p) = self.live.presence.lock() {
            p.focused = focused;
        }
    }

    pub fn unread_total(&self, exclude_muted: bool) -> Result<u64, StoreError> {
        let muted = if exclude_muted {
            self.live.settings().muted_chats
        } else {
            Vec::new()
        };
        chats::unread_total(&self.store.reader()?, &muted)
    }

    /// Marks `chat_id` read exactly as `POST /api/chats/{chat_id}/read` does (a notification's
    /// "Mark as read"); answers how many unread messages the chat still has.
    pub async fn mark_read(&self, chat_id: &str) -> Result<u64, ApiError> {
        let answer = http::api::mark_chat_read(&self.api, chat_id.to_string()).await?;
        Ok(answer["unread_count"].as_u64().unwrap_or(0))
    }

    /// Queues `text` as a reply in `chat_id` through the outbox, exactly as `POST
    /// /api/chats/{chat_id}/messages` does, under a fresh client id (a notification's inline
    /// reply); answers that client id. The chat's draft in the window stays.
    pub async fn reply(&self, chat_id: &str, text: &str) -> Result<String, ApiError> {
        let client_id = crate::store::outbox::new_client_id();
        let reply = http::outbox::Reply {
            text: text.to_string(),
            client_id: client_id.clone(),
            reply_to: None,
            attachments: Vec::new(),
            keeps_draft: true,
        };
        http::outbox::queue_reply(&self.api, chat_id.to_string(), reply).await?;
        Ok(client_id)
    }

    /// Where the path Linq → tunnel → app breaks, as the last self-test found it; `None` while
    /// it works or before it was checked (the tray's warning).
    pub fn path_broken(&self) -> Option<crate::linq_api::delivery::Stage> {
        let last = self.linq.path.read().ok()?;
        last.as_ref().filter(|report| !report.ok).map(|r| r.stage)
    }

    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// Stops accepting connections and lets in-flight requests finish.
    pub async fn shutdown(self) {
        // The tunnel program first: it must not outlive the app.
        self.linq.tunnel.stop().await;
        for tx in self.shutdown {
            let _ = tx.send(());
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Puts the catch-up pass's status on the stream (`event: sync`). A finished pass that found
/// unread messages carries an event id of its own, so its one summary notification is shown once.
fn publish_sync(live: LiveState) -> impl Fn(&crate::store::sync::SyncStatus) + Send + Sync {
    move |status| {
        let finished = status.state == "done" && status.away > 0;
        let data = feed::FeedData {
            event_type: Some("sync".into()),
            event_id: finished
                .then(|| format!("sync-{}", status.started_at.as_deref().unwrap_or_default())),
            sync: Some(status.clone()),
            ..feed::FeedData::default()
        };
        live.publish(StreamEvent::new(None, "sync", data));
    }
}

/// Clears typing dots 30 s after their last refresh and tells the streams.
async fn expire_typing(live: LiveState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for chat_id in live.typing.expire(Instant::now()) {
            let typing = live.typing.typing_in(&chat_id);
            let data = feed::FeedData {
                chat_id: Some(chat_id.clone()),
                typing: Some(TypingState { chat_id, typing }),
                ..feed::FeedData::default()
            };
            live.publish(StreamEvent::new(None, "typing", data));
        }
    }
}
