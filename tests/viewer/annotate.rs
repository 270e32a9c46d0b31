//! The measurement and annotation tools.

use super::*;

#[test]
fn a_length_measurement_survives_zoom_undo_and_a_restart_and_is_exported() {
    let data = tempfile::tempdir().unwrap();
    let store = SidecarStore::at(data.path().join("annotations"));
    let source = asset("assets/CT_small.dcm");
    let source_bytes = std::fs::read(&source).unwrap();
    let mut h = harness(viewer_without_ai().with_annotation_store(store.clone()));
    drop_files(&mut h, std::slice::from_ref(&source));
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());

    // L picks the length tool; a drag draws one in image coordinates.
    h.key_press(Key::L);
    h.step();
    assert_eq!(h.state().annotator.tool, Tool::Length);
    let c = viewport_center(&h);
    primary_drag(
        &mut h,
        c - egui::vec2(80.0, 20.0),
        c + egui::vec2(80.0, 20.0),
    );
    let set = h.state().annotator.of(0).unwrap().set().clone();
    assert_eq!(set.annotations.len(), 1, "{set:?}");
    let Shape::Length { start, end } = set.annotations[0].shape else {
        panic!("not a length: {set:?}")
    };
    let image = Arc::clone(&h.state().library.images[0].image);
    let expected = length(&Calibration::of(&image.metadata), start, end);
    assert_eq!(expected.unit, "mm", "CT_small has Pixel Spacing");
    let text = format!("Length #1: {:.1} mm", expected.value);
    h.get_by_label(&text);
    // The drawn line sits on the stored points.
    let screen = h.render().unwrap();
    let t = transform(&h);
    let mid = |t: &ViewTransform| {
        t.to_screen(
            ((start.x + end.x) / 2.0) as f32,
            ((start.y + end.y) / 2.0) as f32,
        )
    };
    assert!(cyan_near(&screen, mid(&t)), "the line is not drawn");

    // Zoom in twice: the stored points do not move, the measurement is the
    // same, and the line is drawn where the transform puts those points.
    h.key_press(Key::Plus);
    h.step();
    h.key_press(Key::Plus);
    h.step();
    h.step();
    let zoomed = transform(&h);
    assert!(
        zoomed.scale > t.scale * 1.5,
        "{} vs {}",
        zoomed.scale,
        t.scale
    );
    assert_eq!(*h.state().annotator.of(0).unwrap().set(), set);
    h.get_by_label(&text);
    let screen = h.render().unwrap();
    assert!(
        cyan_near(&screen, mid(&zoomed)),
        "the line moved off its points"
    );

    // Delete, undo, redo.
    h.key_press(Key::Delete);
    h.step();
    assert!(h.state().annotator.of(0).unwrap().set().is_empty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.step();
    assert_eq!(*h.state().annotator.of(0).unwrap().set(), set);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.step();
    assert!(
        h.state()
            .annotator
            .of(0)
            .unwrap()
            .set()
            .annotations
            .is_empty()
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.step();
    assert_eq!(*h.state().annotator.of(0).unwrap().set(), set);

    // Saved to the sidecar (by the background saver), never to the source.
    let start_wait = Instant::now();
    let saved = loop {
        h.step();
        if let Ok(Some(saved)) = store.load_for(&image)
            && saved == set
        {
            break saved;
        }
        assert!(start_wait.elapsed() < Duration::from_secs(30), "not saved");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(std::fs::read(&source).unwrap(), source_bytes);

    // A new viewer on the same data folder shows it again.
    let mut again = harness(viewer_without_ai().with_annotation_store(store));
    drop_files(&mut again, std::slice::from_ref(&source));
    step_until(&mut again, "the CT again", |v| {
        v.displayed(0).is_some() && v.annotator.of(0).is_some()
    });
    assert_eq!(*again.state().annotator.of(0).unwrap().set(), saved);
    again.get_by_label(&text);

    // Ctrl+E opens the export dialog; the PDF and key image carry the
    // measurement and the impression.
    let out = tempfile::tempdir().unwrap();
    again.key_press_modifiers(Modifiers::COMMAND, Key::E);
    again.step();
    again.get_by_label("PDF report");
    // The suggested file name follows the source, except de-identified.
    assert_eq!(again.state().export.base_name, "CT_small-report");
    again.state_mut().export.deidentify = true;
    again.step();
    assert_eq!(again.state().export.base_name, "deidentified-report");
    again.state_mut().export.deidentify = false;
    {
        let dialog = &mut again.state_mut().export;
        dialog.folder = out.path().display().to_string();
        dialog.base_name = "reading".into();
        dialog.impression = "No focal consolidation.".into();
        dialog.reader = "Dr Test".into();
    }
    again.step();
    again.get_by_label("Export now").click();
    step_until(&mut again, "the export", |v| v.export.outcome.is_some());
    let outcome = again.state().export.outcome.clone().unwrap();
    let exported = outcome.expect("export failed");
    assert_eq!(
        exported.files,
        vec![
            out.path().join("reading.png"),
            out.path().join("reading.pdf")
        ]
    );
    again.get_by_label("Exported 2 files:");
    let mut pdftotext = common::tool("pdftotext", "poppler-utils");
    pdftotext.args([
        "-layout",
        out.path().join("reading.pdf").to_str().unwrap(),
        "-",
    ]);
    let (ok, pdf, err) = common::run_tool(pdftotext);
    assert!(ok, "{err}");
    assert!(pdf.contains("No focal consolidation."), "{pdf}");
    assert!(pdf.contains("Dr Test"), "{pdf}");
    assert!(pdf.contains(&format!("{:.1} mm", expected.value)), "{pdf}");
    let key = image::open(out.path().join("reading.png")).unwrap();
    assert!(key.width() >= 128);

    // De-identified, the same export names no patient; an existing file is
    // not replaced without the switch.
    again.state_mut().export.deidentify = true;
    again.step();
    again.get_by_label("Export now").click();
    step_until(&mut again, "the refused export", |v| {
        v.export.outcome.as_ref().is_some_and(|o| o.is_err())
    });
    again.get_by_label_contains("Export failed: ");
    again.state_mut().export.overwrite = true;
    again.step();
    again.get_by_label("Export now").click();
    step_until(&mut again, "the de-identified export", |v| {
        v.export.outcome.as_ref().is_some_and(|o| o.is_ok())
    });
    let mut pdftotext = common::tool("pdftotext", "poppler-utils");
    pdftotext.args([
        "-layout",
        out.path().join("reading.pdf").to_str().unwrap(),
        "-",
    ]);
    let (_, pdf, _) = common::run_tool(pdftotext);
    let name = image.metadata.patient_name.clone().unwrap();
    let family = name.split('^').next().unwrap();
    assert!(!family.is_empty() && !pdf.contains(family), "{pdf}");
}

#[test]
fn roi_angle_and_text_tools_measure_in_modality_units() {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());
    let c = viewport_center(&h);
    // Ellipse ROI: mean/SD/min/max in HU and an area in mm².
    h.key_press(Key::O);
    h.step();
    primary_drag(
        &mut h,
        c - egui::vec2(60.0, 40.0),
        c + egui::vec2(60.0, 40.0),
    );
    wait_for_label(&mut h, "Ellipse ROI #1: mean ");
    let roi = h.get_by_label_contains("Ellipse ROI #1: mean ");
    let text = format!("{roi:?}");
    assert!(text.contains(" HU") && text.contains("mm²"), "{text}");
    // Rectangle ROI.
    h.key_press(Key::B);
    h.step();
    primary_drag(
        &mut h,
        c - egui::vec2(30.0, 30.0),
        c + egui::vec2(10.0, 50.0),
    );
    wait_for_label(&mut h, "Rectangle ROI #2: mean ");
    // Angle: the first arm by a drag, the second end by a click; a right
    // angle here.
    h.key_press(Key::G);
    h.step();
    primary_drag(&mut h, c + egui::vec2(100.0, 0.0), c);
    h.event(Event::PointerMoved(c + egui::vec2(0.0, -100.0)));
    h.step();
    click(&mut h, c + egui::vec2(0.0, -100.0));
    h.get_by_label_contains("Angle #3: 90.0°");
    // Text: a click, then the note is typed.
    h.key_press(Key::N);
    h.step();
    click(&mut h, c + egui::vec2(-100.0, 60.0));
    h.get_by_label("Annotation text");
    if let Some((_, _, hilum::app::annotate::Draft::Text { text, .. })) =
        h.state_mut().annotator.draft.as_mut()
    {
        *text = "nodule?".into();
    }
    h.step();
    h.get_by_label("Add note").click();
    h.step();
    h.step();
    h.get_by_label("Text #4: nodule?");
    // Esc returns to select / pan, and a click picks the angle's vertex.
    h.key_press(Key::Escape);
    h.step();
    assert_eq!(h.state().annotator.tool, Tool::Navigate);
    click(&mut h, c);
    assert_eq!(
        h.state().annotator.selected.map(|(_, id)| id.0),
        Some(3),
        "the angle was not picked: {:?}",
        h.state().annotator.of(0).unwrap().set()
    );
    // Dragging the selected angle's vertex handle edits it (undoable).
    primary_drag(&mut h, c, c + egui::vec2(0.0, 100.0));
    let label = h.get_by_label_contains("Angle #3: ");
    assert!(!format!("{label:?}").contains("90.0°"), "{label:?}");
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.step();
    h.step();
    h.get_by_label_contains("Angle #3: 90.0°");
}

#[test]
fn a_handle_drags_in_one_of_two_viewports_showing_the_same_image() {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num2);
    h.step();
    let series = h.state().viewports[0].series.clone();
    h.state_mut().viewports[1].series = series;
    h.step();
    h.step();
    let c = viewport_center(&h);
    h.key_press(Key::L);
    h.step();
    primary_drag(&mut h, c - egui::vec2(40.0, 0.0), c + egui::vec2(40.0, 0.0));
    h.key_press(Key::Escape);
    h.step();
    let t = transform(&h);
    let Shape::Length { end, .. } = h.state().annotator.of(0).unwrap().set().annotations[0].shape
    else {
        panic!("no length")
    };
    let [ex, ey] = t.to_screen(end.x as f32, end.y as f32);
    let handle = Pos2::new(ex, ey);
    primary_drag(&mut h, handle, handle + egui::vec2(0.0, 40.0));
    let v = h.state();
    assert_eq!(
        v.viewports[0].view.pan,
        [0.0, 0.0],
        "the drag panned instead"
    );
    let Shape::Length { end: moved, .. } = v.annotator.of(0).unwrap().set().annotations[0].shape
    else {
        panic!("no length")
    };
    let expected = end.y + 40.0 / t.scale as f64;
    assert!(
        (moved.y - expected).abs() < 0.5 && (moved.x - end.x).abs() < 0.5,
        "{moved:?} vs {end:?} + 40 points down"
    );
}

