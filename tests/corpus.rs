//! The reference corpus: every file the reference decodes must give the same
//! frame-0 statistics and the same rendering through the CLI; every file it
//! cannot decode must give one clear error line, never a panic.

mod common;

use common::{corpus_dir, hilum, reference};
use serde_json::Value;
use sha2::{Digest, Sha256};

use hilum::imaging::{self, FrameSelection, LoadOptions};

/// Transfer syntaxes whose decoders legitimately differ between
/// implementations.
fn is_lossy(ts: &str) -> bool {
    matches!(
        ts,
        "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.81"
    )
}

fn files() -> Vec<Value> {
    reference()["files"].as_array().unwrap().clone()
}

fn info(path: &str) -> Value {
    let out = hilum(&["info", path, "--json", "--stats"]);
    assert!(
        out.status.success(),
        "hilum info {path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("info prints JSON");
    v.as_array().unwrap()[0].clone()
}

#[test]
fn frame0_stats_match_the_reference() {
    let dir = corpus_dir();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in files().iter().filter(|f| f["decodes"] == true) {
        let name = f["file"].as_str().unwrap();
        let path = dir.join(name);
        let v = info(path.to_str().unwrap());
        let got = &v["frame0_stats"];
        let want = &f["frame0"];
        let (wmin, wmax, wmean) = (
            want["min"].as_f64().unwrap(),
            want["max"].as_f64().unwrap(),
            want["mean"].as_f64().unwrap(),
        );
        let (gmin, gmax, gmean) = (
            got["min"].as_f64().unwrap(),
            got["max"].as_f64().unwrap(),
            got["mean"].as_f64().unwrap(),
        );
        let ts = f["transfer_syntax_uid"].as_str().unwrap();
        let ok = if is_lossy(ts) {
            let range = (wmax - wmin).max(1.0);
            (gmin - wmin).abs() <= 0.02 * range
                && (gmax - wmax).abs() <= 0.02 * range
                && (gmean - wmean).abs() <= 0.005 * range
        } else {
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
            close(gmin, wmin) && close(gmax, wmax) && close(gmean, wmean)
        };
        if !ok {
            failures.push(format!(
                "{name}: got min {gmin} max {gmax} mean {gmean}, want {wmin} {wmax} {wmean}"
            ));
        }
        // The info contract fields agree with the reference header values.
        for (key, rkey) in [
            ("rows", "rows"),
            ("columns", "cols"),
            ("bits_allocated", "bits_allocated"),
        ] {
            if v[key] != f[rkey] {
                failures.push(format!("{name}: {key} {} != {}", v[key], f[rkey]));
            }
        }
        if v["transfer_syntax_uid"] != f["transfer_syntax_uid"] {
            failures.push(format!(
                "{name}: transfer syntax {}",
                v["transfer_syntax_uid"]
            ));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} files checked");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn renders_match_the_reference_pngs() {
    let dir = corpus_dir();
    let out_dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in files().iter().filter(|f| f["decodes"] == true) {
        let name = f["file"].as_str().unwrap();
        let Some(png) = f["render"]["png"].as_str() else {
            continue;
        };
        let out = out_dir.path().join(format!("{name}.png"));
        let run = hilum(&[
            "render",
            dir.join(name).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        if !run.status.success() {
            failures.push(format!(
                "{name}: render failed: {}",
                String::from_utf8_lossy(&run.stderr)
            ));
            continue;
        }
        let got = image::open(&out).unwrap();
        let want = image::open(dir.join(png)).unwrap();
        let (got, want) = if want.color().channel_count() >= 3 {
            (got.to_rgb8().into_raw(), want.to_rgb8().into_raw())
        } else {
            if got.color().channel_count() != 1 {
                failures.push(format!("{name}: rendered colour, reference is gray"));
                continue;
            }
            (got.to_luma8().into_raw(), want.to_luma8().into_raw())
        };
        if got.len() != want.len() {
            failures.push(format!("{name}: size {} != {}", got.len(), want.len()));
            continue;
        }
        let diffs: Vec<u32> = got
            .iter()
            .zip(&want)
            .map(|(a, b)| a.abs_diff(*b) as u32)
            .collect();
        let max = *diffs.iter().max().unwrap();
        let mad = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
        let ts = f["transfer_syntax_uid"].as_str().unwrap();
        let per_pixel = match name {
            "JPGExtended.dcm" | "SC_ybr_full_422_uncompressed.dcm" => 2,
            _ => 1,
        };
        let ok = if is_lossy(ts) {
            mad <= 1.0 && max <= 8 && (name != "JPGExtended.dcm" || max <= per_pixel)
        } else {
            max <= per_pixel
        };
        if !ok {
            failures.push(format!("{name}: max diff {max}, mean abs diff {mad:.3}"));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} files rendered");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Lossless decodes are bit-exact: the SHA-256 of frame 0's stored values
/// equals the reference's (for files whose reference dtype we share).
#[test]
fn lossless_frames_are_bit_exact() {
    let dir = corpus_dir();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in files().iter().filter(|f| f["decodes"] == true) {
        let ts = f["transfer_syntax_uid"].as_str().unwrap();
        if is_lossy(ts) {
            continue;
        }
        let name = f["file"].as_str().unwrap();
        let image = imaging::load_path(
            &dir.join(name),
            &LoadOptions {
                frames: FrameSelection::Only(0),
                ..LoadOptions::default()
            },
        )
        .unwrap();
        let frame = image.frame(0).unwrap();
        let digest = hex(&Sha256::digest(frame.samples.to_le_bytes()));
        if digest != f["frame0"]["sha256_raw"].as_str().unwrap() {
            failures.push(format!("{name} ({})", f["frame0"]["dtype"]));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} checked");
    assert!(failures.is_empty(), "hash mismatches: {failures:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn undecodable_files_give_one_clear_error() {
    let dir = corpus_dir();
    let out_dir = tempfile::tempdir().unwrap();
    for f in files().iter().filter(|f| f["decodes"] == false) {
        let name = f["file"].as_str().unwrap();
        let path = dir.join(name);
        let out = out_dir.path().join("x.png");
        let run = hilum(&[
            "render",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        // Either a correct image (better than the reference) or an error line.
        if run.status.success() {
            assert!(
                image::open(&out).is_ok(),
                "{name}: success without an image"
            );
            continue;
        }
        assert_eq!(
            run.status.code(),
            Some(1),
            "{name}: exit {:?} ({stderr})",
            run.status
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: not one line: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: error does not name the file: {stderr}"
        );
        assert!(!stderr.contains("panic"), "{name}: {stderr}");
    }
}

#[test]
fn truncated_pixel_data_is_reported_as_truncated() {
    let run = hilum(&[
        "info",
        "--stats",
        corpus_dir().join("MR_truncated.dcm").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("MR_truncated.dcm") && stderr.contains("truncated"),
        "{stderr}"
    );
}
