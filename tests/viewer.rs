//! The viewer driven through egui_kittest on its real state: drops, drags,
//! keys, the AI panel and the heatmap overlay, rendered headless (wgpu on
//! Mesa's software rasteriser; no GPU needed).

#[path = "../benches/generate/mod.rs"]
mod generate;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hilum::ai::classify::{Classification, Timing, findings};
use hilum::ai::model::ExecutionProviderUsed;
use hilum::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod};
use hilum::ai::{AiError, EngineChoice, EpChoice, Manifest, RuntimeSettings};
use hilum::app::Viewer;
use hilum::app::ai_assist::{AiAssist, Classifier, PendingClassification, WorkerClassifier};
use hilum::app::heatmap::{
    HeatmapError, HeatmapProvider, HeatmapRequest, Heatmaps, SaliencyProvider,
};
use hilum::app::settings::Settings;
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

fn settings() -> Settings {
    Settings {
        auto_run_ai: false,
        ..Settings::default()
    }
}

fn viewer_without_ai() -> Viewer {
    Viewer::new(
        settings(),
        AiAssist::new(Err("no model in this test".into())),
        Heatmaps::new(Arc::new(SaliencyProvider)),
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
fn the_ai_panel_shows_probabilities_against_the_operating_point() {
    let settings = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let classifier = WorkerClassifier::spawn(manifest(), settings);
    let viewer = Viewer::new(
        Settings::default(),
        AiAssist::new(Ok(Box::new(classifier))),
        Heatmaps::new(Arc::new(SaliencyProvider)),
    );
    let mut h = harness(viewer);
    drop_files(&mut h, &[asset(CHEST)]);
    step_until(&mut h, "the classification", |v| v.ai.cached() == 1);
    h.get_by_label("AI assistance — not a diagnosis");
    h.get_by_label_contains("PNEUMONIA: probability");
    h.get_by_label_contains("Operating point");
    let wording = h.get_by_label_contains("the model's operating point");
    assert!(
        format!("{wording:?}").contains("above the model's operating point"),
        "{wording:?}"
    );
    h.get_by_label_contains("Latency");
    h.get_by_label_contains("Engine onnxruntime");
    // The model card is one click away.
    h.get_by_label("Model card").click();
    h.step();
    h.step();
    h.get_by_label_contains("Intended use");
    // The shipped heatmap provider says heatmaps are unavailable; nothing
    // is drawn.
    h.key_press(Key::H);
    step_until(&mut h, "the heatmap answer", |v| {
        v.active_image()
            .zip(v.ai.model())
            .and_then(|(i, m)| v.heatmaps.cached(i, m))
            .is_some_and(|r| r.is_err())
    });
    h.get_by_label_contains("Heatmap unavailable: heatmaps are not available in this build");
}

/// A classifier that answers only when the test lets it.
struct SlowClassifier {
    manifest: Manifest,
    release: Arc<AtomicBool>,
}

struct SlowPending {
    release: Arc<AtomicBool>,
    manifest: Manifest,
    path: PathBuf,
}

impl PendingClassification for SlowPending {
    fn poll(&mut self) -> Option<Result<Classification, AiError>> {
        if !self.release.load(Ordering::SeqCst) {
            return None;
        }
        let probabilities = [0.2, 0.8];
        let _ = &self.path;
        Some(Ok(Classification {
            model_id: self.manifest.id.clone(),
            model_name: self.manifest.name.clone(),
            model_version: self.manifest.version.clone(),
            engine: "test".into(),
            execution_provider: ExecutionProviderUsed {
                name: "CPU".into(),
                fallback_reason: None,
            },
            findings: findings(&self.manifest, &probabilities),
            out_of_scope_warnings: vec!["a CT given to a chest X-ray model".into()],
            timing_ms: Timing::default(),
            geometry: None,
        }))
    }

    fn cancel(&self) {}
}

impl Classifier for SlowClassifier {
    fn submit(&self, image: Arc<Image>) -> Box<dyn PendingClassification> {
        Box::new(SlowPending {
            release: Arc::clone(&self.release),
            manifest: self.manifest.clone(),
            path: image.path.clone(),
        })
    }

    fn model(&self) -> &Manifest {
        &self.manifest
    }

    fn status(&self) -> String {
        "test engine".into()
    }
}

#[test]
fn frames_keep_coming_while_inference_is_pending() {
    let release = Arc::new(AtomicBool::new(false));
    let viewer = Viewer::new(
        Settings::default(),
        AiAssist::new(Ok(Box::new(SlowClassifier {
            manifest: manifest(),
            release: Arc::clone(&release),
        }))),
        Heatmaps::new(Arc::new(SaliencyProvider)),
    );
    let mut h = harness(viewer);
    drop_files(&mut h, &[asset(CHEST)]);
    step_until(&mut h, "the image", |v| v.displayed(0).is_some());
    // A watchdog: if the UI thread ever waited for the model, frames would
    // stop and this fails the run instead of hanging it.
    let frames = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&frames);
    let done = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&done);
    std::thread::spawn(move || {
        let mut last = 0;
        while !finished.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(30));
            let now = seen.load(Ordering::SeqCst);
            if now == last && !finished.load(Ordering::SeqCst) {
                eprintln!("the UI thread stopped producing frames while inference was pending");
                std::process::exit(1);
            }
            last = now;
        }
    });
    for _ in 0..30 {
        h.step();
        frames.fetch_add(1, Ordering::SeqCst);
        assert!(h.state().ai.is_running());
    }
    h.get_by_label("Classifying…");
    // The viewer stays usable meanwhile: keys still act.
    h.key_press(Key::I);
    h.step();
    assert!(h.state().viewports[0].view.invert);
    done.store(true, Ordering::SeqCst);
    release.store(true, Ordering::SeqCst);
    step_until(&mut h, "the result", |v| !v.ai.is_running());
    h.get_by_label_contains("PNEUMONIA: probability 0.80");
    h.get_by_label_contains("Out of scope: a CT given to a chest X-ray model");
}

