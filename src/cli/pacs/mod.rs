//! `hilum pacs`: echo, find, get and send against a PACS over DICOMweb or
//! DIMSE (through `net::Session`), a Store SCP that receives studies
//! pushed to Hilum, and the study cache.
//!
//! Secrets come only from the environment (`HILUM_PACS_PASSWORD`,
//! `HILUM_PACS_TOKEN`) or a prompt on the terminal, never from the command
//! line, and never appear in any output.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

mod args;

pub use self::args::{
    CacheArgs, FindArgs, GetArgs, LoginArgs, PacsArgs, PacsCommand, PeerArgs, RetrieveMethod,
    SendArgs, ServeArgs, StudyKeysArgs,
};
use super::report;
use crate::net::cache::StudyCache;
use crate::net::dimse::{self, ScpOptions};
use crate::net::node::check_ae_title;
use crate::net::session::Login;
use crate::net::store::instance_files;
use crate::net::{DimseMethod, InstanceWriter, NetError, NetErrorKind, QueryKeys, Secret, Session};

/// The calling AE title when neither `--aet` nor the saved node sets one.
pub use crate::net::session::DEFAULT_AET;

/// Runs `hilum pacs`; returns the process exit code.
pub fn run_pacs(args: &PacsArgs) -> i32 {
    match &args.command {
        PacsCommand::Echo(peer) => run_echo(peer),
        PacsCommand::Find(find) => run_find(find),
        PacsCommand::Get(get) => run_get(get),
        PacsCommand::Send(send) => run_send(send),
        PacsCommand::Serve(serve) => run_serve(serve),
        PacsCommand::Cache(cache) => run_cache(cache),
    }
}

fn run_cache(args: &CacheArgs) -> i32 {
    let Some(cache) = StudyCache::default_location() else {
        report(&"no data folder for the study cache (set HILUM_DATA_DIR)");
        return 1;
    };
    if args.clear {
        return match cache.clear() {
            Ok(n) => {
                eprintln!(
                    "hilum: removed {n} cached stud{}",
                    if n == 1 { "y" } else { "ies" }
                );
                0
            }
            Err(why) => {
                report(&why);
                1
            }
        };
    }
    let text = serde_json::to_string_pretty(&cache.list()).unwrap_or_else(|_| "[]".into());
    println!("{text}");
    0
}

/// Retrieves a study into the local cache (resuming an interrupted
/// retrieval; at once when it is cached whole) and returns its folder
/// (`hilum pacs get --cache`; the viewer does the same from its PACS
/// window and `hilum view --pacs`).
pub fn retrieve_to_cache(peer: &PeerArgs, study: &str) -> Result<PathBuf, i32> {
    let Some(cache) = StudyCache::default_location() else {
        report(&"no data folder for the study cache (set HILUM_DATA_DIR)");
        return Err(1);
    };
    if let Err(why) = cache.study_dir(study) {
        report(&format!("--study: {why}"));
        return Err(2);
    }
    // Cached whole: no login is needed (nor asked for).
    if let Some(dir) = cache.open_cached(study) {
        return Ok(dir);
    }
    let session = connect(peer)?;
    let result = session.retrieve_to_cache(&cache, study, &mut |progress, _| {
        if progress.expected == Some(progress.received)
            && let Some((index, count)) = progress.series
        {
            eprintln!("hilum: series {}/{count} retrieved", index + 1);
        }
    });
    result.map_err(|e| {
        report(&e);
        eprintln!(
            "hilum: the study stays in the cache marked incomplete; the same command resumes it"
        );
        1
    })
}

/// Seconds to wait for a peer when `--timeout` is not given.
pub const DEFAULT_TIMEOUT_S: u64 = 30;

/// Resolves the node and the credentials into a session; reports and
/// returns the exit code on failure (2 for a node or AE title that cannot
/// be used, 1 when the client cannot be made). The password comes from
/// `$HILUM_PACS_PASSWORD`, else a prompt when on a terminal.
pub(crate) fn connect(args: &PeerArgs) -> Result<Session, i32> {
    let login = Login {
        node: args.node.clone(),
        aet: args.login.aet.clone(),
        user: args.login.user.clone(),
        password: None,
        ca_file: args.login.ca_file.clone(),
        nodes_file: None,
        timeout: Duration::from_secs(args.login.timeout.unwrap_or(DEFAULT_TIMEOUT_S).max(1)),
    };
    let usage = |e: NetError| {
        report(&e);
        match e.kind {
            NetErrorKind::InvalidNode(_) | NetErrorKind::Local(_) => 2,
            _ => 1,
        }
    };
    let (node, saved) = login.resolve().map_err(usage)?;
    login
        .session_with(&node, &saved, |user| {
            std::io::stdin()
                .is_terminal()
                .then(|| {
                    rpassword::prompt_password(format!("Password for {user} at {}: ", args.node))
                        .ok()
                })
                .flatten()
                .map(Secret::new)
        })
        .map_err(usage)
}

