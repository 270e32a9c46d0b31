//! Benchmarks of the viewer (run with `cargo bench --bench viewer`):
//!
//! * `viewer_window_level_3000x3000/*`: a new window on a 3000×3000 16-bit
//!   radiograph: `render_frame` plus the conversion to an egui image, one
//!   thread (`cpu_lut_render`, the baseline); the viewer's path, the same
//!   lookup table written straight into the texture's pixels on every core
//!   (`display_lut_parallel`); and a whole egui frame after a window
//!   change, texture update included (`frame_after_window_change`; the
//!   harness's renderer is not run, so this is the UI thread's cost), and
//!   the same while the window is being dragged, when the viewport shows a
//!   preview sampled at about one image pixel per screen pixel
//!   (`frame_while_dragging_window`); and the ROI statistics of an
//!   ellipse over that whole image (`roi_stats_full_ellipse`), computed
//!   on the viewer's background thread (`app::jobs`) whenever an ROI's
//!   shape changes.
//! * `viewer_stack_scroll_500/frame`: one egui frame after stepping to the
//!   next slice of a 500-slice CT (render of the new slice and texture
//!   update included).
//! * `viewer_mpr_500/*`: the MPR layout on that CT: the volume built from
//!   the loaded series (`volume_build`), and one egui frame after the
//!   coronal or sagittal plane moves (cut, windowed and uploaded), thin and
//!   as a 20 mm MIP slab, and an axial 20 mm MIP; with the memory the
//!   layout adds.
//! * Memory for the 500-slice CT, printed before the timings: resident
//!   memory added by loading it into the viewer, against its raw pixel
//!   bytes (Linux `/proc/self/statm`).

#[path = "generate/mod.rs"]
mod generate;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use egui_kittest::Harness;
use hilum::app::Viewer;
use hilum::app::ai_assist::AiAssist;
use hilum::app::settings::Settings;
use hilum::app::viewport::{color_image, render_gray_for_display};
use hilum::imaging::voi::Window;
use hilum::imaging::volume::{Plane, Volume};
use hilum::imaging::{LoadOptions, WindowChoice, load_path, render_frame};

fn viewer() -> Viewer {
    let settings = Settings {
        // The benchmarks arrange the viewports themselves.
        hanging_protocols: false,
        auto_run_ai: false,
        corner_text: true,
        ..Settings::default()
    };
    Viewer::new(
        settings,
        AiAssist::new(Err("no model in benchmarks".into())),
    )
}

fn harness(v: Viewer) -> Harness<'static, Viewer> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(|ui, v: &mut Viewer| v.show(ui), v);
    // A desktop GPU's texture limit (wgpu's default 8192), so the 3000×3000
    // image is shown and windowed at full resolution, not sampled down to
    // egui's headless default of 2048.
    h.input_mut().max_texture_side = Some(8192);
    h.step();
    h
}

fn load_into(h: &mut Harness<'static, Viewer>, path: std::path::PathBuf, images: usize) {
    let ctx = h.ctx.clone();
    h.state_mut().open(&ctx, vec![path]);
    let start = Instant::now();
    while h.state().library.images.len() < images || h.state().loading() || !h.state().on_screen(0)
    {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "loading timed out"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux)");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    pages * 4096
}

fn window(k: u64) -> WindowChoice {
    WindowChoice::Explicit(Window::linear(-200.0 + (k % 400) as f64, 400.0))
}

