//! The viewer driven through egui_kittest on its real state: drops, drags,
//! keys, the AI panel and the heatmap overlay, rendered headless (wgpu on
//! Mesa's software rasteriser; no GPU needed).

mod common;
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
use hilum::ai::saliency::occlusion::Progress;
use hilum::ai::saliency::{Faithfulness, Heatmap, SaliencyMethod, SaliencyRequest};
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
fn the_ai_panel_shows_probabilities_against_the_operating_point() {
    let settings = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let classifier = WorkerClassifier::spawn(manifest(), settings);
    let viewer = Viewer::new(Settings::default(), AiAssist::new(Ok(Box::new(classifier))));
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
    // H asks the same worker for the model's Grad-CAM; it is drawn over
    // the image with its label and faithfulness numbers.
    h.get_by_label("Close model card").click();
    h.step();
    let before = h.render().unwrap();
    h.key_press(Key::H);
    step_until(&mut h, "the Grad-CAM heatmap", |v| {
        v.current_heatmap().is_some()
    });
    h.step();
    let heatmap = h.state().current_heatmap().unwrap();
    assert_eq!(heatmap.method, SaliencyMethod::GradCam);
    assert_eq!(heatmap.target_label, "PNEUMONIA");
    let image = Arc::clone(&h.state().library.images[0].image);
    assert_eq!(
        (heatmap.width, heatmap.height),
        (image.pixels.columns, image.pixels.rows),
        "the map is on the source grid"
    );
    assert!(heatmap.values.iter().any(|&v| v > 0.5));
    h.get_by_label_contains("Grad-CAM for PNEUMONIA");
    h.get_by_label_contains("Faithfulness: deleting the top 10%");
    let after = h.render().unwrap();
    let diff = crop_mean_difference(&before, &after, viewport_center(&h));
    assert!(
        diff > 2.0,
        "the overlay did not show (mean difference {diff})"
    );
}

/// A classifier that answers only when the test lets it; its heatmaps are
/// a left-to-right ramp, to test the overlay, and it records every
/// saliency request and whether it was cancelled.
struct SlowClassifier {
    manifest: Manifest,
    release: Arc<AtomicBool>,
    saliency: Arc<Mutex<Vec<SaliencyCall>>>,
}

/// A saliency request the test classifier received: the image, the
/// request, and whether it was cancelled.
type SaliencyCall = (PathBuf, SaliencyRequest, Arc<AtomicBool>);

impl SlowClassifier {
    fn new(release: &Arc<AtomicBool>) -> Self {
        Self {
            manifest: manifest(),
            release: Arc::clone(release),
            saliency: Arc::default(),
        }
    }
}

struct RampPending {
    release: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
    image: Arc<Image>,
    request: SaliencyRequest,
    manifest: Manifest,
}

impl Pending<Heatmap> for RampPending {
    fn poll(&mut self) -> Option<Result<Heatmap, AiError>> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Some(Err(AiError::Cancelled));
        }
        if !self.release.load(Ordering::SeqCst) {
            return None;
        }
        let (w, h) = (self.image.pixels.columns, self.image.pixels.rows);
        let values = (0..w * h).map(|i| (i % w) as f32 / w as f32).collect();
        let target_label = self.request.target.clone().unwrap();
        Some(Ok(Heatmap {
            method: self.request.method,
            target_index: self
                .manifest
                .task
                .labels
                .iter()
                .position(|l| *l == target_label)
                .unwrap(),
            target_label,
            settings: "test ramp".into(),
            model: self.manifest.id.clone(),
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
        }))
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    fn progress(&self) -> Option<Progress> {
        Some(Progress { done: 3, total: 65 })
    }
}

struct SlowPending {
    release: Arc<AtomicBool>,
    manifest: Manifest,
    path: PathBuf,
}

impl Pending<Classification> for SlowPending {
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
    fn submit(&self, image: Arc<Image>) -> Box<dyn Pending<Classification>> {
        Box::new(SlowPending {
            release: Arc::clone(&self.release),
            manifest: self.manifest.clone(),
            path: image.path.clone(),
        })
    }

