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

/// An untilted phantom in `dir`, its reference volume, and the viewer with
/// the MPR layout open on it.
fn open_mpr(dir: &Path) -> (Volume, Harness<'static, Viewer>) {
    phantom(dir, 0.0);
    let volume = reference_volume(dir);
    let mut h = open_series(dir);
    h.key_press(Key::M);
    h.step();
    for plane in ["Axial", "Coronal", "Sagittal"] {
        wait_for_label(&mut h, &format!("{plane} plane"));
    }
    (volume, h)
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
    let (volume, mut h) = open_mpr(dir.path());
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

#[test]
fn a_length_drawn_on_the_coronal_plane_is_in_mm_and_stays_with_the_anatomy_when_reslicing_or_zooming()
 {
    let dir = tempfile::tempdir().unwrap();
    let (volume, mut h) = open_mpr(dir.path());
    // The length tool; a drag in the coronal pane from column 2 of slice
    // row 3 to column 12 of row 9: 10 columns of 0.6 mm across, 6 slices of
    // 2 mm down.
    h.key_press(Key::L);
    h.step();
    let rect = h.state().mpr_rect.unwrap();
    let point = |h: &Harness<'static, Viewer>, x, y| {
        h.state()
            .mpr
            .as_ref()
            .unwrap()
            .screen_point(Plane::Coronal, rect, x, y)
            .unwrap()
    };
    let crosshair = h.state().mpr.as_ref().unwrap().cursor;
    let (from, to) = (point(&h, 2, 3), point(&h, 12, 9));
    primary_drag(&mut h, from, to);
    h.step();
    let mpr = h.state().mpr.as_ref().unwrap();
    assert_eq!(
        mpr.cursor, crosshair,
        "measuring does not move the crosshair"
    );
    assert_eq!(mpr.measurements.len(), 1);
    let want = (6.0f64 * 6.0 + 12.0 * 12.0).sqrt();
    let [a, b] = mpr.measurements[0];
    // The ends went through screen points (f32): to a hundredth of a mm.
    let got = hilum::imaging::series::distance(a, b);
    assert!((got - want).abs() < 0.01, "{got} mm, want {want}");
    // Stored in the patient: its ends are those voxels' centres.
    let row = mpr.index(Plane::Coronal);
    let top = volume.patient_point(Plane::Coronal, row, 2.5, 3.5);
    assert!(
        (0..3).all(|i| (a[i] - top[i]).abs() < 1e-6),
        "{a:?} vs {top:?}"
    );
    let label = format!("Length {want:.1} mm");
    assert!(
        corner(&h, "Coronal").contains(&label),
        "{}",
        corner(&h, "Coronal")
    );
    assert!(
        !corner(&h, "Axial").contains("Length"),
        "not in one axial slice"
    );

    // One row further it is off the plane; a 2 mm slab takes it in again.
    assert_eq!(h.state().mpr.as_ref().unwrap().active, Plane::Coronal);
    h.key_press(Key::ArrowDown);
    h.step();
    assert!(!corner(&h, "Coronal").contains("Length"));
    h.key_press(Key::S);
    h.step();
    assert!(corner(&h, "Coronal").contains(&label));
    h.key_press_modifiers(Modifiers::SHIFT, Key::S);
    h.key_press(Key::ArrowUp);
    h.step();

    // Zoomed in, a click still lands on the voxel under it, and the
    // length is still there.
    h.key_press(Key::V);
    h.key_press(Key::Plus);
    h.step();
    assert_eq!(h.state().mpr.as_ref().unwrap().zoom[1], 1.25);
    let target = volume.row_of_slice(5);
    let at = point(&h, 7, target);
    click(&mut h, at);
    h.step();
    let mpr = h.state().mpr.as_ref().unwrap();
    assert_eq!(
        (mpr.index(Plane::Axial), mpr.index(Plane::Sagittal)),
        (5, 7)
    );
    assert!(corner(&h, "Coronal").contains(&label));
    // Delete removes it.
    h.key_press(Key::Delete);
    h.step();
    assert!(h.state().mpr.as_ref().unwrap().measurements.is_empty());
}

#[test]
fn rotating_the_crosshair_shows_oblique_planes_of_nearest_voxels_slice_by_slice() {
    let dir = tempfile::tempdir().unwrap();
    let (volume, mut h) = open_mpr(dir.path());
    let [_, row, column] = h.state().mpr.as_ref().unwrap().cursor;
    for _ in 0..9 {
        h.key_press(Key::CloseBracket);
    }
    h.step();
    let text = corner(&h, "Coronal");
    assert!(text.starts_with("Oblique +45° (from coronal)"), "{text}");
    assert!(corner(&h, "Sagittal").starts_with("Oblique +45° (from sagittal)"));
    // Each row is one slice (most superior first); each value the voxel of
    // that slice nearest the 45° line through the crosshair.
    let mpr = h.state().mpr.as_ref().unwrap();
    let line = mpr.oblique_line(Plane::Coronal).unwrap();
    let shown = &mpr.shown(Plane::Coronal).unwrap().plane;
    assert_eq!(
        (shown.width as usize, shown.height as usize),
        (line.count, 20)
    );
    assert!(line.count > 1);
    for j in [0usize, 7, 19] {
        let slice = &volume.slices()[volume.slice_at_row(j)];
        let image = &volume.images()[slice.image];
        let frame = image.frame(slice.frame).unwrap();
        for k in 0..line.count {
            let (c, r) = line.voxel(k);
            let stored = frame.samples.get(r * 36 + c).unwrap();
            let want = image.modality_lut(slice.frame).apply(stored);
            assert_eq!(
                shown.values[j * line.count + k],
                want,
                "row {j}, sample {k}"
            );
        }
    }
    // The line passes through the crosshair voxel.
    assert!((0..line.count).any(|k| line.voxel(k) == (column, row)));

    // At 180° the coronal pane is the stored coronal plane, mirrored.
    for _ in 0..27 {
        h.key_press(Key::CloseBracket);
    }
    h.step();
    let mpr = h.state().mpr.as_ref().unwrap();
    assert_eq!(mpr.rotation_degrees, 180.0);
    let shown = &mpr.shown(Plane::Coronal).unwrap().plane;
    let stored = volume.plane(Plane::Coronal, row, None).unwrap();
    assert_eq!(shown.width, stored.width);
    for j in 0..stored.height as usize {
        let w = stored.width as usize;
        let mirrored: Vec<f64> = stored.values[j * w..(j + 1) * w]
            .iter()
            .rev()
            .copied()
            .collect();
        assert_eq!(
            &shown.values[j * w..(j + 1) * w],
            mirrored.as_slice(),
            "row {j}"
        );
    }
    // Backspace puts the crosshair straight again.
    h.key_press(Key::Backspace);
    h.step();
    assert!(corner(&h, "Coronal").starts_with(&format!("Coronal {}/40", row + 1)));
}
