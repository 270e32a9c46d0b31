//! The viewer driven through egui_kittest on its real state: drops, drags,
//! keys, the AI panel and the heatmap overlay, rendered headless (wgpu on
//! Mesa's software rasteriser; no GPU needed). `display`: opening files and
//! the pixels shown; `ai`: the AI panel, heatmaps and the UI thread staying
//! live while the AI works; `annotate`: the measurement tools; `pacs`: the
//! PACS window; `foreign`: results from other systems over their images.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../benches/generate/mod.rs"]
mod generate;

mod ai;
mod annotate;
mod display;
mod foreign;
mod gpu;
mod hanging;
mod linking;
mod mpr;
mod pacs;
mod priors;
mod worklist;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hilum::ai::classify::{Classification, Timing, findings};
use hilum::ai::model::ExecutionProviderUsed;
use hilum::ai::saliency::occlusion::Progress;
use hilum::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod, SaliencyRequest, Verdict};
use hilum::ai::{AiError, EngineChoice, EpChoice, Manifest, RuntimeSettings};
use hilum::annotations::Shape;
use hilum::annotations::measure::{Calibration, length, measure};
use hilum::annotations::sidecar::SidecarStore;
use hilum::app::Viewer;
use hilum::app::ai_assist::{AiAssist, Classifier, Pending, WorkerClassifier};
use hilum::app::annotate::Tool;
use hilum::app::settings::Settings;
use hilum::app::state::ViewTransform;
use hilum::app::viewport::current_window;
use hilum::imaging::render::render_frame;
use hilum::imaging::{Image, WindowChoice};

fn asset(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

const CHEST: &str = "assets/chest-xray/person1946_bacteria_4874.jpeg";

fn manifest() -> Manifest {
    Manifest::load(&hilum::ai::resolve_model(None).expect("the default model is installed"))
        .expect("the default manifest loads")
}

/// A dropped file, as the windowing backend would hand it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Settings for the tests: no AI run on its own, and no layout per
/// modality (the tests arrange the viewports themselves; `hanging.rs`
/// tests the layouts).
fn settings() -> Settings {
    Settings {
        auto_run_ai: false,
        hanging_protocols: false,
        ..Settings::default()
    }
}

fn viewer_without_ai() -> Viewer {
    Viewer::new(
        settings(),
        AiAssist::new(Err("no model in this test".into())),
    )
}

fn harness(viewer: Viewer) -> Harness<'static, Viewer> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.show(ui), viewer)
}

/// Steps frames until `done` holds; fails with `what` after 60 s.
fn step_until(h: &mut Harness<'static, Viewer>, what: &str, done: impl Fn(&Viewer) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

/// Steps frames until a widget whose label contains `text` is shown;
/// fails after 60 s.
fn wait_for_label(h: &mut Harness<'static, Viewer>, text: &str) {
    let start = Instant::now();
    while h.query_by_label_contains(text).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for a label with {text:?}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes a phantom CT series into `dir` as `spec` asks
/// (`tests/volume/phantom.py make`, with the venv's pydicom).
fn phantom_series(dir: &Path, spec: serde_json::Value) {
    const PHANTOM: &str = include_str!("../volume/phantom.py");
    common::python(
        PHANTOM,
        &["make", &dir.display().to_string(), &spec.to_string()],
    );
}

/// The z of Image Position (Patient) of what viewport `v` shows.
fn z_of(h: &Harness<'static, Viewer>, v: usize) -> f64 {
    let (image, _) = h.state().shown(v).unwrap();
    h.state().library.images[image]
        .image
        .metadata
        .image_position_patient
        .unwrap()[2]
}

fn drop_files(h: &mut Harness<'static, Viewer>, paths: &[PathBuf]) {
    for p in paths {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(p.clone())) as egui::DroppedFileHandle);
    }
    h.step();
}

fn viewport_center(h: &Harness<'static, Viewer>) -> Pos2 {
    h.get_by_label("Viewport 1").rect().center()
}

fn crop_mean_difference(a: &image::RgbaImage, b: &image::RgbaImage, center: Pos2) -> f64 {
    let (cx, cy) = (center.x as u32, center.y as u32);
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in cy - 100..cy + 100 {
        for x in cx - 100..cx + 100 {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            sum += (0..3).map(|c| p[c].abs_diff(q[c]) as u64).sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n as f64
}

fn primary_drag(h: &mut Harness<'static, Viewer>, from: Pos2, to: Pos2) {
    h.event(Event::PointerMoved(from));
    h.step();
    h.event(Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.step();
    for i in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (i as f32 / 8.0)));
        h.step();
    }
    h.event(Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    h.step();
}

fn click(h: &mut Harness<'static, Viewer>, at: Pos2) {
    h.event(Event::PointerMoved(at));
    h.step();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos: at,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.step();
    h.step();
}

/// The viewport-1 transform as the viewer draws it now.
fn transform(h: &Harness<'static, Viewer>) -> ViewTransform {
    let rect = h.get_by_label("Viewport 1").rect();
    let v = h.state();
    hilum::app::viewport::view_transform(&v.viewports[0].view, &v.library.images[0].image, rect)
}

/// True when a selected-annotation (cyan) pixel is drawn within 3 pixels
/// of `p` on `screen`.
fn cyan_near(screen: &image::RgbaImage, p: [f32; 2]) -> bool {
    let (x, y) = (p[0].round() as i64, p[1].round() as i64);
    (-3..=3).any(|dy| {
        (-3..=3).any(|dx| {
            let q = screen.get_pixel((x + dx) as u32, (y + dy) as u32);
            q[0] < 150 && q[1] > 150 && q[2] > 170
        })
    })
}
