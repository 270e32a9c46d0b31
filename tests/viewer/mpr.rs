//! The MPR layout on a generated CT (tests/volume/phantom.py: shuffled
//! files, scrambled Instance Numbers, signed pixels with an intercept,
//! anisotropic voxels): `M` opens axial, coronal and sagittal panes of the
//! active series; a click in the coronal pane moves the axial pane to the
//! clicked slice; the slab keys change the corner text and the pixels;
//! every pane's pixels equal `imaging::volume` (the CPU reference) for the
//! same plane, slab and window; a tilted series says why its reformats
//! are not shown.

use super::*;
use hilum::imaging::volume::display::render_plane;
use hilum::imaging::volume::{Plane, Slab, SlabMode, Volume};
use hilum::imaging::{LoadOptions, load_path};

fn phantom(dir: &Path, tilt: f64) {
    let spec = serde_json::json!({"rows": 40, "columns": 36, "slices": 20,
        "pixel_spacing": [0.8, 0.6], "slice_spacing": 2.0, "z0": -20.0, "window": [40, 400],
        "signed": true, "intercept": -1024.0, "seed": 11, "tilt_degrees": tilt});
    phantom_series(dir, spec);
}

/// The same volume, built by the test from the files.
fn reference_volume(dir: &Path) -> Volume {
    let images = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| Arc::new(load_path(&e.unwrap().path(), &LoadOptions::default()).unwrap()))
        .collect();
    Volume::build(images).unwrap()
}

fn open_series(dir: &Path) -> Harness<'static, Viewer> {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[dir.to_path_buf()]);
    step_until(&mut h, "the series", |v| {
        !v.loading() && v.library.images.len() == 20 && v.displayed(0).is_some()
    });
    h
}

fn corner(h: &Harness<'static, Viewer>, plane: &str) -> String {
    h.get_by_label(&format!("{plane} plane"))
        .value()
        .unwrap_or_default()
}

/// The pane's pixels against the reference for `plane` at its index.
fn assert_pane_is_reference(h: &Harness<'static, Viewer>, volume: &Volume, plane: Plane) {
    let mpr = h.state().mpr.as_ref().unwrap();
    let shown = mpr.shown(plane).expect("the pane is drawn");
    let cut = volume
        .plane(plane, mpr.index(plane), mpr.slab(plane))
        .unwrap();
    let reference = render_plane(volume, &cut, &mpr.window).unwrap();
    assert_eq!(shown.rendered, reference, "{} pane", plane.name());
}

#[test]
fn mpr_opens_and_a_click_in_the_coronal_pane_moves_the_axial_pane_to_that_slice() {
    let dir = tempfile::tempdir().unwrap();
    phantom(dir.path(), 0.0);
    let volume = reference_volume(dir.path());
    let mut h = open_series(dir.path());
    h.key_press(Key::M);
    h.step();
    for plane in ["Axial", "Coronal", "Sagittal"] {
        wait_for_label(&mut h, &format!("{plane} plane"));
    }
    for plane in Plane::ALL {
        assert_pane_is_reference(&h, &volume, plane);
    }
    // The file's window, in every pane.
    assert!(
        corner(&h, "Coronal").contains("W 400 L 40"),
        "{}",
        corner(&h, "Coronal")
    );

    // Click slice 3's row, column 10, in the coronal pane.
    let rect = h.state().mpr_rect.unwrap();
    let target = 3;
    let row = volume.row_of_slice(target);
    let at = h
        .state()
        .mpr
        .as_ref()
        .unwrap()
        .screen_point(Plane::Coronal, rect, 10, row)
        .unwrap();
    let before_axial = h.state().mpr.as_ref().unwrap().index(Plane::Axial);
    assert_ne!(before_axial, target);
    click(&mut h, at);
    h.step();
    let mpr = h.state().mpr.as_ref().unwrap();
    assert_eq!(mpr.index(Plane::Axial), target);
    assert_eq!(mpr.index(Plane::Sagittal), 10);
    assert!(
        corner(&h, "Axial").starts_with("Axial 4/20"),
        "{}",
        corner(&h, "Axial")
    );
    let position = volume.slices()[target].offset;
    assert!(corner(&h, "Axial").contains(&format!("Pos {position:.1} mm")));
    assert_pane_is_reference(&h, &volume, Plane::Axial);
    assert_pane_is_reference(&h, &volume, Plane::Sagittal);

    // Slab keys: 5 mm MIP (round(5 / 0.8) = 6 rows in the coronal pane).
    let thin = h
        .state()
        .mpr
        .as_ref()
        .unwrap()
        .shown(Plane::Coronal)
        .unwrap()
        .rendered
        .clone();
    assert!(corner(&h, "Coronal").contains("Thin"));
    h.key_press(Key::S);
    h.key_press(Key::S);
    h.step();
    let text = corner(&h, "Coronal");
    assert!(text.contains("MIP 5.0 mm (6 planes)"), "{text}");
    assert!(corner(&h, "Axial").contains("MIP 5.0 mm (3 planes)"));
    let mpr = h.state().mpr.as_ref().unwrap();
    assert_eq!(
        mpr.slab(Plane::Coronal),
        Some(Slab {
            planes: 6,
            mode: SlabMode::Mip
        })
    );
    let slab = &mpr.shown(Plane::Coronal).unwrap().rendered;
    assert_ne!(slab, &thin, "the slab changes the pixels");
    // A MIP is never darker than the plane at its centre.
    assert!(slab.pixels.iter().zip(&thin.pixels).all(|(s, t)| s >= t));
    for plane in Plane::ALL {
        assert_pane_is_reference(&h, &volume, plane);
    }
    h.key_press(Key::D);
    h.step();
    assert!(
        corner(&h, "Coronal").contains("MinIP 5.0 mm"),
        "{}",
        corner(&h, "Coronal")
    );
    assert_pane_is_reference(&h, &volume, Plane::Coronal);

    // The wheel scrolls the pane under the pointer; M returns to the grid.
    let sagittal = h.state().mpr.as_ref().unwrap().index(Plane::Sagittal);
    let over = h.get_by_label("Sagittal plane").rect().center();
    h.event(Event::PointerMoved(over));
    h.event(Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: Modifiers::NONE,
    });
    h.step();
    assert_eq!(
        h.state().mpr.as_ref().unwrap().index(Plane::Sagittal),
        sagittal + 1
    );
    h.key_press(Key::M);
    h.step();
    assert!(h.state().mpr.is_none());
    wait_for_label(&mut h, "Viewport 1");
}

#[test]
fn a_tilted_series_shows_its_slices_and_says_why_there_are_no_reformats() {
    let dir = tempfile::tempdir().unwrap();
    phantom(dir.path(), 20.0);
    let mut h = open_series(dir.path());
    h.key_press(Key::M);
    h.step();
    wait_for_label(&mut h, "Axial plane");
    let mpr = h.state().mpr.as_ref().unwrap();
    assert!(mpr.shown(Plane::Axial).is_some());
    for plane in [Plane::Coronal, Plane::Sagittal] {
        let reason = mpr.pane_error(plane).expect("refused");
        assert!(
            reason.contains("gantry tilt") && reason.contains("20.00°"),
            "{reason}"
        );
    }
    assert!(
        h.state()
            .mpr_message
            .as_deref()
            .is_some_and(|m| m.contains("gantry tilt")),
        "{:?}",
        h.state().mpr_message
    );
}
