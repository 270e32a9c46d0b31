//! The PACS window: a search against a DICOMweb service (a small one
//! served by this test on loopback from generated files), the matches
//! listed, a study opened into the viewport as its instances arrive, the
//! patient's other study listed and opened beside it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use dicom_dictionary_std::tags;

use super::*;
use crate::common::{self, text};

const PATIENT: &str = "PACS^Tester";
const PATIENT_ID: &str = "PACS-UI-1";

/// One single-instance study.
struct Study {
    uid: String,
    series: String,
    sop: String,
    date: &'static str,
    description: &'static str,
    file: PathBuf,
}

fn make_study(dir: &Path, n: u32, date: &'static str, description: &'static str) -> Study {
    let root = "1.2.826.0.1.3680043.9.7433.5";
    let (uid, series, sop) = (
        format!("{root}.{n}"),
        format!("{root}.{n}.1"),
        format!("{root}.{n}.1.1"),
    );
    let file = dir.join(format!("study{n}.dcm"));
    let mut elements = common::gray16_header(32, 32, 1, false);
    elements.extend([
        text(tags::SOP_INSTANCE_UID, dicom_core::VR::UI, &sop),
        text(tags::STUDY_INSTANCE_UID, dicom_core::VR::UI, &uid),
        text(tags::SERIES_INSTANCE_UID, dicom_core::VR::UI, &series),
        text(tags::PATIENT_NAME, dicom_core::VR::PN, PATIENT),
        text(tags::PATIENT_ID, dicom_core::VR::LO, PATIENT_ID),
        text(tags::STUDY_DATE, dicom_core::VR::DA, date),
        text(tags::STUDY_DESCRIPTION, dicom_core::VR::LO, description),
        common::pixel_data_u16((0..32 * 32).map(|i| (i * (n as u16 + 3)) % 4000).collect()),
    ]);
    common::write_dicom(&file, elements);
    Study {
        uid,
        series,
        sop,
        date,
        description,
        file,
    }
}

fn study_json(s: &Study) -> String {
    format!(
        r#"{{"0020000D": {{"vr": "UI", "Value": ["{}"]}}, "00100010": {{"vr": "PN", "Value": [{{"Alphabetic": "{PATIENT}"}}]}}, "00100020": {{"vr": "LO", "Value": ["{PATIENT_ID}"]}}, "00080020": {{"vr": "DA", "Value": ["{}"]}}, "00081030": {{"vr": "LO", "Value": ["{}"]}}, "00080061": {{"vr": "CS", "Value": ["OT"]}}, "00201208": {{"vr": "IS", "Value": [1]}}}}"#,
        s.uid, s.date, s.description
    )
}

