//! Peers that break the protocol: a fake DICOMweb service (a thread on a
//! loopback port) that drops the connection mid-study, sends a malformed
//! multipart body or bad JSON, or never answers. Each gives a clear error
//! and exit 1, and leaves only complete instances behind.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use super::*;

/// How the fake service misbehaves on WADO-RS.
#[derive(Clone, Copy)]
enum Fault {
    /// One whole instance, then half of the next, then the connection closes.
    DropMidStudy,
    /// A multipart body with no boundary in it.
    Malformed,
    /// QIDO answers that are not JSON.
    BadJson,
    /// Never answers.
    Silent,
}

const STUDY: &str = "1.2.826.0.1.3680043.9.7433.3.1";
const SERIES: &str = "1.2.826.0.1.3680043.9.7433.3.2";

/// Serves at most `connections` requests (one per connection) with
/// `fault`, on a free loopback port; returns the port and the thread.
fn fake_service(fault: Fault, connections: usize) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let instance = std::fs::read(common::corpus_dir().join("CT_small.dcm")).unwrap();
    let handle = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let mut stream = stream;
            let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
            let qido = path.contains("/series?")
                || path.ends_with("/series")
                || path.contains("/instances?");
            match fault {
                Fault::Silent => {
                    std::thread::sleep(Duration::from_secs(4));
                    continue;
                }
                Fault::BadJson if qido => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"oops\": ");
                }
                _ if qido => {
                    let body = format!(
                        r#"[{{"0020000D": {{"vr": "UI", "Value": ["{STUDY}"]}}, "0020000E": {{"vr": "UI", "Value": ["{SERIES}"]}}, "00201209": {{"vr": "IS", "Value": [2]}}}}]"#
                    );
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Fault::Malformed => {
                    let body = b"this is not a multipart body at all";
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=XYZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(body);
                }
                _ => {
                    let mut body = Vec::new();
                    body.extend_from_slice(b"--XYZ\r\nContent-Type: application/dicom\r\n\r\n");
                    body.extend_from_slice(&instance);
                    body.extend_from_slice(b"\r\n--XYZ\r\nContent-Type: application/dicom\r\n\r\n");
                    body.extend_from_slice(&instance);
                    body.extend_from_slice(b"\r\n--XYZ--\r\n");
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=XYZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    // Half of the second instance, then the connection drops.
                    let cut = 50 + instance.len() + 50 + instance.len() / 2;
                    let _ = stream.write_all(&body[..cut]);
                }
            }
        }
    });
    (port, handle)
}

fn get_from(port: u16, out_dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let root = format!("http://127.0.0.1:{port}/dicom-web");
    let mut args = vec![
        "pacs",
        "get",
        root.as_str(),
        "--study",
        STUDY,
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = hilum_pacs(&args, "unused");
    (out.status.code(), texts(&out).1)
}

#[test]
fn a_connection_dropped_mid_study_keeps_only_whole_instances() {
    let (port, server) = fake_service(Fault::DropMidStudy, 3);
    let out = tempfile::tempdir().unwrap();
    let (code, stderr) = get_from(port, out.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the transfer broke off"), "{stderr}");
    assert!(stderr.contains("1 instance(s) written"), "{stderr}");
    // One whole instance, nothing partial.
    assert_eq!(retrieved(out.path()).len(), 1);
    drop(server);
}

#[test]
fn an_interrupted_retrieval_into_the_cache_stays_marked_incomplete() {
    let (port, _server) = fake_service(Fault::DropMidStudy, 3);
    let data = tempfile::tempdir().unwrap();
    let root = format!("http://127.0.0.1:{port}/dicom-web");
    let args = ["pacs", "get", root.as_str(), "--study", STUDY, "--cache"];
    let out = hilum_pacs_with_data(&args, "unused", data.path());
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("marked incomplete"), "{stderr}");
    let listed = rows(&ok(
        &hilum_pacs_with_data(&["pacs", "cache"], "unused", data.path()),
        "cache list",
    ));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["complete"], false);
    assert_eq!(
        listed[0]["instances"], 1,
        "the whole instance is kept for the resume"
    );
    let dir = data.path().join("studies").join(STUDY);
    assert!(dir.join(".incomplete").is_file());
    assert!(
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().ends_with(".part")),
        "no partial file"
    );
}

#[test]
fn a_malformed_multipart_body_or_bad_json_is_a_clear_error() {
    let (port, _server) = fake_service(Fault::Malformed, 3);
    let out = tempfile::tempdir().unwrap();
    let (code, stderr) = get_from(port, out.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("malformed"), "{stderr}");
    assert!(retrieved(out.path()).is_empty());

    let (port, _server) = fake_service(Fault::BadJson, 3);
    let (code, stderr) = get_from(port, out.path(), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not JSON"), "{stderr}");
}

#[test]
fn a_peer_that_never_answers_times_out() {
    let (port, _server) = fake_service(Fault::Silent, 1);
    let out = tempfile::tempdir().unwrap();
    // The silent peer holds the connection for 4 s; a 1 s timeout ends
    // the wait first, and says so (a closed connection would not).
    let (code, stderr) = get_from(port, out.path(), &["--timeout", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
}
