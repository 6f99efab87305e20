//! `linq-inbox import`, `export` and `rebuild`: the raw event log in and out as JSONL, and every
//! projection re-derived from it.

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use linq_inbox::attachments::archive;
use linq_inbox::config::Settings;
use linq_inbox::store::{replay, Store};

/// Imports a JSONL file of envelopes (`-` for standard input); idempotent.
pub fn import(settings: &Settings, file: &str) -> anyhow::Result<ExitCode> {
    // The files of an `export --with-attachments` are checked before anything is written.
    let folder = archive::folder_beside(Path::new(file));
    let files = if file != "-" && folder.join(archive::INDEX).is_file() {
        Some(archive::check(&folder)?)
    } else {
        None
    };
    let store = Store::open(&settings.data_dir)?;
    let mut conn = store.writer()?;
    let mut inbox = store.projector()?;
    let report = if file == "-" {
        replay::import(&mut conn, &mut inbox, BufReader::new(std::io::stdin()))?
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?;
        replay::import(&mut conn, &mut inbox, BufReader::new(f))?
    };
    println!(
        "imported {} events ({} already present)",
        report.stored, report.duplicates
    );
    if let Some(files) = files {
        let restored = archive::restore(&mut conn, &settings.data_dir, &files)?;
        println!(
            "restored {} attachment files from {} ({} already kept)",
            restored.files,
            folder.display(),
            restored.already
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Exports the raw event log as JSONL to `out`, or to standard output; with `attachments`, the
/// kept files too, into the folder beside `out`.
pub fn export(
    settings: &Settings,
    out: Option<&Path>,
    attachments: bool,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.data_dir)?;
    let conn = store.reader()?;
    let count = match out {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            let n = replay::export(&conn, &mut f)?;
            f.flush()?;
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            let n = replay::export(&conn, &mut lock)?;
            lock.flush()?;
            n
        }
    };
    eprintln!("exported {count} events");
    if let (true, Some(out)) = (attachments, out) {
        let folder = archive::folder_beside(out);
        let exported = archive::export(&conn, &settings.data_dir, &folder)?;
        eprintln!(
            "exported {} attachment files to {}",
            exported.files,
            folder.display()
        );
        if exported.missing > 0 {
            eprintln!(
                "{} kept files were missing from the data folder and were left out",
                exported.missing
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Re-derives every projection from the raw event log.
pub fn rebuild(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.data_dir)?;
    let n = replay::rebuild(&mut store.projector()?)?;
    println!("rebuilt the inbox from {n} events");
    Ok(ExitCode::SUCCESS)
}
