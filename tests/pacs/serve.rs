//! `hilum pacs serve`: the Store SCP as a process, fed by dcmtk's
//! `storescu`; an allowed calling AE title stores, another is refused.

use std::process::Stdio;
use std::time::Duration;

use super::*;
use crate::common::peers::{Peer, free_port, require_isolated_network};

#[test]
fn pacs_serve_stores_from_allowed_callers_only() {
    require_isolated_network();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("received");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hilum"));
    command
        .args([
            "pacs",
            "serve",
            "--aet",
            "HILUMSCP",
            "--port",
            &port.to_string(),
            "--allow",
            "MODALITY",
        ])
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut scp = Peer::start("hilum pacs serve", command);
    scp.wait_for_port(port, Duration::from_secs(30));

    // Uncompressed files: storescu proposes one set of syntaxes for all
    // files (compressed instances reaching Hilum's SCP are covered by the
    // C-MOVE test against Orthanc).
    let ct = work.path().join("ct");
    make_ct_series(&ct, 4, "HILUM-SCP-1");
    let mut files = retrieved(&ct);
    files.push(common::corpus_dir().join("CT_small.dcm"));
    let storescu = |calling: &str| {
        let mut c = common::tool("storescu", "dcmtk");
        c.args(["-aet", calling, "-aec", "HILUMSCP", "-R"])
            .arg("127.0.0.1")
            .arg(port.to_string())
            .args(&files);
        c.output().unwrap()
    };
    let refused = storescu("STRANGER");
    assert!(
        !refused.status.success(),
        "a calling AE title not allowed must be refused"
    );
    assert!(!out.exists() || retrieved(&out).is_empty());

    let stored = storescu("MODALITY");
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    assert_same_instances(&out, &files);
    drop(scp);
}

#[test]
fn pacs_serve_without_an_allow_list_takes_local_callers_only() {
    require_isolated_network();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("received");
    // On another address than loopback an allow-list is required.
    let refused = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(["pacs", "serve", "--bind", "0.0.0.0", "--port", "11999"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("must name the calling AE titles"),
        "{stderr}"
    );
    // On loopback (the default), any caller on this machine may store.
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hilum"));
    command
        .args(["pacs", "serve", "--port", &port.to_string()])
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut scp = Peer::start("hilum pacs serve", command);
    scp.wait_for_port(port, Duration::from_secs(30));
    let file = common::corpus_dir().join("CT_small.dcm");
    let mut storescu = common::tool("storescu", "dcmtk");
    storescu
        .args(["-aet", "ANYONE", "-aec", "HILUM", "-R", "127.0.0.1"])
        .arg(port.to_string())
        .arg(&file);
    let stored = storescu.output().unwrap();
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    assert_same_instances(&out, &[file]);
    drop(scp);
}
