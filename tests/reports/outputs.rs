//! The safety of outputs: sources and existing files are never written
//! over without `--force`, unwritable folders and full disks are clear
//! errors that leave nothing behind, and cancelling stops before the next
//! output.

use hilum::reports::{ExportRequest, KeyImage, KeyImageFormat, Report, ReportError, export};

use crate::common::hilum;

use super::*;

#[test]
fn outputs_are_never_written_over_sources_or_existing_files_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("ct.dcm");
    std::fs::copy(corpus("CT_small.dcm"), &source).unwrap();
    let before = std::fs::read(&source).unwrap();
    let out = hilum(&["report", s(&source), "--no-ai", "--sc", s(&source)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite a source file"));
    assert_eq!(std::fs::read(&source).unwrap(), before);

    let png = dir.path().join("key.png");
    std::fs::write(&png, b"existing").unwrap();
    let out = hilum(&["report", s(&source), "--no-ai", "--png", s(&png)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key.png") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&png).unwrap(), b"existing");
    let out = hilum(&["report", s(&source), "--no-ai", "--png", s(&png), "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(image::open(&png).is_ok());
    let jpeg = dir.path().join("key.jpg");
    let out = hilum(&["report", s(&source), "--no-ai", "--jpeg", s(&jpeg)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&jpeg).unwrap();
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::Jpeg
    );
    assert_eq!(
        image::open(&jpeg).unwrap().width(),
        768,
        "the 128-pixel CT scaled 6×"
    );
}

#[test]
fn unwritable_target_folder_is_a_clear_error_and_leaves_nothing() {
    // /proc/self is a folder no one (not even root) can create files in.
    let target = Path::new("/proc/self/report.pdf");
    let out = hilum(&[
        "report",
        s(&corpus("CT_small.dcm")),
        "--no-ai",
        "--pdf",
        s(target),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/self/report.pdf"), "{err}");
    assert!(!target.exists());
    let missing = std::env::temp_dir().join("hilum-no-such-folder/report.pdf");
    let out = hilum(&[
        "report",
        s(&corpus("CT_small.dcm")),
        "--no-ai",
        "--pdf",
        s(&missing),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_no_partial_file() {
    // RLIMIT_FSIZE in a child shell: writes past 4 KiB fail with EFBIG
    // (SIGXFSZ ignored so the write returns the error, as on a full disk).
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("big.pdf");
    let script = format!(
        "trap '' XFSZ; ulimit -f 4; exec {} report {} --no-ai --pdf {}",
        env!("CARGO_BIN_EXE_hilum"),
        s(&corpus("CT_small.dcm")),
        s(&pdf)
    );
    let mut c = tool("bash", "bash");
    c.args(["-c", &script]);
    let (ok, _, err) = run_tool(c);
    assert!(!ok, "the write should fail");
    assert!(
        err.contains("big.pdf") && err.contains("too large"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no partial or temporary file: {left:?}");
}

#[test]
fn cancelling_stops_before_the_next_output() {
    let dir = tempfile::tempdir().unwrap();
    let ct = load(&corpus("CT_small.dcm"));
    let report = Report {
        key_images: vec![KeyImage::plain(&ct)],
        ai: None,
        impression: String::new(),
        reader: String::new(),
    };
    let (png, pdf) = (dir.path().join("k.png"), dir.path().join("r.pdf"));
    let result = export(
        &report,
        &ExportRequest {
            key_image: Some((png.clone(), KeyImageFormat::Png)),
            pdf: Some(pdf.clone()),
            ..Default::default()
        },
        &mut |p| p.next != "PDF report",
    );
    assert!(matches!(result, Err(ReportError::Cancelled)));
    assert!(png.exists() && !pdf.exists());
}