fn bench_window_level(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.dcm");
    generate::write_big(&path, 16);
    let image = load_path(&path, &LoadOptions::default()).unwrap();
    let mut group = c.benchmark_group("viewer_window_level_3000x3000");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let mut k = 0;
    group.bench_function("cpu_lut_render", |b| {
        b.iter(|| {
            k += 1;
            let rendered = render_frame(&image, 0, &window(k)).unwrap();
            black_box(color_image(&rendered, false))
        })
    });
    let mut k = 0;
    group.bench_function("display_lut_parallel", |b| {
        b.iter(|| {
            k += 1;
            black_box(render_gray_for_display(&image, 0, &window(k), false))
        })
    });
    // The statistics an ROI label shows, recomputed on the UI thread each
    // frame its shape changes: an ellipse inscribed in the whole image.
    let ellipse = hilum::annotations::Shape::Ellipse {
        center: hilum::annotations::Point::new(1500.0, 1500.0),
        radius_x: 1500.0,
        radius_y: 1500.0,
    };
    group.bench_function("roi_stats_full_ellipse", |b| {
        b.iter(|| black_box(hilum::annotations::measure::roi_stats(&image, 0, &ellipse)))
    });
    let mut h = harness(viewer());
    load_into(&mut h, path, 1);
    let mut k = 0;
    group.bench_function("frame_after_window_change", |b| {
        b.iter(|| {
            k += 1;
            h.state_mut().viewports[0].view.window = window(k);
            h.step();
        })
    });
    // While the right button drags the window: the preview at about one
    // image pixel per screen pixel (the viewport is ~900 points here).
    let mut drags = 0;
    group.bench_function("frame_while_dragging_window", |b| {
        b.iter(|| {
            k += 1;
            drags += 1;
            let vp = &mut h.state_mut().viewports[0];
            vp.view.window = window(k);
            vp.adjusting = true;
            h.step();
        })
    });
    group.finish();
    // The checks below follow the drag benchmark (skipped when a filter
    // leaves it out).
    if drags == 0 {
        return;
    }
    let step = h.state().displayed(0).unwrap().key.step;
    assert!(step > 1, "the drag preview was not used (step {step})");
    println!("drag preview: every {step}th pixel");
    assert!(
        h.state().displayed(0).unwrap().uploads > 10,
        "the texture was not updated"
    );
    // The drag has ended: one frame renders the full resolution again;
    // repaints without a change after that must not upload again.
    h.step();
    assert_eq!(h.state().displayed(0).unwrap().key.step, 1);
    let uploads = h.state().displayed(0).unwrap().uploads;
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().displayed(0).unwrap().uploads, uploads);
}

fn bench_stack(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    // A clinical-size CT: 500 slices of 512×512.
    generate::write_series_sized(tmp.path(), generate::SLICES, generate::CT_SIDE);
    let mut h = harness(viewer());
    h.step();
    let before = resident_bytes();
    load_into(&mut h, tmp.path().to_path_buf(), generate::SLICES);
    let after = resident_bytes();
    let v = h.state();
    let raw: usize = v.library.images.iter().map(|i| i.image.pixel_bytes()).sum();
    let added = after.saturating_sub(before);
    println!(
        "memory_500_slice_ct (512x512): raw pixel bytes {:.1} MiB, resident memory added \
         {:.1} MiB, ratio {:.3}",
        raw as f64 / 1048576.0,
        added as f64 / 1048576.0,
        added as f64 / raw as f64,
    );
    let len = v.stack(0).len();
    assert_eq!(len, generate::SLICES);
    let mut group = c.benchmark_group("viewer_stack_scroll_500");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("frame", |b| {
        b.iter(|| {
            let vp = &mut h.state_mut().viewports[0];
            vp.cine_step(len);
            h.step();
        })
    });
    group.finish();
    bench_mpr(c, &mut h);
}

