//! Opening files and the pixels the viewer shows.

use super::*;

#[test]
fn a_dropped_file_opens_and_shows_exactly_what_render_produces() {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT to be displayed", |v| {
        v.displayed(0).is_some()
    });
    let v = h.state();
    let image = Arc::clone(&v.library.images[0].image);
    let shown = v.displayed(0).unwrap();
    let expected = render_frame(&image, 0, &WindowChoice::FileDefault).unwrap();
    assert_eq!(
        shown.rendered, expected,
        "viewer pixels differ from hilum render"
    );
    // The image is on screen: the viewport centre is not one flat colour.
    let screen = h.render().expect("headless rendering");
    let c = viewport_center(&h);
    let values: Vec<u8> = (0..40)
        .map(|i| screen.get_pixel(c.x as u32 + i * 2, c.y as u32)[0])
        .collect();
    assert!(
        values.iter().any(|&x| x != values[0]),
        "viewport looks blank: {values:?}"
    );
    // The status bar counts it.
    h.get_by_label("1 images");
}

#[test]
fn a_right_drag_changes_the_window_and_the_rendered_pixels() {
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT to be displayed", |v| {
        v.displayed(0).is_some()
    });
    let before = h.render().unwrap();
    let c = viewport_center(&h);
    h.event(Event::PointerMoved(c));
    h.event(Event::PointerButton {
        pos: c,
        button: PointerButton::Secondary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    for i in 1..=10 {
        h.event(Event::PointerMoved(
            c + egui::vec2(i as f32 * 20.0, i as f32 * 10.0),
        ));
    }
    h.event(Event::PointerButton {
        pos: c + egui::vec2(200.0, 100.0),
        button: PointerButton::Secondary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    h.step();
    let window = h.state().viewports[0].view.window.clone();
    let WindowChoice::Explicit(w) = window else {
        panic!("the drag did not set a window: {window:?}")
    };
    let image = Arc::clone(&h.state().library.images[0].image);
    let original =
        hilum::app::viewport::current_window(&image, 0, &WindowChoice::FileDefault).unwrap();
    assert!(
        w.width > original.width && w.center > original.center,
        "{w:?} vs {original:?}"
    );
    // The texture is the pipeline's rendering for the new window.
    let expected = render_frame(&image, 0, &WindowChoice::Explicit(w)).unwrap();
    assert_eq!(h.state().displayed(0).unwrap().rendered, expected);
    let after = h.render().unwrap();
    let diff = crop_mean_difference(&before, &after, c);
    assert!(
        diff > 1.0,
        "the picture did not change (mean difference {diff})"
    );
}

#[test]
fn the_keyboard_steps_through_a_ct_series_in_slice_order() {
    let dir = tempfile::tempdir().unwrap();
    generate::write_series(dir.path(), 6);
    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, &[dir.path().to_path_buf()]);
    step_until(&mut h, "six slices", |v| {
        v.library.series.first().is_some_and(|s| s.stack.len() == 6) && v.displayed(0).is_some()
    });
    let z = |v: &Viewer| {
        let (i, _) = v.shown(0).unwrap();
        v.library.images[i]
            .image
            .metadata
            .image_position_patient
            .unwrap()[2]
    };
    assert_eq!(z(h.state()), 0.0);
    h.key_press(Key::ArrowDown);
    h.step();
    assert_eq!(z(h.state()), 1.25);
    // The corner text is readable by assistive technology too.
    let corners = h.get_by_label("Viewport 1").value().unwrap_or_default();
    assert!(
        corners.contains("Im 2/6") && corners.contains("Pos 1.2 mm"),
        "{corners}"
    );
    h.key_press(Key::End);
    h.step();
    assert_eq!(z(h.state()), 6.25);
    h.key_press(Key::ArrowUp);
    h.step();
    assert_eq!(z(h.state()), 5.0);
    h.key_press(Key::Home);
    h.step();
    assert_eq!(z(h.state()), 0.0);
    h.key_press(Key::PageDown);
    h.step();
    assert_eq!(z(h.state()), 6.25, "PageDown clamps at the last slice");
    assert_eq!(h.state().viewports[0].position, 5);
    // A preset key sets the CT lung window.
    h.key_press(Key::Num1);
    h.step();
    assert_eq!(
        h.state().viewports[0].view.window,
        WindowChoice::Explicit(hilum::imaging::Window::linear(-600.0, 1500.0))
    );
    // Presets are settings: an edited one applies (and persists with them).
    h.state_mut().settings.presets[1].center = 70.0;
    h.key_press(Key::Num2);
    h.step();
    assert_eq!(
        h.state().viewports[0].view.window,
        WindowChoice::Explicit(hilum::imaging::Window::linear(70.0, 350.0))
    );
}

#[test]
fn a_corrupt_file_is_listed_with_its_reason_while_the_others_open() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.dcm");
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    bytes.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 0xff, 0x7f]);
    std::fs::write(&broken, &bytes).unwrap();
    let mut h = harness(viewer_without_ai());
    drop_files(
        &mut h,
        &[broken.clone(), asset("assets/CT_small.dcm"), asset(CHEST)],
    );
    step_until(&mut h, "two images and one failure", |v| {
        v.library.images.len() == 2 && v.library.errors.len() == 1 && !v.loading()
    });
    let error = h.get_by_label_contains("Failed: ");
    let text = format!("{error:?}");
    assert!(text.contains("broken.dcm"), "{text}");
    assert!(h.state().displayed(0).is_some());
    assert_eq!(
        std::fs::read(&broken).unwrap(),
        bytes,
        "the source file was modified"
    );
}