/// A provider that returns a fixed left-to-right ramp, to test the overlay.
struct RampProvider {
    calls: Mutex<Vec<HeatmapRequest>>,
}

impl HeatmapProvider for RampProvider {
    fn compute(
        &self,
        image: &Image,
        model: &Manifest,
        request: &HeatmapRequest,
    ) -> Result<Heatmap, HeatmapError> {
        self.calls.lock().unwrap().push(request.clone());
        let (w, h) = (image.pixels.columns, image.pixels.rows);
        let values = (0..w * h).map(|i| (i % w) as f32 / w as f32).collect();
        Ok(Heatmap {
            method: request.method,
            target_label: model.task.labels[request.target_index].clone(),
            target_index: request.target_index,
            settings: "test ramp".into(),
            model: model.id.clone(),
            width: w,
            height: h,
            values,
            model_space: Vec::new(),
            grid: (1, 1),
            faithfulness: Some(Faithfulness {
                fraction: 0.1,
                base_probability: 0.9,
                salient_drop: 0.5,
                random_drop: 0.05,
            }),
            time_ms: 1.0,
        })
    }
}

#[test]
fn the_heatmap_toggle_draws_the_overlay_with_its_faithfulness() {
    let release = Arc::new(AtomicBool::new(true));
    let provider = Arc::new(RampProvider {
        calls: Mutex::new(Vec::new()),
    });
    let viewer = Viewer::new(
        settings(),
        AiAssist::new(Ok(Box::new(SlowClassifier {
            manifest: manifest(),
            release,
        }))),
        Heatmaps::new(Arc::clone(&provider) as Arc<dyn HeatmapProvider>),
    );
    let mut h = harness(viewer);
    drop_files(&mut h, &[asset(CHEST)]);
    step_until(&mut h, "the image", |v| v.displayed(0).is_some());
    let before = h.render().unwrap();
    h.key_press(Key::H);
    h.step();
    step_until(&mut h, "the heatmap", |v| {
        v.active_image()
            .zip(v.ai.model())
            .and_then(|(i, m)| v.heatmaps.cached(i, m))
            .is_some_and(|r| r.is_ok())
    });
    h.step();
    let after = h.render().unwrap();
    let c = viewport_center(&h);
    let diff = crop_mean_difference(&before, &after, c);
    assert!(
        diff > 5.0,
        "the overlay did not show (mean difference {diff})"
    );
    h.get_by_label_contains("Grad-CAM for PNEUMONIA");
    h.get_by_label_contains("Faithfulness: deleting the top 10%");
    assert_eq!(
        provider.calls.lock().unwrap()[0],
        HeatmapRequest {
            method: SaliencyMethod::GradCam,
            target_index: 1
        }
    );
    h.key_press(Key::H);
    h.step();
    h.step();
    let hidden = h.render().unwrap();
    assert!(crop_mean_difference(&before, &hidden, c) < 1.0);
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