/// The MPR layout on the same 500-slice CT: building the volume from the
/// loaded series, and one frame after the coronal or sagittal plane moves
/// (cut, windowed, uploaded and drawn), thin and as a 20 mm MIP slab.
fn bench_mpr(c: &mut Criterion, h: &mut Harness<'static, Viewer>) {
    let before = resident_bytes();
    h.key_press(egui::Key::M);
    h.step();
    let after = resident_bytes();
    let mpr = h.state().mpr.as_ref().expect("the MPR layout opens");
    let raw = mpr.volume.pixel_bytes();
    println!(
        "mpr_volume_500_slice_ct: resident memory added by the MPR layout {:.1} MiB over \
         {:.1} MiB of shared pixels ({:.3} of raw); slice spacing {:?} mm, pixel spacing {:?} mm",
        after.saturating_sub(before) as f64 / 1048576.0,
        raw as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / raw as f64,
        mpr.volume.geometry().slice_spacing,
        mpr.volume.geometry().pixel_spacing,
    );
    let images = mpr.volume.images().to_vec();
    let mut group = c.benchmark_group("viewer_mpr_500");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("volume_build", |b| {
        b.iter(|| black_box(Volume::build(images.clone()).unwrap()))
    });
    for (name, plane, slab_mm) in [
        ("coronal_plane_frame", Plane::Coronal, 0.0),
        ("sagittal_plane_frame", Plane::Sagittal, 0.0),
        ("coronal_mip_20mm_frame", Plane::Coronal, 20.0),
        ("axial_mip_20mm_frame", Plane::Axial, 20.0),
    ] {
        h.state_mut().mpr.as_mut().unwrap().slab_mm = slab_mm;
        let count = h.state().mpr.as_ref().unwrap().volume.plane_count(plane);
        let mut k = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let mpr = h.state_mut().mpr.as_mut().unwrap();
                k = (k + 7) % count;
                mpr.cursor[plane_slot(plane)] = k;
                h.step();
            })
        });
    }
    group.finish();
}

fn plane_slot(plane: Plane) -> usize {
    hilum::app::mpr::slot(plane)
}

/// The GPU display path (wgpu; on this machine Mesa's software
/// rasteriser): a window change on the 3000×3000 16-bit frame, as the UI
/// thread's cost (`gpu_frame_after_window_change`: the display table built
/// and the paint callback queued) and through to pixels read back from the
/// GPU (`gpu_window_change_rendered`: the frame rendered by wgpu and
/// copied to memory, which a real screen does not need).
fn bench_gpu_window_level(c: &mut Criterion) {
    use eframe::egui_wgpu;
    use egui_kittest::wgpu::{WgpuTestRenderer, create_render_state, default_wgpu_setup};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.dcm");
    generate::write_big(&path, 16);
    let render_state = create_render_state(
        default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    let info = render_state.adapter.get_info();
    println!(
        "gpu display path: adapter {} ({:?}, {:?})",
        info.name, info.device_type, info.backend
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .renderer(WgpuTestRenderer::from_render_state(render_state.clone()))
        .build_ui_state(|ui, v: &mut Viewer| v.show(ui), viewer());
    hilum::app::gpu::install(&h.ctx, &render_state);
    h.step();
    load_into(&mut h, path, 1);
    h.state_mut().viewports[0].view.zoom = Some(1.0);
    h.step();
    assert!(h.state().gpu_drawn(0), "the GPU path draws the frame");
    let mut group = c.benchmark_group("viewer_window_level_3000x3000");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let mut k = 0;
    group.bench_function("gpu_frame_after_window_change", |b| {
        b.iter(|| {
            k += 1;
            h.state_mut().viewports[0].view.window = window(k);
            h.step();
        })
    });
    group.bench_function("gpu_window_change_rendered", |b| {
        b.iter(|| {
            k += 1;
            h.state_mut().viewports[0].view.window = window(k);
            h.step();
            black_box(h.render().unwrap())
        })
    });
    group.finish();
    let stats = &h.state().gpu_stats;
    println!(
        "gpu display path uploads: {} frame(s), {} table(s)",
        stats
            .frame_uploads
            .load(std::sync::atomic::Ordering::Relaxed),
        stats
            .table_uploads
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_gpu_window_level(&mut criterion);
    bench_stack(&mut criterion);
    bench_window_level(&mut criterion);
    criterion.final_summary();
}