#[test]
fn roi_statistics_and_the_auto_window_arrive_from_the_background_thread() {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());
    let image = Arc::clone(&h.state().library.images[0].image);
    let c = viewport_center(&h);
    // Held: the frames that ask for the work cannot have its result.
    h.state().jobs.pause(true);
    h.key_press(Key::O);
    h.step();
    primary_drag(
        &mut h,
        c - egui::vec2(60.0, 40.0),
        c + egui::vec2(60.0, 40.0),
    );
    h.key_press(Key::W);
    for _ in 0..5 {
        h.step();
    }
    h.get_by_label("Ellipse ROI #1: measuring…");
    assert!(h.state().annotator.measuring());
    assert!(h.state().auto_windowing());
    assert_eq!(
        h.state().viewports[0].view.window,
        WindowChoice::FileDefault,
        "the auto-window was applied before it was computed"
    );
    h.state().jobs.pause(false);
    step_until(&mut h, "the ROI statistics and the auto-window", |v| {
        !v.annotator.measuring() && !v.auto_windowing()
    });
    h.step();
    // The measurement module's own numbers, and the pipeline's 1st–99th
    // percentile window.
    let annotation = h.state().annotator.of(0).unwrap().set().annotations[0].clone();
    let expected = measure(&image, &annotation)
        .unwrap()
        .describe(&Calibration::of(&image.metadata))
        .unwrap();
    assert!(expected.contains(" HU"), "{expected}");
    h.get_by_label(&format!("Ellipse ROI #1: {expected}"));
    let auto = current_window(&image, 0, &WindowChoice::Percentile(1.0, 99.0)).unwrap();
    assert_eq!(
        h.state().viewports[0].view.window,
        WindowChoice::Explicit(auto)
    );
    // Moving the ROI shows the old value as updating until the new one is in.
    h.state().jobs.pause(true);
    h.key_press(Key::Escape);
    h.step();
    // Picked by its outline, then moved by its centre handle.
    click(&mut h, c + egui::vec2(0.0, -40.0));
    assert!(
        h.state().annotator.selected.is_some(),
        "the ROI was not picked"
    );
    primary_drag(&mut h, c, c + egui::vec2(0.0, 20.0));
    h.get_by_label(&format!("Ellipse ROI #1: {expected} (updating…)"));
    h.state().jobs.pause(false);
    let start = Instant::now();
    while h.query_by_label_contains("(updating…)").is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the moved ROI was never measured"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let annotation = h.state().annotator.of(0).unwrap().set().annotations[0].clone();
    let moved = measure(&image, &annotation)
        .unwrap()
        .describe(&Calibration::of(&image.metadata))
        .unwrap();
    assert_ne!(moved, expected, "the ROI did not move");
    h.get_by_label(&format!("Ellipse ROI #1: {moved}"));
}
