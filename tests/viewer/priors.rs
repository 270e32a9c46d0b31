//! Priors side by side: `K` puts the patient's prior study beside the
//! current one as its most similar series; in the same Frame of Reference
//! it lands on the same position and scrolls with the current study; in
//! another one the reader puts both on the same anatomy once, `Shift+L`
//! links them, and from then on they scroll together with that offset.

use super::*;

const PRIOR_CURRENT: &str = "1.2.826.0.1.3680043.9.7433.8.30";
const PRIOR_EARLIER: &str = "1.2.826.0.1.3680043.9.7433.8.31";

/// A current study (20 slices, 2 mm, from z = -20) and a prior one (15
/// slices, 3 mm, from `prior_z0`) of one patient, in one Frame of Reference
/// or two; the prior also has a short series of another modality
/// description that must not be picked.
fn studies(dir: &Path, same_frame: bool, prior_z0: f64) -> Harness<'static, Viewer> {
    let frame = |k: u32| format!("1.2.826.0.1.3680043.9.7433.8.{}", 40 + k);
    let spec = |study: &str,
                date: &str,
                frame: String,
                slices: usize,
                spacing: f64,
                z0: f64,
                series: u32| {
        serde_json::json!({"rows": 16, "columns": 16, "slices": slices,
            "pixel_spacing": [0.8, 0.8], "slice_spacing": spacing, "z0": z0, "window": [40, 400],
            "study_uid": study, "study_date": date, "frame_of_reference_uid": frame,
            "series_uid": format!("1.2.826.0.1.3680043.9.7433.8.5{series}"), "seed": series})
    };
    phantom_series(
        &dir.join("current"),
        spec(PRIOR_CURRENT, "20260110", frame(0), 20, 2.0, -20.0, 1),
    );
    let prior_frame = frame(if same_frame { 0 } else { 1 });
    phantom_series(
        &dir.join("prior"),
        spec(
            PRIOR_EARLIER,
            "20250105",
            prior_frame.clone(),
            15,
            3.0,
            prior_z0,
            2,
        ),
    );
    // A three-slice series of the prior (a scout-like reconstruction): the
    // 15-slice one is more like the current series.
    phantom_series(
        &dir.join("prior-short"),
        spec(PRIOR_EARLIER, "20250105", prior_frame, 3, 10.0, prior_z0, 3),
    );
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[dir.to_path_buf()]);
    step_until(&mut h, "three series", |v| {
        !v.loading() && v.library.series.len() == 3
    });
    let current = h
        .state()
        .library
        .series
        .iter()
        .find(|s| s.study_uid == PRIOR_CURRENT)
        .unwrap()
        .key
        .clone();
    let v = h.state_mut();
    v.settings.layout = hilum::app::settings::Layout::Single;
    v.viewports[0].series = Some(current);
    v.viewports[0].position = 6;
    v.active = 0;
    h.step();
    h
}

fn study_in(h: &Harness<'static, Viewer>, v: usize) -> (String, usize) {
    let key = h.state().viewports[v].series.clone().unwrap();
    let series = h.state().library.series_by_key(&key).unwrap();
    (series.study_uid.clone(), series.stack.len())
}

#[test]
fn a_prior_of_the_same_frame_of_reference_opens_beside_at_the_same_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = studies(dir.path(), true, -10.0);
    h.key_press(Key::K);
    h.step();
    assert_eq!(
        h.state().settings.layout,
        hilum::app::settings::Layout::SideBySide
    );
    assert_eq!(study_in(&h, 1), (PRIOR_EARLIER.to_string(), 15));
    let message = h.state().links.message.clone().unwrap_or_default();
    assert!(message.contains("same position"), "{message}");
    assert!((z_of(&h, 1) - z_of(&h, 0)).abs() <= 1.5 + 1e-6);
    // And it scrolls with the current study.
    for _ in 0..4 {
        h.key_press(Key::ArrowDown);
    }
    h.step();
    assert!(
        (z_of(&h, 1) - z_of(&h, 0)).abs() <= 1.5 + 1e-6,
        "current at z {}, prior at z {}",
        z_of(&h, 0),
        z_of(&h, 1)
    );
}

#[test]
fn a_prior_of_another_frame_of_reference_scrolls_with_the_offset_the_reader_sets() {
    let dir = tempfile::tempdir().unwrap();
    // The prior's scanner put the same anatomy 37 mm higher.
    let mut h = studies(dir.path(), false, 17.0);
    h.key_press(Key::K);
    h.step();
    assert_eq!(study_in(&h, 1), (PRIOR_EARLIER.to_string(), 15));
    let message = h.state().links.message.clone().unwrap_or_default();
    assert!(
        message.contains("another Frame of Reference") && message.contains("Shift+L"),
        "{message}"
    );
    // Not linked yet: the prior stays where it is.
    let before = h.state().viewports[1].position;
    h.key_press(Key::ArrowDown);
    h.step();
    assert_eq!(h.state().viewports[1].position, before);

    // The reader scrolls the prior to the same anatomy and links.
    let target = z_of(&h, 0) + 37.0;
    let stack_len = h.state().stack(1).len();
    let nearest = (0..stack_len)
        .min_by(|&a, &b| {
            h.state_mut().viewports[1].position = a;
            let za = z_of(&h, 1);
            h.state_mut().viewports[1].position = b;
            let zb = z_of(&h, 1);
            (za - target).abs().total_cmp(&(zb - target).abs())
        })
        .unwrap();
    h.state_mut().viewports[1].position = nearest;
    let offset = z_of(&h, 1) - z_of(&h, 0);
    h.key_press_modifiers(Modifiers::SHIFT, Key::L);
    h.step();
    let message = h.state().links.message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!("viewport 2 at {offset:+.1} mm")),
        "{message}"
    );
    for steps in [3, 5, 2] {
        for _ in 0..steps {
            h.key_press(Key::ArrowDown);
        }
        h.step();
        let (current, prior) = (z_of(&h, 0), z_of(&h, 1));
        assert!(
            (prior - (current + offset)).abs() <= 1.5 + 1e-6,
            "current at z {current}, prior at z {prior}, offset {offset}"
        );
    }
    // Either leads.
    h.state_mut().active = 1;
    h.key_press(Key::ArrowUp);
    h.step();
    assert!((z_of(&h, 0) - (z_of(&h, 1) - offset)).abs() <= 1.0 + 1e-6);
}
