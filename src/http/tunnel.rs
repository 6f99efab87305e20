//! "Start a tunnel for me": the app runs `cloudflared` (or `ngrok`) as a child, reads the
//! public address it prints, points the subscription at it, and checks the path. When the
//! program exits it is started again; a new address updates the subscription. The engine's
//! shutdown and `DELETE /api/linq/tunnel` stop it and wait for it to exit (`kill_on_drop`
//! covers an abort; on Linux the kernel ends it if the app itself is killed or crashes).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

use crate::tunnel::Program;

/// What to do with each new public address the tunnel prints (point the subscription at it).
pub type OnAddress = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The wait before a tunnel that exited is started again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// The tunnel the app runs, if any.
#[derive(Default)]
pub struct Tunnel {
    inner: Arc<Mutex<TunnelInner>>,
}

#[derive(Default)]
struct TunnelInner {
    task: Option<tokio::task::JoinHandle<()>>,
    /// Set to true to stop the supervisor and its child.
    stop: Option<watch::Sender<bool>>,
    address: Option<String>,
    program: Option<String>,
    restarts: u32,
}

/// What Setup shows about the tunnel.
#[derive(Debug, Clone, Serialize)]
pub struct TunnelStatus {
    /// The program "Start a tunnel for me" uses: the running one, else the first installed.
    pub installed: Option<String>,
    /// Every tunnel program installed (`cloudflared`, `ngrok`), for the rep to pick from.
    pub available: Vec<String>,
    pub running: bool,
    pub address: Option<String>,
    pub restarts: u32,
    /// How to install one (program, system, command), when none is.
    pub install: Vec<(String, String, String)>,
}

/// Neither tunnel program (or not the one asked for) is on `PATH`.
#[derive(Debug)]
pub struct NotInstalled;

impl Tunnel {
    pub fn status(&self) -> TunnelStatus {
        let available: Vec<String> = crate::tunnel::installed(std::env::var_os("PATH").as_deref())
            .into_iter()
            .map(|p| p.name.to_string())
            .collect();
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let running = inner.task.as_ref().is_some_and(|t| !t.is_finished());
        let used = inner.program.clone().filter(|_| running);
        TunnelStatus {
            installed: used.or_else(|| available.first().cloned()),
            install: if available.is_empty() {
                crate::tunnel::INSTALL_HINTS
                    .iter()
                    .map(|(p, s, c)| (p.to_string(), s.to_string(), c.to_string()))
                    .collect()
            } else {
                Vec::new()
            },
            available,
            running,
            address: inner.address.clone(),
            restarts: inner.restarts,
        }
    }

    /// The public address the running program printed last, if any.
    pub fn address(&self) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.address.clone()
    }

    /// Starts the supervisor with `preferred` (else the first program installed) unless it
    /// runs already.
    pub fn start(
        &self,
        listener: SocketAddr,
        preferred: Option<&str>,
        on_address: OnAddress,
    ) -> Result<(), NotInstalled> {
        let path = std::env::var_os("PATH");
        let program = crate::tunnel::find(path.as_deref(), preferred)
            .filter(|p| preferred.is_none_or(|want| want == p.name))
            .ok_or(NotInstalled)?;
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.task.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        let (stop, stopped) = watch::channel(false);
        inner.program = Some(program.name.to_string());
        inner.stop = Some(stop);
        inner.task = Some(tokio::spawn(supervise(
            self.inner.clone(),
            program,
            listener,
            on_address,
            stopped,
        )));
        Ok(())
    }

    /// Stops the tunnel and waits (a few seconds at most) until its program has exited.
    pub async fn stop(&self) {
        let (stop, task) = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.address = None;
            (inner.stop.take(), inner.task.take())
        };
        if let Some(stop) = stop {
            let _ = stop.send(true);
        }
        if let Some(mut task) = task {
            if tokio::time::timeout(Duration::from_secs(3), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

fn set_address(tunnel: &Mutex<TunnelInner>, address: Option<String>, restarted: bool) {
    let mut inner = tunnel.lock().unwrap_or_else(|p| p.into_inner());
    inner.address = address;
    if restarted {
        inner.restarts += 1;
    }
}

/// Runs the program, again whenever it exits, and follows the address it prints.
async fn supervise(
    tunnel: Arc<Mutex<TunnelInner>>,
    program: Program,
    listener: SocketAddr,
    on_address: OnAddress,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let followed = Follow {
            tunnel: &tunnel,
            on_address: &on_address,
        };
        match run_once(&followed, &program, listener, &mut stopped).await {
            Ok(()) if *stopped.borrow() => return,
            Ok(()) => tracing::warn!(
                program = program.name,
                "the tunnel exited; starting it again"
            ),
            Err(e) => {
                tracing::warn!(program = program.name, error = %e, "the tunnel could not start")
            }
        }
        // Every exit is followed by a restart.
        set_address(&tunnel, None, true);
        tokio::time::sleep(RESTART_AFTER).await;
        if *stopped.borrow() {
            return;
        }
    }
}

/// Where a run reports the addresses it reads.
struct Follow<'a> {
    tunnel: &'a Mutex<TunnelInner>,
    on_address: &'a OnAddress,
}

/// Has the kernel send the program SIGTERM when the app goes away without stopping it (killed,
/// crashed): otherwise the tunnel outlives the app, and the next start runs a second one.
/// Linux ties this to the thread that started the program; that is one of the runtime's worker
/// threads, which live as long as the app.
#[cfg(target_os = "linux")]
fn ends_with_the_app(command: &mut Command) {
    let app = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec and calls only prctl and
    // getppid, both async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The app may have gone between fork and prctl: then no signal would ever come.
            if libc::getppid() as u32 != app {
                return Err(std::io::Error::other("the app is gone"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn ends_with_the_app(_: &mut Command) {}

/// One run of the program: connects to each new address it prints, until it exits or is
/// stopped.
async fn run_once(
    follow: &Follow<'_>,
    program: &Program,
    listener: SocketAddr,
    stopped: &mut watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut command = Command::new(&program.path);
    command
        .args(program.args(listener))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    ends_with_the_app(&mut command);
    let mut child = command.spawn()?;
    let (tx, mut lines) = mpsc::channel::<String>(64);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err, tx));
    }
    let mut current: Option<String> = None;
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => {
                    if let Some(address) = program.address_in(&line).filter(|a| Some(a) != current.as_ref()) {
                        tracing::info!(address, "the tunnel's public address");
                        set_address(follow.tunnel, Some(address.clone()), false);
                        (follow.on_address)(address.clone()).await;
                        current = Some(address);
                    }
                }
                None => break,
            },
            status = child.wait() => { status?; return Ok(()); }
            _ = stopped.changed() => {
                child.start_kill()?;
                child.wait().await?;
                return Ok(());
            }
        }
    }
    child.wait().await.map(|_| ())
}

async fn forward(stream: impl AsyncRead + Unpin, tx: mpsc::Sender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).await.is_err() {
            return;
        }
    }
}
