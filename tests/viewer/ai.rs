//! The AI panel and heatmaps, and the UI thread staying live while the AI
//! works or is replaced.

use super::*;

/// A viewer (auto-run on) with the default model on ONNX Runtime's CPU
/// provider: the engine is chosen once per process, the same for every
/// test here.
fn viewer_with_model() -> Viewer {
    let settings = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let classifier = WorkerClassifier::spawn(manifest(), settings);
    Viewer::new(Settings::default(), AiAssist::new(Ok(Box::new(classifier))))
}

#[test]
fn the_ai_panel_shows_probabilities_against_the_operating_point() {
    let mut h = harness(viewer_with_model());
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
    // H asks the same worker for the model's Grad-CAM. On this image the
    // deletion test finds the map not faithful (hiding its top 10 % lowers
    // the log-odds far less than random pixels do): the panel says so in
    // words and the map is not drawn until the reader asks for it.
    h.get_by_label("Close model card").click();
    h.step();
    let before = h.render().unwrap();
    h.key_press(Key::H);
    wait_for_label(
        &mut h,
        "Not faithful: the map explains the prediction no better",
    );
    assert!(
        h.state().current_heatmap().is_none(),
        "drawn without asking"
    );
    h.step();
    let undrawn = h.render().unwrap();
    assert!(
        crop_mean_difference(&before, &undrawn, viewport_center(&h)) < 1.0,
        "an unfaithful map was drawn"
    );
    h.get_by_label("Show the unfaithful map anyway").click();
    h.step();
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
    assert!(heatmap.is_unfaithful());
    h.get_by_label_contains("Grad-CAM for PNEUMONIA");
    h.get_by_label_contains("not faithful: hiding the top 10%");
    h.get_by_label_contains("Faithfulness: deleting the top 10%");
    let after = h.render().unwrap();
    let diff = crop_mean_difference(&before, &after, viewport_center(&h));
    assert!(
        diff > 2.0,
        "the overlay did not show (mean difference {diff})"
    );
    // The export dialog writes the shown map as a Parametric Map.
    let out = tempfile::tempdir().unwrap();
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    h.step();
    h.get_by_label("Heatmap as DICOM Parametric Map").click();
    {
        let dialog = &mut h.state_mut().export;
        dialog.folder = out.path().display().to_string();
        dialog.base_name = "map".into();
        dialog.png = false;
        dialog.pdf = false;
    }
    h.step();
    h.get_by_label("Export now").click();
    step_until(&mut h, "the export", |v| v.export.outcome.is_some());
    let exported = h
        .state()
        .export
        .outcome
        .clone()
        .unwrap()
        .expect("export failed");
    let pmap = out.path().join("map-pmap.dcm");
    assert_eq!(exported.files, vec![pmap.clone()]);
    assert!(exported.parametric_map_uid.is_some());
    let object = dicom_object::open_file(&pmap).unwrap();
    let text = |tag| {
        object
            .element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(
        text(dicom_dictionary_std::tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.30"
    );
    assert!(
        text(dicom_dictionary_std::tags::CONTENT_DESCRIPTION).ends_with("not faithful"),
        "the verdict travels with the map"
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
                score: "log-odds from the model's logits",
                base_score: 2.197,
                salient_score_drop: 2.0,
                random_score_drops: vec![0.1, 0.2, 0.0],
                random_score_drop_mean: 0.1,
                random_score_drop_sd: 0.1,
                verdict: Verdict::Faithful,
                reason: "test".into(),
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
            in_scope: Some(true),
            scope_reasons: Vec::new(),
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
    // If the UI thread ever waited for the model, frames would stop (the
    // watchdog fails the run instead of hanging it) or one would be slow.
    let mut live = Liveness::start("inference pending");
    for _ in 0..30 {
        live.step(&mut h);
        assert!(h.state().ai.is_running());
    }
    drop(live);
    h.get_by_label("Classifying…");
    // The viewer stays usable meanwhile: keys still act.
    h.key_press(Key::I);
    h.step();
    assert!(h.state().viewports[0].view.invert);
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
    // (On a busy machine the image may already be in the first frame; the
    // AI still starts only at that frame's end.)
    eprintln!("the image was shown in frame {frames}");
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

#[test]
fn a_ct_is_not_run_automatically_and_run_anyway_shows_no_call() {
    // Auto-run on: the CT must still not be classified by itself.
    let mut h = harness(viewer_with_model());
    drop_files(&mut h, &[asset("assets/CT_small.dcm")]);
    step_until(&mut h, "the CT", |v| v.displayed(0).is_some());
    for _ in 0..20 {
        h.step();
    }
    assert_eq!(
        h.state().ai.cached(),
        0,
        "an out-of-scope image was run automatically"
    );
    assert!(!h.state().ai.is_running());
    h.get_by_label_contains("Outside the model's scope: not run automatically");
    h.get_by_label_contains("modality CT is outside the model's scope");
    // The reader runs it anyway: numbers muted under the words, no call.
    h.get_by_label("Run AI (A)").click();
    step_until(&mut h, "the classification", |v| v.ai.cached() == 1);
    h.get_by_label("Outside the model's scope — not interpretable");
    h.get_by_label_contains("PNEUMONIA: probability");
    assert!(
        h.query_by_label_contains("the model's operating point")
            .is_none(),
        "no call may be shown for an out-of-scope image"
    );
}
