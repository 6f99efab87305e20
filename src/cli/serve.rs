//! `linq-inbox serve`: the engine headless until Ctrl-C or SIGTERM; prints the webhook URL and
//! the one-time login link.

use std::io::Write;
use std::process::ExitCode;

use linq_inbox::config::{SecretSource, Settings};
use linq_inbox::engine::Engine;

use crate::runtime;

pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let source = settings.secret_source;
        let path = settings.webhook_path.clone();
        let config = settings.config_path();
        let engine = Engine::start(settings).await?;
        let webhook = format!("http://{}{}", engine.webhook_addr(), path);
        println!("Linq Inbox is running.");
        println!("  Webhook listener: {webhook}");
        if source == SecretSource::Generated {
            println!("  A new webhook secret was generated and saved in {}.", config.display());
            println!("  Give Linq your tunnel's public URL and that secret (the UI's Setup screen shows both).");
        }
        println!("  Open the inbox: {}", engine.login_url());
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
        println!("Stopping.");
        engine.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
