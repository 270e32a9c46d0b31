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

/// Whether the rendered pixel near (`x`, `y`) (points; the harness draws
/// one pixel per point) shows the reference line's yellow rather than gray.
fn yellow_near(image: &image::RgbaImage, x: f32, y: f32) -> bool {
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    (-1..=1).any(|dy| {
        let p = image.get_pixel(cx as u32, (cy + dy) as u32);
        p[0] as i32 - p[2] as i32 > 80 && p[1] as i32 - p[2] as i32 > 60
    })
}

#[test]
fn the_active_slice_is_a_line_across_the_other_plane_and_window_and_zoom_link_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let (study, frame) = (
        "1.2.826.0.1.3680043.9.7433.8.20",
        "1.2.826.0.1.3680043.9.7433.8.21",
    );
    // Axial slices at z = -20 … +2; coronal images whose rows run from
    // z = +5 down to z = -24, 1 mm apart, columns 0.5 mm apart.
    phantom_series(
        &dir.path().join("axial"),
        serde_json::json!({"rows": 16, "columns": 16, "slices": 12,
            "pixel_spacing": [1.0, 1.0], "slice_spacing": 2.0, "z0": -20.0, "window": [40, 400],
            "series_uid": "1.2.826.0.1.3680043.9.7433.8.22", "study_uid": study,
            "frame_of_reference_uid": frame, "seed": 3}),
    );
    phantom_series(
        &dir.path().join("coronal"),
        serde_json::json!({"rows": 30, "columns": 16, "slices": 8,
            "pixel_spacing": [1.0, 0.5], "slice_spacing": 2.0, "z0": 5.0,
            "orientation": [1, 0, 0, 0, 0, -1], "window": [40, 400],
            "series_uid": "1.2.826.0.1.3680043.9.7433.8.23", "study_uid": study,
            "frame_of_reference_uid": frame, "seed": 4}),
    );
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[dir.path().to_path_buf()]);
    step_until(&mut h, "both series", |v| {
        !v.loading() && v.library.series.len() == 2
    });
    let by_len = |h: &Harness<'static, Viewer>, len: usize| {
        h.state()
            .library
            .series
            .iter()
            .find(|s| s.stack.len() == len)
            .unwrap()
            .key
            .clone()
    };
    let (axial, coronal) = (by_len(&h, 12), by_len(&h, 8));
    {
        let v = h.state_mut();
        v.settings.layout = hilum::app::settings::Layout::SideBySide;
        v.viewports[0].series = Some(axial);
        v.viewports[0].position = 4;
        v.viewports[1].series = Some(coronal);
        v.active = 0;
    }
    for _ in 0..3 {
        h.step();
    }
    let z = z_of(&h, 0);
    let line = h.state().reference_line(1).expect("a reference line");
    // Row (5 - z) mm below the first row's centre, across every column.
    let mut xs = [line[0][0], line[1][0]];
    xs.sort_by(f32::total_cmp);
    assert_eq!(xs, [0.0, 16.0]);
    for end in line {
        assert!(
            (end[1] as f64 - (5.0 - z + 0.5)).abs() < 1e-3,
            "{line:?} at z {z}"
        );
    }
    assert_eq!(h.state().reference_line(0), None, "not on the active one");

    // On screen: yellow across the coronal viewport at that row.
    let (image, _) = h.state().shown(1).unwrap();
    let image = Arc::clone(&h.state().library.images[image].image);
    let rect = h.get_by_label("Viewport 2").rect();
    let t = hilum::app::viewport::view_transform(&h.state().viewports[1].view, &image, rect);
    let [sx, sy] = t.to_screen(8.0, line[0][1]);
    let shot = h.render().unwrap();
    assert!(yellow_near(&shot, sx, sy), "the line at ({sx}, {sy})");
    let [ox, oy] = t.to_screen(8.0, (line[0][1] + 8.0) % 30.0);
    assert!(!yellow_near(&shot, ox, oy), "no line elsewhere");
    h.state_mut().settings.reference_lines = false;
    h.step();
    let shot = h.render().unwrap();
    assert!(!yellow_near(&shot, sx, sy), "reference lines off");

    // Window/level and zoom follow only when linked.
    let lung =
        hilum::imaging::WindowChoice::Explicit(hilum::imaging::voi::Window::linear(-600.0, 1500.0));
    h.state_mut().viewports[0].view.window = lung.clone();
    h.state_mut().viewports[0].view.zoom = Some(4.0);
    h.step();
    assert_ne!(h.state().viewports[1].view.window, lung);
    assert_eq!(h.state().viewports[1].view.zoom, None);
    h.state_mut().settings.link_window = true;
    h.state_mut().settings.link_zoom = true;
    h.state_mut().viewports[0].view.pan = [12.0, -3.0];
    h.step();
    let follower = &h.state().viewports[1].view;
    assert_eq!(follower.window, lung);
    // The same mm per point: 4 points per 1 mm pixel is 2 per 0.5 mm one.
    assert_eq!(follower.zoom, Some(2.0));
    assert_eq!(follower.pan, [12.0, -3.0]);
}
