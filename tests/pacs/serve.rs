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
