//! `linq-inbox doctor`: checks config, secret, ports, the Linq connection and the database, one
//! line each; a non-zero exit when any fails.

use std::process::ExitCode;

use linq_inbox::config::Settings;
use linq_inbox::linq::standard_webhooks;
use linq_inbox::store::Store;

pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let mut check = |name: &str, result: Result<String, String>| match result {
        Ok(detail) => println!("ok    {name}: {detail}"),
        Err(detail) => {
            ok = false;
            println!("FAIL  {name}: {detail}");
        }
    };
    check(
        "config",
        Ok(format!("{}", settings.config_path().display())),
    );
    check(
        "secret",
        if settings.secrets.is_empty() && !settings.allow_unsigned {
            Err("no webhook secret".into())
        } else if settings.secrets.iter().any(|s| {
            standard_webhooks::secret_kind(s) == standard_webhooks::SecretKind::MalformedStandard
        }) {
            Err("a secret starts with whsec_ but is not whsec_ followed by base64; copy the whole signing secret Linq showed".into())
        } else {
            Ok(format!(
                "{} secret(s) from {:?}, {} of them Standard Webhooks (whsec_, API v3)",
                settings.secrets.len(),
                settings.secret_source,
                settings
                    .secrets
                    .iter()
                    .filter(|s| standard_webhooks::secret_kind(s)
                        == standard_webhooks::SecretKind::StandardWebhooks)
                    .count()
            ))
        },
    );
    for (name, addr) in [
        ("webhook port", settings.listen),
        ("UI port", settings.ui_listen),
    ] {
        check(
            name,
            std::net::TcpListener::bind(addr)
                .map(|_| format!("{addr} is free"))
                .map_err(|e| format!("{addr}: {e}")),
        );
    }
    // Not a failure when not connected: the app also works with a hand-made subscription.
    check("linq", Ok(crate::linq::doctor_line(&settings)));
    let db = Store::open(&settings.data_dir).and_then(|s| {
        let conn = s.reader()?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(format!("{} ({integrity})", s.path().display()))
    });
    check("database", db.map_err(|e| e.to_string()));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
