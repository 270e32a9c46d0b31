//! DIMSE against real dcmtk peers and real corpus files: C-ECHO, C-FIND
//! (study, series and instance levels, Latin-1 and UTF-8 names) and C-MOVE
//! against `dcmqrscp`; C-GET of every transfer syntax the loader decodes,
//! each retrieved file keeping its syntax and decoding to the original's
//! pixels; C-STORE into `storescp`; Hilum's Store SCP fed by `storescu`
//! (an allowed calling AE title accepted, another refused); and peers
//! written here that fail on purpose (a C-FIND failure status, an
//! association dropped in the middle of a C-GET, a peer that never
//! answers, one that closes at once).
//!
//! Every test that starts a server requires the isolated network of
//! `scripts/test.sh` (`common::peers::require_isolated_network`).

#[path = "../common/mod.rs"]
mod common;
mod dcmtk;
mod fake_peers;

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hilum::imaging::{LoadOptions, load_path};
use hilum::net::dimse::syntaxes::is_native;
use hilum::net::dimse::{self, DimseOptions, GetProgress, ScpEvent, ScpOptions};
use hilum::net::{Credentials, DimseNode, InstanceWriter, Level, NetErrorKind, QueryKeys};

use common::peers::{Peer, free_port, require_isolated_network};
use common::{corpus_dir, tool};

const QR_AET: &str = "QRSCP";
const UID_ROOT: &str = "1.2.826.0.1.3680043.9.7433.99";

fn options(aet: &str) -> DimseOptions {
    DimseOptions {
        calling_aet: aet.into(),
        credentials: Credentials::default(),
        timeout: Duration::from_secs(20),
    }
}

fn node(aet: &str, port: u16) -> DimseNode {
    DimseNode {
        called_aet: aet.into(),
        host: "127.0.0.1".into(),
        port,
    }
}

/// Copies corpus file `name` to `dir` with new study, series and instance
/// UIDs (dcmtk's `dcmodify` keeps the transfer syntax and pixel data as
/// they are, and updates the meta group), plus any extra `-i` insertions.
fn prepare(dir: &Path, name: &str, uids: (&str, &str, &str), extra: &[OsString]) -> PathBuf {
    let path = dir.join(format!("{}.dcm", uids.2));
    std::fs::copy(corpus_dir().join(name), &path).unwrap();
    let mut command = tool("dcmodify", "dcmtk");
    command.arg("-nb").arg("-q");
    for (tag, value) in [
        ("0020,000D", uids.0),
        ("0020,000E", uids.1),
        ("0008,0018", uids.2),
    ] {
        command.arg("-i").arg(format!("({tag})={value}"));
    }
    for insertion in extra {
        command.arg("-i").arg(insertion);
    }
    command.arg(&path);
    let (ok, _, err) = common::run_tool(command);
    assert!(ok, "dcmodify {name}: {err}");
    path
}

/// A dcmqrscp serving `files` (copied into its storage area and indexed
/// by `dcmqridx`), started with `flags` (its preferred transfer syntax),
/// knowing Hilum as a move destination on `move_port`.
struct Qr {
    peer: Peer,
    port: u16,
    _dir: tempfile::TempDir,
}

