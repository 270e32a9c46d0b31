//! Results from other systems over their images: a Parametric Map,
//! a Segmentation and a TID 1500 SR made by highdicom and a presentation
//! state made by pydicom over the corpus CT (by
//! `tests/foreign_objects/generate.py`), and the corpus's dcmqi SEG whose
//! CT slices are not loaded.

use super::*;

use hilum::annotations::foreign::ForeignObject;
use hilum::imaging::voi::Window;

/// The objects, generated into a temporary folder kept for the test.
fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = asset("tests/foreign_objects/generate.py");
    let out = common::python(
        &std::fs::read_to_string(script).unwrap(),
        &[
            common::corpus_dir().to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.contains("ok"), "generator output: {out}");
    dir
}

// The panel's widgets are clicked through AccessKit (as assistive
// technology would): a pointer click needs the widget on screen, and the
// panel scrolls.

/// The screen point at the centre of image pixel (`x`, `y`).
fn pixel_center(h: &Harness<'static, Viewer>, x: usize, y: usize) -> Pos2 {
    let [sx, sy] = transform(h).to_screen(x as f32 + 0.5, y as f32 + 0.5);
    Pos2::new(sx, sy)
}

/// The status bar's readout with the pointer over image pixel (`x`, `y`).
fn readout_at(h: &mut Harness<'static, Viewer>, x: usize, y: usize) -> String {
    let at = pixel_center(h, x, y);
    h.event(Event::PointerMoved(at));
    h.step();
    h.step();
    let prefix = format!("x {x}, y {y}:");
    let label = h.get_by_label_contains(&prefix);
    format!("{label:?}")
}

fn screen_pixel(screen: &image::RgbaImage, at: Pos2) -> [i32; 3] {
    let p = screen.get_pixel(at.x.round() as u32, at.y.round() as u32);
    [p[0] as i32, p[1] as i32, p[2] as i32]
}