    fn submit_saliency(
        &self,
        image: Arc<Image>,
        request: SaliencyRequest,
    ) -> Box<dyn Pending<Heatmap>> {
        let cancelled = Arc::new(AtomicBool::new(false));
        self.saliency.lock().unwrap().push((
            image.path.clone(),
            request.clone(),
            Arc::clone(&cancelled),
        ));
        Box::new(RampPending {
            release: Arc::clone(&self.release),
            cancelled,
            image,
            request,
            manifest: self.manifest.clone(),
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
        AiAssist::new(Ok(Box::new(SlowClassifier::new(&release)))),
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

#[test]
fn the_heatmap_toggle_draws_the_overlay_and_a_switch_cancels_stale_work() {
    let release = Arc::new(AtomicBool::new(false));
    let classifier = SlowClassifier::new(&release);
    let requests = Arc::clone(&classifier.saliency);
    let viewer = Viewer::new(settings(), AiAssist::new(Ok(Box::new(classifier))));
    let mut h = harness(viewer);
    drop_files(&mut h, &[asset(CHEST), asset("assets/CT_small.dcm")]);
    step_until(&mut h, "both images", |v| {
        v.library.series.len() == 2 && v.displayed(0).is_some() && !v.loading()
    });
    let before = h.render().unwrap();
    let first = h.state().active_image().unwrap().path.clone();
    h.key_press(Key::H);
    h.step();
    h.step();
    // Running: the panel shows the progress the worker reports.
    h.get_by_label_contains("Computing heatmap… 3/65 occluded inputs");
    {
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].0, first);
        assert_eq!(requests[0].1.method, SaliencyMethod::GradCam);
        assert_eq!(requests[0].1.target.as_deref(), Some("PNEUMONIA"));
    }
    // Showing the other series cancels the first image's request and asks
    // for the new one.
    let other = h
        .state()
        .library
        .series
        .iter()
        .map(|s| s.key.clone())
        .find(|k| Some(k) != h.state().viewports[0].series.as_ref())
        .unwrap();
    h.state_mut().viewports[0].series = Some(other);
    h.step();
    h.step();
    {
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2, "no request for the new image");
        assert!(
            requests[0].2.load(Ordering::SeqCst),
            "the stale request was not cancelled"
        );
        assert_ne!(requests[1].0, first);
    }
    // Back to the first image, and the ramp arrives: drawn with its label.
    let back = h
        .state()
        .library
        .series
        .iter()
        .find(|s| h.state().library.images[s.stack[0].image].image.path == first)
        .unwrap()
        .key
        .clone();
    h.state_mut().viewports[0].series = Some(back);
    release.store(true, Ordering::SeqCst);
    step_until(&mut h, "the heatmap", |v| v.current_heatmap().is_some());
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
    h.key_press(Key::H);
    h.step();
    h.step();
    let hidden = h.render().unwrap();
    assert!(crop_mean_difference(&before, &hidden, c) < 1.0);
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

/// The longest a frame may take while the AI works in the background:
/// generous for a loaded machine, far below an inference batch, so a UI
/// thread that waited for the model would fail it.
const FRAME_BOUND: Duration = Duration::from_millis(200);

/// Steps frames with a bound on each: a watchdog ends the run if frames
/// stop altogether (a UI thread stuck joining a worker would otherwise
/// hang the test), and every frame's step must stay under [`FRAME_BOUND`].
struct Liveness {
    frames: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    slowest: Duration,
}

impl Liveness {
    fn start(what: &'static str) -> Self {
        let frames = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (seen, finished) = (Arc::clone(&frames), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut last = 0;
            while !finished.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(20));
                let now = seen.load(Ordering::SeqCst);
                if now == last && !finished.load(Ordering::SeqCst) {
                    eprintln!("the UI thread stopped producing frames: {what}");
                    std::process::exit(1);
                }
                last = now;
            }
        });
        Self {
            frames,
            done,
            slowest: Duration::ZERO,
        }
    }

    fn step(&mut self, h: &mut Harness<'static, Viewer>) {
        let start = Instant::now();
        h.step();
        let took = start.elapsed();
        self.frames.fetch_add(1, Ordering::SeqCst);
        self.slowest = self.slowest.max(took);
        assert!(
            took < FRAME_BOUND,
            "frame {} took {took:?}",
            self.frames.load(Ordering::SeqCst)
        );
    }

    /// Steps until `done` holds; fails after 120 s.
    fn until(
        &mut self,
        h: &mut Harness<'static, Viewer>,
        what: &str,
        done: impl Fn(&Viewer) -> bool,
    ) {
        let start = Instant::now();
        while !done(h.state()) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "timed out waiting for {what}"
            );
            self.step(h);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Liveness {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

#[test]
fn applying_ai_settings_during_an_occlusion_run_keeps_frames_coming() {
    let runtime = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let mut viewer = Viewer::new(settings(), AiAssist::with_model(None, runtime));
    viewer.heatmaps.method = SaliencyMethod::Occlusion;
    let mut h = harness(viewer);
    drop_files(&mut h, &[asset(CHEST)]);
    step_until(&mut h, "the image", |v| v.displayed(0).is_some());
    h.get_by_label("View").click();
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("Settings…").click();
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("Apply AI settings");

    let mut live = Liveness::start("applying AI settings during an occlusion run");
    h.state_mut().heatmaps.visible = true;
    live.until(&mut h, "the occlusion run under way", |v| {
        v.heatmaps
            .progress()
            .is_some_and(|p| p.total > 0 && p.done < p.total)
    });
    assert_eq!(
        h.state().heatmaps.running_key().map(|k| k.method),
        Some(SaliencyMethod::Occlusion)
    );
    // Apply while the old worker is inside its occlusion batches: its
    // tickets are cancelled and it is dropped without the UI waiting.
    h.get_by_label("Apply AI settings").click();
    live.step(&mut h);
    live.until(&mut h, "the new AI", |v| !v.applying_ai_settings());
    // The new worker loads the model and runs the heatmap asked for.
    live.until(&mut h, "the new worker's occlusion progress", |v| {
        v.heatmaps.progress().is_some_and(|p| p.done > 0)
    });
    let status = h.state().ai.status();
    assert!(status.starts_with("onnxruntime on "), "{status}");
    // A different ONNX Runtime library cannot be loaded into this process:
    // the settings say plainly that it applies after a restart.
    h.state_mut().settings.ort_library = Some(PathBuf::from("/elsewhere/libonnxruntime.so"));
    live.step(&mut h);
    live.step(&mut h);
    h.get_by_label_contains("/elsewhere/libonnxruntime.so applies after a restart");
    eprintln!(
        "slowest of {} frames: {:?}",
        live.frames.load(Ordering::SeqCst),
        live.slowest
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

#[test]
fn the_shipped_ai_starts_once_the_first_image_is_shown() {
    // Frames run by hand on a bare egui context (no renderer), so the
    // first frame comes right after the launch opens its paths.
    let ctx = egui::Context::default();
    let mut viewer =
        Viewer::new(settings(), AiAssist::new(Err(String::new()))).with_ai_after_first_image();
    viewer.open(&ctx, vec![asset(CHEST)]);
    let frame = |viewer: &mut Viewer| {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                Pos2::ZERO,
                egui::vec2(1280.0, 800.0),
            )),
            ..Default::default()
        };
        // No renderer takes the textures: they are dropped on purpose.
        ctx.run_ui(input, |ui| viewer.show(ui))
            .textures_delta
            .clear();
    };
    // Until (and in) the frame that first shows the image, the AI is not
    // even being read.
    let start = Instant::now();
    let mut frames = 0;
    loop {
        frame(&mut viewer);
        frames += 1;
        assert!(
            viewer.ai.model().is_none(),
            "the AI started before the image"
        );
        if viewer.displayed(0).is_some() {
            break;
        }
        assert!(
            !viewer.applying_ai_settings(),
            "the AI started before the image"
        );
        assert!(
            viewer
                .ai
                .status()
                .contains("starts once the first image is shown")
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no image");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(frames > 1, "the image was decoded before the first frame");
    assert!(
        viewer.applying_ai_settings(),
        "the AI did not start with the first image"
    );
    // Then it loads, and works.
    let mut h = harness(viewer);
    step_until(&mut h, "the AI after the first image", |v| {
        v.ai.model().is_some()
    });
    assert_eq!(h.state().ai.model().unwrap().id, "pneumonia-xception");
    h.key_press(Key::A);
    step_until(&mut h, "the classification", |v| v.ai.cached() == 1);
    h.get_by_label_contains("PNEUMONIA: probability");
}