/// Reports `err` and returns the exit code 1.
fn failed(err: &NetError) -> i32 {
    report(err);
    1
}

fn run_echo(args: &PeerArgs) -> i32 {
    let session = match connect(args) {
        Ok(session) => session,
        Err(code) => return code,
    };
    match session.echo() {
        Ok(elapsed) => {
            println!(
                "{}: answered in {:.1} ms",
                args.node,
                elapsed.as_secs_f64() * 1000.0
            );
            0
        }
        Err(e) => failed(&e),
    }
}

fn run_find(args: &FindArgs) -> i32 {
    let keys = QueryKeys {
        study_uid: args.study.clone(),
        series_uid: args.series.clone(),
        ..args.keys.query(args.level)
    };
    if let Err(why) = keys.validate() {
        report(&why);
        return 2;
    }
    let session = match connect(&args.peer) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let rows = match session.find(&keys) {
        Ok(rows) => rows,
        Err(e) => return failed(&e),
    };
    if args.json {
        let text = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
        println!("{text}");
    } else {
        print_table(&rows);
    }
    0
}

/// The rows as an aligned text table (the first keys of each row).
fn print_table(rows: &[crate::net::Row]) {
    let Some(first) = rows.first() else {
        println!("no matches");
        return;
    };
    let keys: Vec<&String> = first.keys().take(8).collect();
    let cell = |row: &crate::net::Row, key: &str| match row.get(key) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let widths: Vec<usize> = keys
        .iter()
        .map(|k| {
            rows.iter()
                .map(|r| cell(r, k).chars().count())
                .max()
                .unwrap_or(0)
                .max(k.len())
                .min(40)
        })
        .collect();
    let line = |values: Vec<String>| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{:<w$}", v.chars().take(*w).collect::<String>()))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(keys.iter().map(|k| k.to_string()).collect()));
    for row in rows {
        println!("{}", line(keys.iter().map(|k| cell(row, k)).collect()));
    }
}

fn run_get(args: &GetArgs) -> i32 {
    let Some(out) = &args.out else {
        let start = Instant::now();
        return match retrieve_to_cache(&args.peer, &args.study) {
            Ok(dir) => {
                let files = instance_files(&dir);
                let bytes = files
                    .iter()
                    .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                    .sum();
                let summary = crate::net::RetrieveSummary {
                    instances: files.len(),
                    bytes,
                    seconds: start.elapsed().as_secs_f64(),
                };
                eprintln!("hilum: cached in {}", dir.display());
                println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                0
            }
            Err(code) => code,
        };
    };
    let method = match (args.method, args.peer.node.starts_with("http")) {
        (RetrieveMethod::Move, true) => {
            report(
                &"--method move is for DIMSE peers (dicom://...); DICOMweb retrieves by WADO-RS",
            );
            return 2;
        }
        (RetrieveMethod::Move, false) => DimseMethod::Move(args.move_port),
        (RetrieveMethod::Get, _) => DimseMethod::Get,
    };
    let session = match connect(&args.peer) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let mut writer = match InstanceWriter::new(out) {
        Ok(writer) => writer,
        Err(why) => {
            report(&why);
            return 1;
        }
    };
    let start = Instant::now();
    let verbose = std::io::stderr().is_terminal();
    let result = session.retrieve(
        &args.study,
        args.series.as_deref(),
        method,
        &mut writer,
        &mut |progress, _| {
            let expected = progress
                .expected
                .map_or_else(|| "?".to_string(), |n| n.to_string());
            // On a terminal every instance; in a log, each finished series
            // (DICOMweb) or every 50th instance and the last (DIMSE).
            let series_done =
                progress.series.is_some() && progress.expected == Some(progress.received);
            let milestone = progress.series.is_none()
                && (progress.received % 50 == 0 || progress.expected == Some(progress.received));
            if verbose || series_done || milestone {
                match progress.series {
                    Some((index, count)) => eprintln!(
                        "hilum: series {}/{count}: {}/{expected} instances",
                        index + 1,
                        progress.received
                    ),
                    None => eprintln!("hilum: {}/{expected} instances", progress.received),
                }
            }
        },
    );
    let summary = writer.summary(start.elapsed().as_secs_f64());
    if let Err(e) = result {
        eprintln!(
            "hilum: {} instance(s) written to {} before the failure",
            summary.instances,
            out.display()
        );
        return failed(&e);
    }
    if summary.instances == 0 && instance_files(out).is_empty() {
        report(&format!("{}: the study holds no instances", args.peer.node));
        return 1;
    }
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    0
}

