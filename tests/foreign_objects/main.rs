//! Foreign objects (`annotations::foreign`) read back exactly: Parametric
//! Maps, BINARY and FRACTIONAL Segmentations and a TID 1500 SR made by
//! highdicom over corpus images, presentation states made by dcmtk's
//! `dcmpsmk` and by pydicom, matched to the loaded images by SOP Instance
//! UID; broken objects give errors naming the file, never a panic.
//!
//! Here: fixtures, matching and broken input; `maps`: Parametric Maps and
//! Segmentations; `documents`: the SR and the presentation states.
//!
//! The objects are generated once per run by `tests/foreign_objects/
//! generate.py` (the venv's highdicom and pydicom) into a folder of the
//! target's temporary directory; nothing generated is committed.

#[path = "../common/mod.rs"]
mod common;

mod documents;
mod maps;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hilum::annotations::Point;
use hilum::annotations::foreign::gsps::Units;
use hilum::annotations::foreign::pmap::ValueTransform;
use hilum::annotations::foreign::seg::{SegmentationKind, default_color};
use hilum::annotations::foreign::{
    ForeignErrorKind, ForeignObject, GraphicType, ImageRef, PresentationState, Referrer,
    StructuredReport, UnresolvedReason, is_foreign_sop_class, match_references, read_foreign,
};
use hilum::imaging::{self, FrameSelection, LoadOptions};

/// The generated objects' folder and what the generator says to expect.
fn fixtures() -> &'static (PathBuf, serde_json::Value) {
    static FIXTURES: OnceLock<(PathBuf, serde_json::Value)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        // A folder of this run's own (a static is never dropped, so it is
        // kept); earlier runs' folders go once they are an hour old.
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| {
                t.elapsed()
                    .is_ok_and(|age| age > std::time::Duration::from_secs(3600))
            });
            if stale
                && entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("foreign_objects")
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("foreign_objects")
            .tempdir_in(root)
            .unwrap()
            .keep();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/foreign_objects/generate.py");
        let corpus = common::corpus_dir();
        let out = common::python(
            &std::fs::read_to_string(&script).unwrap(),
            &[corpus.to_str().unwrap(), dir.to_str().unwrap()],
        );
        assert!(out.contains("ok"), "generator output: {out}");
        let mut dcmpsmk = common::tool("dcmpsmk", "dcmtk");
        dcmpsmk
            .arg(corpus.join("CT_small.dcm"))
            .arg(dir.join("gsps_dcmtk.dcm"));
        let (ok, _, err) = common::run_tool(dcmpsmk);
        assert!(ok, "dcmpsmk failed: {err}");
        let expected = std::fs::read_to_string(dir.join("expected.json")).unwrap();
        (dir, serde_json::from_str(&expected).unwrap())
    })
}

fn fixture(name: &str) -> PathBuf {
    fixtures().0.join(name)
}

fn expected() -> &'static serde_json::Value {
    &fixtures().1
}

fn read(name: &str) -> ForeignObject {
    read_foreign(&fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name} is not read as a foreign object"))
}

fn ct_uid() -> &'static str {
    expected()["ct_uid"].as_str().unwrap()
}

/// The loaded corpus image `name` as matching sees it.
fn image_ref(name: &str) -> ImageRef {
    let options = LoadOptions {
        frames: FrameSelection::None,
        ..LoadOptions::default()
    };
    let image = imaging::load_path(&common::corpus_dir().join(name), &options).unwrap();
    ImageRef {
        sop_instance_uid: image.metadata.sop_instance_uid.clone().unwrap(),
        frames: image.pixels.frames,
    }
}

/// Points from (x, y) pairs.
fn points(xy: &[(f64, f64)]) -> Vec<Point> {
    xy.iter().map(|&(x, y)| Point::new(x, y)).collect()
}

fn colors(key: &str) -> Vec<[u8; 3]> {
    serde_json::from_value(expected()[key].clone()).unwrap()
}