fn start_qr(files: &[PathBuf], flags: &[&str], move_port: u16) -> Qr {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    std::fs::create_dir(&storage).unwrap();
    let mut stored = Vec::new();
    for file in files {
        let target = storage.join(file.file_name().unwrap());
        std::fs::copy(file, &target).unwrap();
        stored.push(target);
    }
    let (ok, _, err) = common::run_tool({
        let mut c = tool("dcmqridx", "dcmtk");
        c.arg(&storage).args(&stored);
        c
    });
    assert!(ok, "dcmqridx: {err}");
    let port = free_port();
    let config = dir.path().join("dcmqrscp.cfg");
    std::fs::write(
        &config,
        format!(
            "NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n\
             HostTable BEGIN\nhilum = (HILUM, 127.0.0.1, {move_port})\nHostTable END\n\
             VendorTable BEGIN\nVendorTable END\n\
             AETable BEGIN\n{QR_AET} {} RW (200, 1024mb) ANY\nAETable END\n",
            storage.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("dcmqrscp.log")).unwrap();
    let mut command = tool("dcmqrscp", "dcmtk");
    // Not `-s`: dcmqrscp 3.6.7 in single-process mode crashes once its
    // first association ends; forked children end with their association.
    command
        .arg("-c")
        .arg(&config)
        .args(flags)
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let mut peer = Peer::start("dcmqrscp", command);
    peer.wait_for_port(port, Duration::from_secs(10));
    Qr {
        peer,
        port,
        _dir: dir,
    }
}

fn transfer_syntax(path: &Path) -> String {
    dicom_object::open_file(path)
        .unwrap()
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string()
}

fn sop_instance(path: &Path) -> String {
    dicom_object::open_file(path)
        .unwrap()
        .meta()
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_string()
}

/// Every frame's stored values, decoded by Hilum's loader.
fn pixels(path: &Path) -> Vec<Option<hilum::imaging::pixels::Frame>> {
    let image = load_path(path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
    assert!(!image.frames.is_empty() && image.frames.iter().all(Option::is_some));
    image.frames
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn assert_no_partial_files(dir: &Path) {
    for file in files_in(dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "partial file left: {name}");
    }
}

/// Checks that each of `originals` arrived in `out` with its transfer
/// syntax (when `same_syntax`) and exactly its pixels.
fn assert_received(originals: &[PathBuf], out: &Path, same_syntax: bool) {
    assert_no_partial_files(out);
    let received = files_in(out);
    assert_eq!(received.len(), originals.len(), "{received:?}");
    for original in originals {
        let uid = sop_instance(original);
        let copy = received
            .iter()
            .find(|p| sop_instance(p) == uid)
            .unwrap_or_else(|| panic!("{uid} was not received"));
        if same_syntax {
            assert_eq!(
                transfer_syntax(copy),
                transfer_syntax(original),
                "{}",
                original.display()
            );
        }
        assert!(
            pixels(copy) == pixels(original),
            "pixels differ: {}",
            original.display()
        );
    }
}

/// The default test study: two instances in one series, one in another.
struct Study {
    dir: tempfile::TempDir,
    study: String,
    series: [String; 2],
    files: Vec<PathBuf>,
}

fn default_study() -> Study {
    let dir = tempfile::tempdir().unwrap();
    let study = format!("{UID_ROOT}.1");
    let series = [format!("{UID_ROOT}.1.1"), format!("{UID_ROOT}.1.2")];
    // One patient: an archive lists a study once per patient it finds in it.
    let patient = [
        OsString::from("(0010,0020)=HILUM1"),
        OsString::from("(0010,0010)=Test^Patient"),
    ];
    let files = vec![
        prepare(
            dir.path(),
            "MR_small.dcm",
            (&study, &series[0], &format!("{UID_ROOT}.1.1.1")),
            &patient,
        ),
        prepare(
            dir.path(),
            "CT_small.dcm",
            (&study, &series[0], &format!("{UID_ROOT}.1.1.2")),
            &patient,
        ),
        prepare(
            dir.path(),
            "SC_rgb.dcm",
            (&study, &series[1], &format!("{UID_ROOT}.1.2.1")),
            &patient,
        ),
    ];
    Study {
        dir,
        study,
        series,
        files,
    }
}

/// A study whose Patient's Name is `name` (raw bytes) in `charset`.
fn named_study(dir: &Path, n: u32, charset: &str, name: &[u8]) -> PathBuf {
    let mut name_arg = b"(0010,0010)=".to_vec();
    name_arg.extend_from_slice(name);
    let extra = [
        OsString::from(format!("(0008,0005)={charset}")),
        OsString::from_vec(name_arg),
    ];
    let study = format!("{UID_ROOT}.{n}");
    prepare(
        dir,
        "MR_small.dcm",
        (&study, &format!("{study}.1"), &format!("{study}.1.1")),
        &extra,
    )
}