#[test]
fn maps_segments_reports_and_presentation_states_from_other_systems_show_over_their_image() {
    let dir = generated();
    let corpus = common::corpus_dir();
    let mut h = harness(viewer_without_ai());
    drop_files(
        &mut h,
        &[
            corpus.join("CT_small.dcm"),
            dir.path().join("pm_float.dcm"),
            dir.path().join("seg_binary.dcm"),
            dir.path().join("sr_tid1500.dcm"),
            dir.path().join("gsps_full.dcm"),
            corpus.join("liver_1frame.dcm"),
        ],
    );
    step_until(&mut h, "the CT and five objects", |v| {
        !v.loading() && v.library.images.len() == 1 && v.foreign.objects().len() == 5
    });
    // The objects are results over the CT, not series of their own.
    assert_eq!(h.state().library.series.len(), 1);
    assert!(
        h.state().library.errors.is_empty(),
        "{:?}",
        h.state().library.errors
    );
    wait_for_label(&mut h, "Results from other systems (5)");

    // The map's values under the pointer are the file's: highdicom stored
    // the ramp 0.5 row + 0.25 column with the mapping 2 s - 1 (HU).
    let map = h
        .state()
        .foreign
        .objects()
        .iter()
        .find_map(|o| match o {
            ForeignObject::ParametricMap(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    for (x, y) in [(40usize, 30usize), (127, 127), (5, 100)] {
        let expected = y as f64 + 0.5 * x as f64 - 1.0;
        assert_eq!(map.value_at(0, x, y), Some(expected));
        let text = readout_at(&mut h, x, y);
        let shown = hilum::app::foreign::format_value(expected);
        assert!(
            text.contains(&format!("RAMP {shown} HU")),
            "{text:?} at ({x}, {y})"
        );
    }
    // Drawn in its colormap: the highest value (bottom right) is Turbo's
    // red end, the lowest (top left) its blue end; hiding the map leaves
    // the CT's gray.
    let high = pixel_center(&h, 126, 126);
    let low = pixel_center(&h, 1, 1);
    let shown = h.render().unwrap();
    let [r, _, b] = screen_pixel(&shown, high);
    assert!(
        r - b > 40,
        "bottom right is not red: {:?}",
        screen_pixel(&shown, high)
    );
    let [r, _, b] = screen_pixel(&shown, low);
    assert!(
        b > r,
        "top left is not blue: {:?}",
        screen_pixel(&shown, low)
    );
    h.get_by_label("Parametric Map: RAMP_MAP").click_accesskit();
    h.step();
    h.step();
    let hidden = h.render().unwrap();
    let [r, g, b] = screen_pixel(&hidden, high);
    assert!(
        (r - b).abs() <= 2 && (r - g).abs() <= 2,
        "still coloured: {r} {g} {b}"
    );
    assert!(!readout_at(&mut h, 40, 30).contains("RAMP"));

    // Segments are coloured overlays named in the readout, each toggleable.
    assert!(readout_at(&mut h, 80, 64).contains("segment: Disk lesion"));
    assert!(readout_at(&mut h, 30, 20).contains("segment: Rectangle lesion"));
    let disk = pixel_center(&h, 80, 64);
    let with_disk = h.render().unwrap();
    h.get_by_label("Disk lesion").click_accesskit();
    h.step();
    h.step();
    assert!(!readout_at(&mut h, 80, 64).contains("Disk lesion"));
    assert!(readout_at(&mut h, 30, 20).contains("Rectangle lesion"));
    let without_disk = h.render().unwrap();
    assert_ne!(
        screen_pixel(&with_disk, disk),
        screen_pixel(&without_disk, disk),
        "hiding the segment changed nothing"
    );

    // The SR's findings and measurement are listed.
    h.get_by_label_contains("Margin — Spiculated");
    h.get_by_label_contains("Area = 123.5 mm2");
    // The dcmqi SEG's slices are not loaded: listed, with their UIDs.
    h.get_by_label("Segmentation: TWO_SEGMENTS");
    h.get_by_label_contains("Refers to 3 images not loaded");
    h.get_by_label("1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1");

    // The presentation state's window and displayed area apply.
    h.get_by_label("Apply window").click_accesskit();
    h.step();
    h.step();
    assert_eq!(
        h.state().viewports[0].view.window,
        WindowChoice::Explicit(Window::linear(40.0, 400.0))
    );
    h.get_by_label("Apply area").click_accesskit();
    h.step();
    h.step();
    let t = transform(&h);
    let center = h.get_by_label("Viewport 1").rect().center();
    // Displayed area (1, 1) to (100, 120): pixel corners 0..100, 0..120.
    let [cx, cy] = t.to_screen(50.0, 60.0);
    assert!((cx - center.x).abs() < 0.5 && (cy - center.y).abs() < 0.5);
    let rect = h.get_by_label("Viewport 1").rect();
    assert!((t.scale - (rect.width() / 100.0).min(rect.height() / 120.0)).abs() < 1e-3);
}

#[test]
fn an_object_on_another_grid_or_unreadable_is_listed_with_why() {
    let dir = generated();
    let mut h = harness(viewer_without_ai());
    drop_files(
        &mut h,
        &[
            common::corpus_dir().join("MR_small.dcm"),
            dir.path().join("seg_odd.dcm"),
            dir.path().join("seg_rle.dcm"),
        ],
    );
    step_until(&mut h, "the MR and the objects", |v| {
        !v.loading() && v.library.images.len() == 1
    });
    assert_eq!(h.state().foreign.objects().len(), 1);
    // A 5 x 3 segmentation over the 64 x 64 MR is not stretched over it.
    h.get_by_label_contains("On this image, but its grid (5 × 3) is not the image's; not drawn");
    h.get_by_label("1.2.3.999.1");
    // The RLE segmentation is listed with the file and the reason, not
    // opened as an image.
    let unreadable = h.get_by_label_contains("Could not read");
    let text = format!("{unreadable:?}");
    assert!(text.contains("seg_rle.dcm"), "{text}");
    assert!(h.state().library.errors.is_empty());
    assert_eq!(h.state().library.series.len(), 1);
}
