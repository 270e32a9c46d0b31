//! The key image: a heatmap burned in and labelled in the PDF and SR,
//! sidecar measurements on an uncalibrated source, and an inverted display
//! exported inverted.

use hilum::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod, Verdict};
use hilum::annotations::sidecar::SidecarStore;
use hilum::annotations::{AnnotationSet, Point, Shape};
use hilum::reports::{ExportRequest, KeyImage, KeyImageFormat, Report, export};

use crate::common::hilum_env;

use super::*;

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
            score: "log-odds from the model's logits",
            base_score: 2.197,
            salient_score_drop: 1.9,
            random_score_drops: vec![0.1, 0.2, 0.0],
            random_score_drop_mean: 0.1,
            random_score_drop_sd: 0.1,
            verdict: Verdict::Faithful,
            reason: "test".into(),
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
    for needle in [
        "Grad-CAM",
        "Saliency method",
        "Saliency verdict",
        "Faithful: the map points at what the model uses",
        "-1.900",
        "-0.412",
        "-0.037",
    ] {
        assert!(text.contains(needle), "PDF lacks {needle}:\n{text}");
    }
    let mut c = tool("dsrdump", "dcmtk");
    c.arg(&sr);
    let (ok, dump, err) = run_tool(c);
    assert!(ok && err.trim().is_empty(), "{err}");
    assert!(dump.contains("Source of Measurement"), "{dump}");
}

#[test]
fn an_unfaithful_heatmap_is_described_but_drawn_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let ct = load(&corpus("CT_small.dcm"));
    let mut heatmap = test_heatmap(128, 128);
    let f = heatmap.faithfulness.as_mut().unwrap();
    f.verdict = Verdict::NotFaithful;
    f.salient_score_drop = 0.05;
    let export_with = |draw: bool, name: &str| {
        let mut key = KeyImage::plain(&ct);
        key.heatmap = Some(&heatmap);
        key.draw_unfaithful = draw;
        let report = Report {
            key_images: vec![key],
            ai: None,
            impression: String::new(),
            reader: String::new(),
        };
        let (png, pdf) = (
            dir.path().join(format!("{name}.png")),
            dir.path().join(format!("{name}.pdf")),
        );
        export(
            &report,
            &ExportRequest {
                key_image: Some((png.clone(), KeyImageFormat::Png)),
                pdf: Some(pdf.clone()),
                ..Default::default()
            },
            &mut |_| true,
        )
        .unwrap();
        (image::open(&png).unwrap().to_rgb8(), pdf_text(&pdf))
    };
    let (hidden, text) = export_with(false, "hidden");
    let (drawn, forced_text) = export_with(true, "drawn");
    // The hot quadrant is coloured only when asked for.
    assert_ne!(hidden.get_pixel(600, 600), drawn.get_pixel(600, 600));
    for needle in ["Not faithful", "no better than random", "not asked for"] {
        assert!(text.contains(needle), "PDF lacks {needle}:\n{text}");
    }
    assert!(forced_text.contains("Not faithful"), "{forced_text}");
    assert!(!forced_text.contains("not asked for"), "{forced_text}");
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