#[test]
fn an_image_larger_than_the_texture_limit_is_shown_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.dcm");
    generate::write_big(&path, 12);
    let mut h = harness(viewer_without_ai());
    h.input_mut().max_texture_side = Some(2048);
    drop_files(&mut h, std::slice::from_ref(&path));
    step_until(&mut h, "the 3000×3000 image", |v| v.displayed(0).is_some());
    let shown = &h.state().displayed(0).unwrap().rendered;
    assert_eq!(
        (shown.width, shown.height),
        (1500, 1500),
        "sampled every 2nd pixel"
    );
    // The sampled pixels are the pipeline's own for those positions.
    let image = Arc::clone(&h.state().library.images[0].image);
    let full = render_frame(&image, 0, &WindowChoice::FileDefault).unwrap();
    for (x, y) in [(0, 0), (700, 300), (1499, 1499)] {
        assert_eq!(
            shown.pixels[y * 1500 + x],
            full.pixels[(2 * y) * 3000 + 2 * x],
            "({x}, {y})"
        );
    }
    let screen = h.render().expect("headless rendering");
    let c = viewport_center(&h);
    let values: Vec<u8> = (0..40)
        .map(|i| screen.get_pixel(c.x as u32 + i * 3, c.y as u32 + i)[0])
        .collect();
    assert!(values.iter().any(|&x| x != values[0]), "blank: {values:?}");
}

#[test]
fn the_parallel_window_path_is_the_pipelines_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.dcm");
    generate::write_big(&path, 16);
    let image = hilum::imaging::load_path(&path, &hilum::imaging::LoadOptions::default()).unwrap();
    let window = WindowChoice::Explicit(hilum::imaging::Window::linear(20000.0, 9000.0));
    for invert in [false, true] {
        let (rendered, color) =
            hilum::app::viewport::render_gray_for_display(&image, 0, &window, invert)
                .expect("a gray 16-bit frame takes the table path")
                .unwrap();
        let expected = render_frame(&image, 0, &window).unwrap();
        assert_eq!(
            rendered, expected,
            "split rendering differs from render_frame"
        );
        let flip = |v: u8| if invert { 255 - v } else { v };
        assert_eq!(color.size, [3000, 3000]);
        assert!(
            color
                .pixels
                .iter()
                .zip(&expected.pixels)
                .all(|(c, &v)| *c == egui::Color32::from_gray(flip(v))),
            "texture pixels differ (invert {invert})"
        );
    }
}

#[test]
fn on_a_hidpi_screen_one_to_one_is_one_physical_pixel_and_magnified_pixels_are_exact() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .with_pixels_per_point(2.0)
        .wgpu()
        .build_ui_state(
            |ui, viewer: &mut Viewer| viewer.show(ui),
            viewer_without_ai(),
        );
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());
    // Shift+F: one image pixel per physical screen pixel.
    h.key_press_modifiers(Modifiers::SHIFT, Key::F);
    h.step();
    h.step();
    assert_eq!(transform(&h).scale * 2.0, 1.0);
    // Magnified (2 points = 4 physical pixels per image pixel), the centre
    // of every image pixel on screen, and a point near its left edge (where
    // smoothing would blend in the neighbour), shows that pixel's rendered
    // value: sharp squares.
    h.state_mut().viewports[0].view.zoom = Some(2.0);
    h.step();
    h.step();
    let screen = h.render().unwrap();
    let t = transform(&h);
    let rendered = h.state().displayed(0).unwrap().rendered.clone();
    let mut checked = 0;
    for r in (0..128).step_by(7) {
        for c in (0..128).step_by(5) {
            for dx in [0.5, 0.2] {
                let [x, y] = t.to_screen(c as f32 + dx, r as f32 + 0.5);
                let (px, py) = ((x * 2.0) as u32, (y * 2.0) as u32);
                if px >= screen.width() || py >= screen.height() {
                    continue;
                }
                let want = rendered.pixels[r * 128 + c];
                let got = screen.get_pixel(px, py);
                assert!(
                    (0..3).all(|k| got[k].abs_diff(want) <= 1),
                    "pixel ({c}, {r}) at +{dx}: screen {got:?}, rendered {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} pixels were on screen");
}

#[test]
fn the_command_line_takes_paths_or_a_subcommand() {
    use clap::Parser;
    let cli = hilum::cli::Cli::try_parse_from(["hilum", "a.dcm", "folder"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(
        cli.paths,
        vec![PathBuf::from("a.dcm"), PathBuf::from("folder")]
    );
    let cli = hilum::cli::Cli::try_parse_from(["hilum", "--screenshot", "s.png"]).unwrap();
    assert_eq!(cli.screenshot, Some(PathBuf::from("s.png")));
    assert!(cli.paths.is_empty());
    let cli = hilum::cli::Cli::try_parse_from(["hilum", "info", "a.dcm"]).unwrap();
    assert!(matches!(cli.command, Some(hilum::cli::Command::Info(_))));
    assert!(
        hilum::app::sample_image().is_some(),
        "the bundled sample is missing"
    );
}
