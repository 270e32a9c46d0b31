//! Reports end to end on corpus images with the bundled model: the PDF
//! read back with `pdftotext`, the SR and SC read back with dicom-object
//! and validated with dcmtk and dicom3tools, references between them, the
//! key image with a heatmap and annotations, and the safety of outputs.

mod common;

use std::path::{Path, PathBuf};

use common::{hilum, hilum_env, run_tool, tool};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, open_file};
use hilum::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod};
use hilum::annotations::sidecar::SidecarStore;
use hilum::annotations::{AnnotationSet, Point, Shape};
use hilum::imaging::{self, LoadOptions};
use hilum::reports::{ExportRequest, KeyImage, KeyImageFormat, Report, ReportError, export};

const CHINESE: &str = "王^小明";
const ARABIC: &str = "محمد علي";

fn corpus(name: &str) -> PathBuf {
    common::corpus_dir().join(name)
}

/// CT_small with a Chinese patient name (UTF-8), in `dir`.
fn ct_with_chinese_name(dir: &Path) -> PathBuf {
    let mut file = open_file(corpus("CT_small.dcm")).unwrap();
    file.put(DataElement::new(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
    file.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from(CHINESE),
    ));
    let path = dir.join("ct-chinese.dcm");
    file.write_to_file(&path).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pdf_text(pdf: &Path) -> String {
    let mut c = tool("pdftotext", "poppler-utils");
    c.args(["-layout", s(pdf), "-"]);
    let (ok, out, err) = run_tool(c);
    assert!(ok, "pdftotext failed: {err}");
    out
}

fn text_of(ds: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    ds.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .trim()
        .to_string()
}

/// Every item of `ContentSequence`, depth first.
fn content_items(ds: &InMemDicomObject, out: &mut Vec<InMemDicomObject>) {
    if let Some(seq) = ds.get(tags::CONTENT_SEQUENCE) {
        for item in seq.items().unwrap() {
            out.push(item.clone());
            content_items(item, out);
        }
    }
}

fn concept_meaning(item: &InMemDicomObject) -> String {
    let code = &item
        .get(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    text_of(code, tags::CODE_MEANING)
}

fn referenced_instance(item: &InMemDicomObject) -> String {
    let r = &item
        .get(tags::REFERENCED_SOP_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    text_of(r, tags::REFERENCED_SOP_INSTANCE_UID)
}

#[test]
fn cli_report_pdf_sr_sc_read_back_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let source = ct_with_chinese_name(dir.path());
    let (pdf, sr, sc, png) = (
        dir.path().join("report.pdf"),
        dir.path().join("sr.dcm"),
        dir.path().join("sc.dcm"),
        dir.path().join("key.png"),
    );
    let data = dir.path().join("data");
    let out = hilum_env(
        &[
            "report",
            s(&source),
            "--engine",
            "tract",
            "--impression",
            "No focal consolidation. Follow-up in 6 weeks. Change \u{2212}0.063.",
            "--reader",
            ARABIC,
            "--pdf",
            s(&pdf),
            "--sr",
            s(&sr),
            "--sc",
            s(&sc),
            "--png",
            s(&png),
        ],
        &[("HILUM_DATA_DIR", &data)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // PDF: header, findings table, model, impression, both scripts.
    let text = pdf_text(&pdf);
    for needle in [
        "Hilum reading report",
        "王 小明",
        ARABIC,
        "AI findings",
        "Label",
        "Probability",
        "Operating point",
        "PNEUMONIA",
        "NORMAL",
        "Paediatric pneumonia classifier",
        "No focal consolidation. Follow-up in 6 weeks.",
        // U+2212, which no bundled font has, comes out as a visible minus.
        "Change -0.063.",
        "Intended use",
        "Limitations",
        "1CT1",
        "JFK IMAGING CENTER",
        "20040119",
    ] {
        assert!(text.contains(needle), "PDF lacks {needle:?}:\n{text}");
    }

    // The key image is larger than the source (scaled for reading) and
    // has a caption band.
    let key = image::open(&png).unwrap();
    assert!(key.width() >= 768 && key.height() > key.width());

    // SC and SR parse back with dicom-object.
    let source_obj = open_file(&source).unwrap();
    let sc_obj = open_file(&sc).unwrap();
    let sr_obj = open_file(&sr).unwrap();
    assert_eq!(
        text_of(&sc_obj, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.7"
    );
    assert_eq!(text_of(&sc_obj, tags::BURNED_IN_ANNOTATION), "YES");
    assert_eq!(
        text_of(&sr_obj, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.88.33"
    );
    for obj in [&sc_obj, &sr_obj] {
        assert_eq!(
            text_of(obj, tags::STUDY_INSTANCE_UID),
            text_of(&source_obj, tags::STUDY_INSTANCE_UID),
            "under the source study"
        );
        assert_ne!(
            text_of(obj, tags::SERIES_INSTANCE_UID),
            text_of(&source_obj, tags::SERIES_INSTANCE_UID),
            "in a new series"
        );
        assert_eq!(text_of(obj, tags::PATIENT_NAME), CHINESE);
    }
    let source_uid = text_of(&source_obj, tags::SOP_INSTANCE_UID);
    let sc_uid = text_of(&sc_obj, tags::SOP_INSTANCE_UID);
    let sc_source = &sc_obj
        .get(tags::SOURCE_IMAGE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    assert_eq!(
        text_of(sc_source, tags::REFERENCED_SOP_INSTANCE_UID),
        source_uid
    );
    let mut items = Vec::new();
    content_items(&sr_obj, &mut items);
    let image_refs: Vec<(String, String)> = items
        .iter()
        .filter(|i| text_of(i, tags::VALUE_TYPE) == "IMAGE")
        .map(|i| (concept_meaning(i), referenced_instance(i)))
        .collect();
    assert!(image_refs.contains(&("Source of Measurement".into(), source_uid.clone())));
    assert!(image_refs.contains(&("Illustration of Finding".into(), sc_uid.clone())));
    let finding = items
        .iter()
        .find(|i| concept_meaning(i) == "Finding")
        .unwrap();
    assert_eq!(text_of(finding, tags::TEXT_VALUE), "PNEUMONIA");

    // dcmtk: dsrdump prints the findings without errors; dcmdump reads
    // both without warnings.
    // dcmtk 3.6.7's VR checker does not support UTF-8 (ISO_IR 192), which
    // the Chinese and Arabic names need, and says so once; anything else
    // on stderr fails. (The ASCII-only SR of the heatmap test must give no
    // line at all.)
    let mut c = tool("dsrdump", "dcmtk");
    c.arg(&sr);
    let (ok, dump, err) = run_tool(c);
    let other: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            *l != "W: The VR checker does not support this Specific Character Set: ISO_IR 192"
        })
        .collect();
    assert!(ok && other.is_empty(), "dsrdump: {err}\n{dump}");
    for needle in [
        "PNEUMONIA",
        "AI probability",
        "Impression",
        "No focal consolidation",
    ] {
        assert!(dump.contains(needle), "dsrdump lacks {needle}:\n{dump}");
    }
    for file in [&sr, &sc] {
        let mut c = tool("dcmdump", "dcmtk");
        c.arg(file);
        let (ok, _, err) = run_tool(c);
        assert!(
            ok && err.trim().is_empty(),
            "dcmdump {}: {err}",
            file.display()
        );
    }
    // dicom3tools: no IOD errors.
    for file in [&sr, &sc] {
        let mut c = tool("dciodvfy", "dicom3tools");
        c.arg(file);
        let (_, out, err) = run_tool(c);
        let all = format!("{out}{err}");
        let errors: Vec<&str> = all.lines().filter(|l| l.starts_with("Error")).collect();
        assert!(errors.is_empty(), "dciodvfy {}:\n{all}", file.display());
    }
}

#[test]
fn deidentified_report_keeps_references_and_drops_identity() {
    let dir = tempfile::tempdir().unwrap();
    let source = ct_with_chinese_name(dir.path());
    let (pdf, sr, sc, png) = (
        dir.path().join("report.pdf"),
        dir.path().join("sr.dcm"),
        dir.path().join("sc.dcm"),
        dir.path().join("key.png"),
    );
    let out = hilum_env(
        &[
            "report",
            s(&source),
            "--no-ai",
            "--anonymize",
            "--impression",
            "Teaching case.",
            "--pdf",
            s(&pdf),
            "--sr",
            s(&sr),
            "--sc",
            s(&sc),
            "--png",
            s(&png),
        ],
        &[("HILUM_DATA_DIR", &dir.path().join("data"))],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source_obj = open_file(&source).unwrap();
    let identifiers = [
        text_of(&source_obj, tags::PATIENT_ID),
        text_of(&source_obj, tags::STUDY_INSTANCE_UID),
        text_of(&source_obj, tags::SOP_INSTANCE_UID),
        text_of(&source_obj, tags::SERIES_INSTANCE_UID),
        text_of(&source_obj, tags::STUDY_DATE),
        "小明".to_string(),
    ];
    let text = pdf_text(&pdf);
    assert!(text.contains("de-identified"));
    assert!(text.contains("Teaching case."));
    for file in [&sr, &sc] {
        let bytes = std::fs::read(file).unwrap();
        for id in &identifiers {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "{} still holds {id}",
                file.display()
            );
        }
    }
    for id in &identifiers {
        assert!(!text.contains(id.as_str()), "PDF still shows {id}");
    }
    let sc_obj = open_file(&sc).unwrap();
    let sr_obj = open_file(&sr).unwrap();
    assert_eq!(text_of(&sr_obj, tags::PATIENT_IDENTITY_REMOVED), "YES");
    assert_eq!(
        text_of(&sc_obj, tags::STUDY_INSTANCE_UID),
        text_of(&sr_obj, tags::STUDY_INSTANCE_UID),
        "one study UID mapping for the whole export"
    );
    let mut items = Vec::new();
    content_items(&sr_obj, &mut items);
    let illustration = items
        .iter()
        .find(|i| {
            text_of(i, tags::VALUE_TYPE) == "IMAGE"
                && concept_meaning(i) == "Illustration of Finding"
        })
        .expect("SR references the SC");
    assert_eq!(
        referenced_instance(illustration),
        text_of(&sc_obj, tags::SOP_INSTANCE_UID)
    );
    let sc_source = &sc_obj
        .get(tags::SOURCE_IMAGE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let source_ref = items
        .iter()
        .find(|i| {
            text_of(i, tags::VALUE_TYPE) == "IMAGE" && concept_meaning(i) == "Source of Measurement"
        })
        .unwrap();
    assert_eq!(
        referenced_instance(source_ref),
        text_of(sc_source, tags::REFERENCED_SOP_INSTANCE_UID),
        "the source UID is replaced the same way in SC and SR"
    );
}

fn load(path: &Path) -> hilum::imaging::Image {
    imaging::load_path(path, &LoadOptions::default()).unwrap()
}

fn test_heatmap(width: u32, height: u32) -> Heatmap {
    let values = (0..height)
        .flat_map(|y| {
            (0..width).map(move |x| {
                if x > width / 2 && y > height / 2 {
                    1.0
                } else {
                    0.0
                }
            })
        })
        .collect();
    Heatmap {
        method: SaliencyMethod::GradCam,
        target_label: "PNEUMONIA".into(),
        target_index: 1,
        settings: "layer features, 5×5 grid".into(),
        model: "pneumonia-xception 0.3.0".into(),
        width,
        height,
        values,
        model_space: vec![0.0; 25],
        grid: (5, 5),
        faithfulness: Some(Faithfulness {
            fraction: 0.1,
            base_probability: 0.9,
            salient_drop: 0.412,
            random_drop: 0.037,
        }),
        time_ms: 1.0,
    }
}

#[test]
fn heatmap_is_burned_in_and_labelled_in_pdf_and_sr() {
    let dir = tempfile::tempdir().unwrap();
    let ct = load(&corpus("CT_small.dcm"));
    let heatmap = test_heatmap(128, 128);
    let plain_png = dir.path().join("plain.png");
    let heat_png = dir.path().join("heat.png");
    let pdf = dir.path().join("heat.pdf");
    let sr = dir.path().join("heat-sr.dcm");
    let plain = Report {
        key_images: vec![KeyImage::plain(&ct)],
        ai: None,
        impression: String::new(),
        reader: String::new(),
    };
    export(
        &plain,
        &ExportRequest {
            key_image: Some((plain_png.clone(), KeyImageFormat::Png)),
            ..Default::default()
        },
        &mut |_| true,
    )
    .unwrap();
    let mut key = KeyImage::plain(&ct);
    key.heatmap = Some(&heatmap);
    let with_heat = Report {
        key_images: vec![key],
        ..plain.clone()
    };
    let mut steps = Vec::new();
    export(
        &with_heat,
        &ExportRequest {
            key_image: Some((heat_png.clone(), KeyImageFormat::Png)),
            pdf: Some(pdf.clone()),
            structured_report: Some(sr.clone()),
            ..Default::default()
        },
        &mut |p| {
            steps.push(p.next);
            true
        },
    )
    .unwrap();
    assert_eq!(
        steps,
        [
            "key image",
            "annotated image",
            "DICOM Structured Report",
            "PDF report",
            "done"
        ]
    );
    let (a, b) = (
        image::open(&plain_png).unwrap().to_rgb8(),
        image::open(&heat_png).unwrap().to_rgb8(),
    );
    // The image part (768×768 at 6× scale) differs only where the map is hot.
    let at = |img: &image::RgbImage, x, y| *img.get_pixel(x, y);
    assert_eq!(
        at(&a, 100, 100),
        at(&b, 100, 100),
        "cold quadrant unchanged"
    );
    assert_ne!(at(&a, 600, 600), at(&b, 600, 600), "hot quadrant coloured");
    let text = pdf_text(&pdf);
    for needle in ["Grad-CAM", "Saliency method", "-0.412", "-0.037"] {
        assert!(text.contains(needle), "PDF lacks {needle}:\n{text}");
    }
    let mut c = tool("dsrdump", "dcmtk");
    c.arg(&sr);
    let (ok, dump, err) = run_tool(c);
    assert!(ok && err.trim().is_empty(), "{err}");
    assert!(dump.contains("Source of Measurement"), "{dump}");
}

#[test]
fn source_without_spacing_reports_uncalibrated_measurements_from_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let source = corpus("RG3_UNCR.dcm");
    let image = imaging::load_path(
        &source,
        &LoadOptions {
            frames: imaging::FrameSelection::None,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let mut set = AnnotationSet::new();
    set.add(
        0,
        Shape::Length {
            start: Point::new(100.0, 100.0),
            end: Point::new(400.0, 500.0),
        },
    );
    SidecarStore::at(data.join("annotations"))
        .save_for(&image, &set)
        .unwrap();
    let pdf = dir.path().join("r.pdf");
    let out = hilum_env(
        &["report", s(&source), "--no-ai", "--pdf", s(&pdf)],
        &[("HILUM_DATA_DIR", &data)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["annotations"], 1);
    let text = pdf_text(&pdf);
    assert!(text.contains("500.0 px (uncalibrated)"), "{text}");
}

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

#[test]
fn an_inverted_display_is_exported_inverted() {
    let image = load(&corpus("CT_small.dcm"));
    let plain = KeyImage::plain(&image);
    let inverted = KeyImage {
        invert: true,
        ..plain.clone()
    };
    let a = hilum::reports::keyimage::compose(&plain, &[]).unwrap();
    let b = hilum::reports::keyimage::compose(&inverted, &[]).unwrap();
    assert_eq!(a.dimensions(), b.dimensions());
    // Same size and layout (no caption band), every gray value mirrored.
    assert!(a.pixels().zip(b.pixels()).all(|(p, q)| p[0] == 255 - q[0]));
    assert!(
        a.pixels().any(|p| p[0] != a.get_pixel(0, 0)[0]),
        "a blank key image"
    );
}