#[test]
fn an_object_whose_images_are_not_loaded_is_listed_with_their_uids() {
    // The corpus SEG (dcmqi) references three CT slices not in the corpus.
    let liver = read_foreign(&common::corpus_dir().join("liver_1frame.dcm"))
        .unwrap()
        .unwrap();
    let ForeignObject::Segmentation(seg) = &liver else {
        panic!("liver_1frame is a segmentation");
    };
    assert_eq!(seg.segments[0].label, "Liver");
    assert_eq!(
        seg.segments[0].algorithm_type.as_deref(),
        Some("SEMIAUTOMATIC")
    );
    let objects = vec![read("seg_binary.dcm"), liver, read("gsps_dcmtk.dcm")];
    let matches = match_references(
        &objects,
        &[image_ref("MR_small.dcm"), image_ref("CT_small.dcm")],
    );
    assert_eq!(
        matches.len(),
        3,
        "every object has its match, resolved or not"
    );
    assert!(matches[0].is_complete() && matches[0].images() == [1]);
    let missing = &matches[1];
    assert_eq!(missing.object, 1);
    assert!(missing.resolved.is_empty());
    assert_eq!(
        missing.missing_uids(),
        [
            "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1",
            "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23432.1",
            "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23433.1",
        ]
    );
    assert!(
        missing
            .unresolved
            .iter()
            .any(|u| u.referrer == Referrer::Frame(0))
    );
    assert!(matches[2].is_complete());
}

#[test]
fn images_are_not_foreign_objects() {
    assert!(
        read_foreign(&common::corpus_dir().join("CT_small.dcm"))
            .unwrap()
            .is_none()
    );
    assert!(is_foreign_sop_class("1.2.840.10008.5.1.4.1.1.88.22\0"));
    assert!(is_foreign_sop_class("1.2.840.10008.5.1.4.1.1.66.4"));
    assert!(!is_foreign_sop_class("1.2.840.10008.5.1.4.1.1.2"));
    let missing = read_foreign(Path::new("/nonexistent/seg.dcm")).unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/seg.dcm"),
        "{missing}"
    );
}

fn assert_names_file(err: &hilum::annotations::foreign::ForeignError, path: &Path) {
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(err.to_string().contains(name), "{err}");
    assert!(!matches!(err.kind, ForeignErrorKind::Panic(_)), "{err}");
    assert!(
        !matches!(&err.kind, ForeignErrorKind::Read(k) if matches!(k, hilum::ImagingErrorKind::DecoderPanic(_))),
        "{err}"
    );
}

#[test]
fn broken_objects_give_errors_naming_the_file() {
    let short = fixture("seg_short_pixels.dcm");
    let err = read_foreign(&short).unwrap_err();
    assert_eq!(
        err.kind,
        ForeignErrorKind::PixelDataTruncated {
            found: 2048,
            expected: 4096
        }
    );
    assert_names_file(&err, &short);

    let unmapped = fixture("pm_no_mapping.dcm");
    let err = read_foreign(&unmapped).unwrap_err();
    assert_eq!(err.kind, ForeignErrorKind::NoValueMapping { frame: 1 });
    assert_names_file(&err, &unmapped);

    let compressed = fixture("seg_rle.dcm");
    let err = read_foreign(&compressed).unwrap_err();
    assert!(
        matches!(&err.kind, ForeignErrorKind::InvalidAttribute { name: "PixelData", reason }
            if reason.contains("encapsulated")),
        "{err}"
    );
    assert_names_file(&err, &compressed);

    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("seg_binary.dcm")).unwrap();
    let truncated = dir.path().join("truncated_seg.dcm");
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let err = read_foreign(&truncated).unwrap_err();
    assert_names_file(&err, &truncated);
}

/// Every truncation and a run of byte corruptions of each object: an
/// object or an error naming the file, never a panic.
#[test]
fn truncated_and_corrupted_objects_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mangled.dcm");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "seg_binary.dcm",
        "seg_odd.dcm",
        "pm_float.dcm",
        "sr_tid1500.dcm",
        "gsps_full.dcm",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let step = (bytes.len() / 150).max(1);
        let cuts = (0..bytes.len())
            .step_by(step)
            .chain(bytes.len().saturating_sub(16)..bytes.len());
        for cut in cuts {
            std::fs::write(&target, &bytes[..cut]).unwrap();
            if let Err(e) = read_foreign(&target) {
                assert_names_file(&e, &target);
            }
        }
        for _ in 0..150 {
            let mut mangled = bytes.clone();
            for _ in 0..4 {
                let at = 132 + (next() as usize) % (mangled.len() - 132);
                mangled[at] = next() as u8;
            }
            std::fs::write(&target, &mangled).unwrap();
            if let Err(e) = read_foreign(&target) {
                assert_names_file(&e, &target);
            }
        }
    }
}
