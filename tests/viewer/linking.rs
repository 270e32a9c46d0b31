//! Linked scrolling: two series of one Frame of Reference with different
//! slice spacing, side by side, scroll together by position, not by slice
//! number, whichever leads; the link can be turned off.

use super::*;

/// A phantom series `series` of `slices` slices `spacing` mm apart from
/// z = -20.
fn phantom(dir: &Path, slices: usize, spacing: f64, series: &str) {
    let spec = serde_json::json!({"rows": 16, "columns": 16, "slices": slices,
        "pixel_spacing": [0.8, 0.8], "slice_spacing": spacing, "z0": -20.0, "window": [40, 400],
        "series_uid": series, "seed": 5});
    phantom_series(dir, spec);
}

fn z_of(h: &Harness<'static, Viewer>, v: usize) -> f64 {
    let (image, _) = h.state().shown(v).unwrap();
    h.state().library.images[image]
        .image
        .metadata
        .image_position_patient
        .unwrap()[2]
}

#[test]
fn two_series_of_one_frame_of_reference_scroll_together_by_position() {
    let dir = tempfile::tempdir().unwrap();
    // One study, one Frame of Reference: thin (1 mm) and thick (2.5 mm)
    // reconstructions, written by one phantom call each but sharing the
    // Frame of Reference UID through a rewrite below.
    phantom(
        &dir.path().join("thin"),
        30,
        1.0,
        "1.2.826.0.1.3680043.9.7433.8.1",
    );
    phantom(
        &dir.path().join("thick"),
        12,
        2.5,
        "1.2.826.0.1.3680043.9.7433.8.2",
    );
    common::python(
        "import pydicom, sys, pathlib\n\
         for p in pathlib.Path(sys.argv[1]).rglob('*.dcm'):\n\
         \x20   d = pydicom.dcmread(p); d.FrameOfReferenceUID = '1.2.826.0.1.3680043.9.7433.8.9'; d.save_as(p)\n",
        &[&dir.path().display().to_string()],
    );
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[dir.path().to_path_buf()]);
    step_until(&mut h, "both series", |v| {
        !v.loading() && v.library.series.len() == 2
    });
    let keys: Vec<String> = h
        .state()
        .library
        .series
        .iter()
        .map(|s| s.key.clone())
        .collect();
    {
        let v = h.state_mut();
        v.settings.layout = hilum::app::settings::Layout::SideBySide;
        v.viewports[0].series = Some(keys[0].clone());
        v.viewports[1].series = Some(keys[1].clone());
        v.active = 0;
    }
    h.step();
    h.step();
    let thin = if h
        .state()
        .library
        .series_by_key(&keys[0])
        .unwrap()
        .stack
        .len()
        == 30
    {
        0
    } else {
        1
    };
    let thick = 1 - thin;
    h.state_mut().active = thin;
    for steps in [5, 7, 3] {
        for _ in 0..steps {
            h.key_press(Key::ArrowDown);
        }
        h.step();
        let (a, b) = (z_of(&h, thin), z_of(&h, thick));
        assert!(
            (a - b).abs() <= 1.25 + 1e-6,
            "thin at z {a}, thick at z {b}"
        );
    }
    // The thick series leads: the thin one follows it.
    h.state_mut().active = thick;
    h.key_press(Key::ArrowDown);
    h.step();
    assert!(
        (z_of(&h, thin) - z_of(&h, thick)).abs() <= 0.5 + 1e-6,
        "the nearest thin slice"
    );
    // Off: the other viewport stays.
    h.state_mut().settings.link_scroll = false;
    let before = z_of(&h, thin);
    h.key_press(Key::ArrowDown);
    h.step();
    assert_eq!(z_of(&h, thin), before);
}
