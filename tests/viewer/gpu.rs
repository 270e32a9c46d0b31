//! The GPU display path, drawn by wgpu on Mesa's software rasteriser: the
//! viewport keeps the frame's stored values on the GPU and a window change
//! uploads only the display table; every texel on screen equals
//! `render_frame` for the same window (±1), for a signed 16-bit CT, a
//! 3000×3000 12-bit radiograph and an inverted view.

use super::*;
use eframe::egui_wgpu;
use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
use hilum::app::gpu;
use hilum::imaging::voi::Window;

/// A harness whose wgpu renderer has the GPU path installed, as the
/// shipped viewer installs it when wgpu draws the window.
fn gpu_harness() -> Harness<'static, Viewer> {
    let render_state = create_render_state(
        default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    let h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .renderer(WgpuTestRenderer::from_render_state(render_state.clone()))
        .build_ui_state(
            |ui, viewer: &mut Viewer| viewer.show(ui),
            viewer_without_ai(),
        );
    gpu::install(&h.ctx, &render_state);
    h
}

/// Opens `path` with the viewport at `zoom` screen pixels per image pixel
/// (whole numbers, so every texel's centre falls inside one screen pixel).
fn open_at_zoom(h: &mut Harness<'static, Viewer>, path: PathBuf, zoom: f32) {
    drop_files(h, &[path]);
    step_until(h, "the GPU path to draw the image", |v| v.gpu_drawn(0));
    let v = h.state_mut();
    v.viewports[0].view.zoom = Some(zoom);
    v.viewports[0].view.pan = [0.0, 0.0];
    h.step();
    h.step();
}

/// Checks every texel whose centre is on screen (away from the corner
/// text) against `render_frame` with `window`, inverted when `invert`;
/// returns how many were checked.
fn assert_screen_is_reference(
    h: &mut Harness<'static, Viewer>,
    window: &WindowChoice,
    invert: bool,
) -> usize {
    let screen = h.render().expect("headless rendering");
    let rect = h.get_by_label("Viewport 1").rect().shrink(70.0);
    let t = transform(h);
    let image = Arc::clone(&h.state().library.images[0].image);
    let reference = render_frame(&image, 0, window).unwrap();
    let (columns, rows) = (reference.width as usize, reference.height as usize);
    let (mut checked, mut worst, mut at) = (0, 0u8, (0, 0));
    for y in 0..rows {
        for x in 0..columns {
            let [sx, sy] = t.to_screen(x as f32 + 0.5, y as f32 + 0.5);
            if !rect.contains(Pos2::new(sx, sy)) {
                continue;
            }
            let got = screen.get_pixel(sx as u32, sy as u32)[0];
            let want = reference.pixels[y * columns + x];
            let want = if invert { 255 - want } else { want };
            if got.abs_diff(want) > worst {
                worst = got.abs_diff(want);
                at = (x, y);
            }
            checked += 1;
        }
    }
    assert!(
        worst <= 1,
        "the GPU path differs from render_frame by {worst} at texel {at:?}"
    );
    checked
}

#[test]
fn the_gpu_path_shows_render_frames_pixels_and_a_window_change_uploads_only_the_table() {
    let mut h = gpu_harness();
    open_at_zoom(&mut h, asset("assets/CT_small.dcm"), 4.0);
    assert!(h.state().displayed(0).is_none(), "no CPU rendering is kept");
    wait_for_label(&mut h, "Display: GPU");
    let checked = assert_screen_is_reference(&mut h, &WindowChoice::FileDefault, false);
    assert!(checked > 10_000, "only {checked} texels on screen");
    let stats = Arc::clone(&h.state().gpu_stats);
    let frames = stats
        .frame_uploads
        .load(std::sync::atomic::Ordering::Relaxed);
    let tables = stats
        .table_uploads
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(frames, 1, "the frame is uploaded once");

    // The lung preset: a new table, no new frame, the pipeline's pixels.
    h.key_press(Key::Num1);
    h.step();
    let lung = WindowChoice::Explicit(Window::linear(-600.0, 1500.0));
    assert_screen_is_reference(&mut h, &lung, false);
    // Inverted by the reader.
    h.key_press(Key::I);
    h.step();
    assert_screen_is_reference(&mut h, &lung, true);
    assert_eq!(
        stats
            .frame_uploads
            .load(std::sync::atomic::Ordering::Relaxed),
        frames
    );
    assert_eq!(
        stats
            .table_uploads
            .load(std::sync::atomic::Ordering::Relaxed),
        tables + 2
    );
    // A repaint uploads nothing.
    h.step();
    h.step();
    assert_eq!(
        stats
            .table_uploads
            .load(std::sync::atomic::Ordering::Relaxed),
        tables + 2
    );
}

#[test]
fn a_3000_pixel_12_bit_radiograph_is_exact_on_the_gpu_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.dcm");
    generate::write_big(&path, 12);
    let mut h = gpu_harness();
    open_at_zoom(&mut h, path, 2.0);
    let checked = assert_screen_is_reference(&mut h, &WindowChoice::FileDefault, false);
    assert!(checked > 10_000, "only {checked} texels on screen");
    h.key_press(Key::Num5);
    h.step();
    assert_screen_is_reference(
        &mut h,
        &WindowChoice::Explicit(Window::linear(400.0, 1800.0)),
        false,
    );
}