/// The files under `paths` (folders searched recursively, hidden files
/// and DICOMDIR indexes left out), sorted per folder.
fn files_under(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy();
            if entry.file_type().is_file()
                && !name.starts_with('.')
                && !name.eq_ignore_ascii_case("DICOMDIR")
            {
                files.push(entry.into_path());
            }
        }
    }
    files
}

fn run_send(args: &SendArgs) -> i32 {
    let files = files_under(&args.paths);
    if files.is_empty() {
        report(&"no files to send");
        return 2;
    }
    let session = match connect(&args.peer) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let (mut stored, mut refused) = (0usize, 0usize);
    let mut tell = |path: &Path, outcome: Result<(), String>| {
        let mut out = std::io::stdout().lock();
        match outcome {
            Ok(()) => {
                stored += 1;
                let _ = writeln!(out, "stored {}", path.display());
            }
            Err(why) => {
                refused += 1;
                let _ = writeln!(out, "failed {}: {why}", path.display());
            }
        }
    };
    let result = session.send(&files, &mut tell);
    if let Err(e) = result {
        return failed(&e);
    }
    eprintln!(
        "hilum: {stored} stored, {refused} failed, of {} file(s)",
        files.len()
    );
    if refused == 0 && stored == files.len() {
        0
    } else {
        1
    }
}

fn run_serve(args: &ServeArgs) -> i32 {
    let aet = match check_ae_title(&args.aet) {
        Ok(aet) => aet,
        Err(why) => {
            report(&format!("--aet: {why}"));
            return 2;
        }
    };
    let mut allowed = Vec::new();
    for calling in &args.allow {
        match check_ae_title(calling) {
            Ok(aet) => allowed.push(aet),
            Err(why) => {
                report(&format!("--allow: {why}"));
                return 2;
            }
        }
    }
    let mut writer = match InstanceWriter::new(&args.out) {
        Ok(writer) => writer,
        Err(why) => {
            report(&why);
            return 1;
        }
    };
    let options = ScpOptions {
        aet,
        bind: std::net::SocketAddr::new(args.bind, args.port),
        allowed_calling_aets: (!allowed.is_empty()).then_some(allowed),
    };
    let callers = match &options.allowed_calling_aets {
        Some(allowed) => format!("from {}", allowed.join(", ")),
        None => "from any calling AE title on this machine (--allow restricts)".into(),
    };
    eprintln!(
        "hilum: Store SCP {} listening on {}, {callers}, writing to {}",
        options.aet,
        options.bind,
        args.out.display()
    );
    let stop = Arc::new(AtomicBool::new(false));
    // Received names are shown with `{:?}`, so control characters from a
    // peer cannot reach the terminal as they are.
    let result = dimse::serve_with_events(&options, &mut writer, stop, &mut |event| match event {
        dimse::ScpEvent::Stored(stored) => println!("received {}", stored.path.display()),
        dimse::ScpEvent::StoreFailed {
            calling_aet,
            sop_instance_uid,
            reason,
        } => eprintln!(
            "hilum: from {calling_aet:?}: instance {sop_instance_uid:?} not kept: {reason}"
        ),
        dimse::ScpEvent::Refused {
            calling_aet,
            reason,
        } => {
            eprintln!("hilum: refused an association from {calling_aet:?}: {reason}")
        }
        dimse::ScpEvent::Failed {
            calling_aet,
            reason,
        } => {
            eprintln!("hilum: association with {calling_aet:?} failed: {reason}")
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => failed(&e),
    }
}
