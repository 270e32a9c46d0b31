//! Layouts per modality: when a study opens, the first rule for its
//! modality arranges the screen — a CT volume in three planes with the
//! lung window, a radiograph 1×1 — and a rule the reader edits (CT 1×2
//! with the mediastinum window, no AI panel) fills the other viewport with
//! the study's next series and hides the panel. Short CT series stay 1×1.

use super::*;
use hilum::app::hanging::{Arrangement, HangingRule};

fn with_layouts(rules: Option<Vec<HangingRule>>) -> Viewer {
    let mut settings = Settings {
        auto_run_ai: false,
        hanging_protocols: true,
        ..Settings::default()
    };
    if let Some(rules) = rules {
        settings.hanging = rules;
    }
    Viewer::new(settings, AiAssist::new(Err("no model in this test".into())))
}

fn ct(dir: &Path, slices: usize, series: u32) {
    phantom_series(
        dir,
        serde_json::json!({"rows": 24, "columns": 20, "slices": slices,
            "pixel_spacing": [0.8, 0.8], "slice_spacing": 2.0, "z0": -20.0, "window": [40, 400],
            "study_uid": "1.2.826.0.1.3680043.9.7433.8.60",
            "frame_of_reference_uid": "1.2.826.0.1.3680043.9.7433.8.61",
            "series_uid": format!("1.2.826.0.1.3680043.9.7433.8.6{}", 1 + series), "seed": series}),
    );
}

fn open(viewer: Viewer, paths: &[PathBuf]) -> Harness<'static, Viewer> {
    let mut h = harness(viewer);
    drop_files(&mut h, paths);
    step_until(&mut h, "the study and its layout", |v| {
        !v.loading() && v.hanging.message.is_some()
    });
    h.step();
    h
}

fn preset(name: &str) -> WindowChoice {
    let p = hilum::app::settings::default_presets()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap();
    WindowChoice::Explicit(hilum::imaging::voi::Window::linear(p.center, p.width))
}

#[test]
fn a_ct_volume_opens_in_three_planes_with_the_lung_window_and_a_radiograph_one_by_one_with_the_ai_panel()
 {
    let dir = tempfile::tempdir().unwrap();
    ct(dir.path(), 24, 0);
    let mut h = open(with_layouts(None), &[dir.path().to_path_buf()]);
    let message = h.state().hanging.message.clone().unwrap();
    assert_eq!(
        message,
        "Layout for CT: MPR (axial, coronal, sagittal), CT lung"
    );
    let mpr = h.state().mpr.as_ref().expect("the MPR layout");
    assert_eq!(mpr.window, preset("CT lung"));
    assert!(h.state().settings.ai_panel);
    wait_for_label(&mut h, "Coronal plane");
    let corner = h.get_by_label("Coronal plane").value().unwrap_or_default();
    assert!(corner.contains("W 1500 L -600"), "{corner}");

    // A radiograph opened next: one viewport, the MPR layout closed.
    let radiograph = common::corpus_dir().join("6154");
    drop_files(&mut h, std::slice::from_ref(&radiograph));
    let path = radiograph.clone();
    step_until(&mut h, "the radiograph", |v| {
        v.library.index_of(&path).is_some()
    });
    let series = {
        let v = h.state();
        let image = v.library.index_of(&radiograph).unwrap();
        v.library
            .series
            .iter()
            .find(|s| s.stack.iter().any(|e| e.image == image))
            .unwrap()
            .key
            .clone()
    };
    // The viewport already shows the CT, so the drop does not take it
    // over: the radiograph is opened in it as the worklist or the PACS
    // window would.
    h.state_mut().viewports[0].series = Some(series);
    h.state_mut().viewports[0].position = 0;
    h.state_mut().hanging.message = None;
    h.state_mut().study_opened(0);
    step_until(&mut h, "the radiograph's layout", |v| {
        v.hanging.message.is_some()
    });
    let v = h.state();
    assert_eq!(v.hanging.message.as_deref(), Some("Layout for CR: 1×1"));
    assert!(v.mpr.is_none());
    assert!(v.settings.ai_panel);
    assert_eq!(v.settings.layout, hilum::app::settings::Layout::Single);
}

#[test]
fn an_edited_rule_puts_the_next_series_beside_with_its_window_and_a_short_series_stays_single() {
    let dir = tempfile::tempdir().unwrap();
    ct(&dir.path().join("a"), 24, 0);
    ct(&dir.path().join("b"), 12, 1);
    let rules = vec![HangingRule {
        modality: "ct".into(),
        arrangement: Arrangement::SideBySide,
        preset: Some("CT mediastinum".into()),
        ai_panel: false,
        ..HangingRule::default()
    }];
    let h = open(with_layouts(Some(rules)), &[dir.path().to_path_buf()]);
    let v = h.state();
    assert_eq!(v.settings.layout, hilum::app::settings::Layout::SideBySide);
    assert!(v.viewports[0].series.is_some() && v.viewports[1].series.is_some());
    assert_ne!(v.viewports[0].series, v.viewports[1].series);
    for vp in &v.viewports[..2] {
        assert_eq!(vp.view.window, preset("CT mediastinum"));
    }
    assert!(v.mpr.is_none());
    assert!(!v.settings.ai_panel, "the rule hides the AI panel");

    // The default CT rule wants 20 slices for MPR: 12 stay 1×1.
    let short = tempfile::tempdir().unwrap();
    ct(short.path(), 12, 2);
    let h = open(with_layouts(None), &[short.path().to_path_buf()]);
    assert!(h.state().mpr.is_none());
    assert_eq!(
        h.state().hanging.message.as_deref(),
        Some("Layout for CT: 1×1, CT lung")
    );
}

#[test]
fn a_load_of_two_studies_opens_on_the_newest_with_the_prior_beside_when_the_rule_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for (name, study, date, z0) in [
        (
            "current",
            "1.2.826.0.1.3680043.9.7433.8.70",
            "20260301",
            -20.0,
        ),
        (
            "prior",
            "1.2.826.0.1.3680043.9.7433.8.71",
            "20250301",
            -10.0,
        ),
    ] {
        phantom_series(
            &dir.path().join(name),
            serde_json::json!({"rows": 16, "columns": 16, "slices": 8,
                "pixel_spacing": [0.8, 0.8], "slice_spacing": 2.0, "z0": z0, "window": [40, 400],
                "study_uid": study, "study_date": date,
                "frame_of_reference_uid": "1.2.826.0.1.3680043.9.7433.8.72", "seed": 9}),
        );
    }
    let rules = vec![HangingRule {
        modality: "CT".into(),
        arrangement: Arrangement::Single,
        with_prior: true,
        ..HangingRule::default()
    }];
    let h = open(with_layouts(Some(rules)), &[dir.path().to_path_buf()]);
    let v = h.state();
    assert_eq!(
        v.hanging.message.as_deref(),
        Some("Layout for CT: 1×1, prior beside")
    );
    assert_eq!(v.settings.layout, hilum::app::settings::Layout::SideBySide);
    let study = |k: usize| {
        let key = v.viewports[k].series.as_deref().unwrap();
        v.library.series_by_key(key).unwrap().study_uid.clone()
    };
    // The load opens on this year's study; last year's is its prior.
    assert_eq!(study(0), "1.2.826.0.1.3680043.9.7433.8.70");
    assert_eq!(study(1), "1.2.826.0.1.3680043.9.7433.8.71");
}