/// Serves QIDO-RS and WADO-RS for `studies` on a loopback port until the
/// test ends (at most `connections` requests, one per connection).
fn serve(studies: Vec<Study>, connections: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            if line.starts_with("POST ") {
                // STOW-RS: the instance is read and acknowledged.
                let mut body = vec![0u8; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let _ = stream.try_clone().map(|mut s| {
                    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                });
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let (route, _query) = path.split_once('?').unwrap_or((&path, ""));
            let parts: Vec<&str> = route.trim_start_matches("/dicom-web/").split('/').collect();
            let mut stream = stream;
            let json = |stream: &mut std::net::TcpStream, body: String| {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            };
            let find = |uid: &str| studies.iter().find(|s| s.uid == uid);
            match parts.as_slice() {
                ["studies"] => json(
                    &mut stream,
                    format!(
                        "[{}]",
                        studies.iter().map(study_json).collect::<Vec<_>>().join(",")
                    ),
                ),
                ["studies", uid, "series"] => {
                    let body = find(uid).map(|s| {
                        format!(r#"[{{"0020000D": {{"vr": "UI", "Value": ["{}"]}}, "0020000E": {{"vr": "UI", "Value": ["{}"]}}, "00201209": {{"vr": "IS", "Value": [1]}}}}]"#, s.uid, s.series)
                    });
                    json(&mut stream, body.unwrap_or_else(|| "[]".into()));
                }
                ["studies", uid, "series", _, "instances"] => {
                    let body = find(uid).map(|s| {
                        format!(
                            r#"[{{"00080018": {{"vr": "UI", "Value": ["{}"]}}}}]"#,
                            s.sop
                        )
                    });
                    json(&mut stream, body.unwrap_or_else(|| "[]".into()));
                }
                ["studies", uid, "series", _] => {
                    let Some(study) = find(uid) else { continue };
                    let mut body =
                        b"--B0UNDARY\r\nContent-Type: application/dicom\r\n\r\n".to_vec();
                    body.extend(std::fs::read(&study.file).unwrap());
                    body.extend_from_slice(b"\r\n--B0UNDARY--\r\n");
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=B0UNDARY\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                _ => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    port
}

#[test]
fn a_pacs_study_is_found_opened_and_its_prior_shown_beside() {
    let work = tempfile::tempdir().unwrap();
    let current = make_study(work.path(), 1, "20260115", "Chest today");
    let prior = make_study(work.path(), 2, "20250110", "Chest last year");
    let (current_uid, prior_uid) = (current.uid.clone(), prior.uid.clone());
    let port = serve(vec![current, prior], 64);
    let cache = hilum::net::cache::StudyCache::at(work.path().join("cache"), 1 << 30);
    let nodes = work.path().join("pacs-nodes.toml");
    let mut h = harness(viewer_without_ai().with_pacs_storage(cache, nodes.clone()));

    // Open the window from the File menu.
    h.get_by_label("File").click();
    wait_for_label(&mut h, "Open from PACS…");
    h.get_by_label("Open from PACS…").click();
    h.step();
    assert!(h.state().pacs.open);
    h.state_mut().pacs.node = format!("http://127.0.0.1:{port}/dicom-web");
    wait_for_label(&mut h, "Search");
    h.get_by_label("Search").click();
    wait_for_label(&mut h, "2 studies found");
    assert_eq!(h.state().pacs.results.len(), 2);
    // Newest first by default.
    h.get_by_label("Chest today");

    // Open the current study: it arrives, loads and goes on screen.
    h.get_all_by_label("Open")
        .next()
        .expect("an Open button")
        .click();
    step_until(&mut h, "the PACS study on screen", |v| {
        v.viewports[0]
            .series
            .as_deref()
            .and_then(|k| v.library.series_by_key(k))
            .is_some_and(|s| s.study_uid == current_uid)
            && v.displayed(0).is_some()
    });
    // The patient's other study is listed; opened, it goes beside.
    wait_for_label(&mut h, "Open beside");
    h.get_by_label("Open beside").click();
    step_until(&mut h, "the prior beside the current study", |v| {
        v.viewports[1]
            .series
            .as_deref()
            .and_then(|k| v.library.series_by_key(k))
            .is_some_and(|s| s.study_uid == prior_uid)
    });
    assert_eq!(
        h.state().settings.layout,
        hilum::app::settings::Layout::SideBySide
    );
    assert_eq!(h.state().library.images.len(), 2);
    // Both are in the cache, whole.
    // The node is saved under a name (owner-only file), and picked again.
    h.state_mut().pacs.save_name = "test-node".into();
    h.get_by_label("Save node").click();
    step_until(&mut h, "the node to be saved", |v| {
        v.pacs.saved.iter().any(|(name, _)| name == "test-node")
    });
    let saved = std::fs::read_to_string(&nodes).unwrap();
    assert!(
        saved.contains("[nodes.test-node]") && saved.contains(&format!("127.0.0.1:{port}")),
        "{saved}"
    );
    // Exported files are sent to the node (STOW-RS).
    let export = work.path().join("export.dcm");
    std::fs::copy(work.path().join("study1.dcm"), &export).unwrap();
    h.state_mut().pacs.send(vec![export], || {});
    wait_for_label(&mut h, "Sent 1 file(s)");

    // The cache is clearable from the window (not while retrieving).
    let cached = |uid: &str| {
        work.path()
            .join("cache")
            .join(uid)
            .join(format!("{uid}.1.1.dcm"))
    };
    assert!(cached(&current_uid).is_file() && cached(&prior_uid).is_file());
    assert!(
        !work
            .path()
            .join("cache")
            .join(&current_uid)
            .join(".incomplete")
            .exists()
    );
    h.get_by_label("Clear the study cache").click();
    wait_for_label(&mut h, "Removed 2 cached studies");
    assert!(!cached(&current_uid).exists() && !cached(&prior_uid).exists());
}
