//! The worklist: results of `hilum triage` (run here with the default
//! model over bundled X-rays, the corpus CT and a broken file) dropped on
//! the viewer open as a list sorted by PNEUMONIA probability, most
//! suspicious first; Enter opens the next unread study; the read status is
//! saved beside the results and read back by a new viewer; the filters
//! keep out-of-scope and failed studies apart.

use super::*;

use hilum::triage::worklist::{Filter, read_status_path};
use std::process::Command;

const XRAYS: [&str; 4] = [
    "assets/chest-xray/NORMAL2-IM-1427-0001.jpeg",
    "assets/chest-xray/NORMAL2-IM-1436-0001.jpeg",
    "assets/chest-xray/person1946_bacteria_4874.jpeg",
    "assets/chest-xray/person1950_bacteria_4881.jpeg",
];

/// `hilum triage` over the X-rays, CT_small and a broken file.
fn triage(dir: &Path) -> PathBuf {
    let broken = dir.join("broken.dcm");
    std::fs::write(&broken, b"DICM? not really").unwrap();
    let out = dir.join("results.jsonl");
    let run = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .arg("triage")
        .args(XRAYS.map(asset))
        .arg(asset("assets/CT_small.dcm"))
        .arg(&broken)
        .arg("--out")
        .arg(&out)
        .args(["--threads", "2", "--ep", "cpu"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// The X-rays by their PNEUMONIA probability in the results, highest first.
fn most_suspicious_first(results: &Path) -> Vec<PathBuf> {
    let mut xrays: Vec<(f64, PathBuf)> = std::fs::read_to_string(results)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["path"].as_str().unwrap().ends_with(".jpeg"))
        .map(|l| {
            (
                l["probabilities"]["PNEUMONIA"].as_f64().unwrap(),
                PathBuf::from(l["path"].as_str().unwrap()),
            )
        })
        .collect();
    xrays.sort_by(|a, b| b.0.total_cmp(&a.0));
    xrays.into_iter().map(|(_, p)| p).collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn shown_path(viewer: &Viewer) -> Option<PathBuf> {
    viewer.active_image().map(|i| i.path.clone())
}

#[test]
fn triage_results_open_as_a_worklist_and_enter_opens_the_next_unread_study() {
    let dir = tempfile::tempdir().unwrap();
    let results = triage(dir.path());
    let expected = most_suspicious_first(&results);
    assert_eq!(expected.len(), 4);

    let mut h = harness(viewer_without_ai());
    drop_files(&mut h, std::slice::from_ref(&results));
    step_until(&mut h, "the worklist", |v| v.worklist.list.is_some());
    wait_for_label(&mut h, "6 studies, 6 unread");
    assert!(shown_path(h.state()).is_none(), "nothing opens by itself");
    let rows: Vec<String> = {
        let panel = &h.state().worklist;
        let list = panel.list.as_ref().unwrap();
        panel
            .order()
            .iter()
            .map(|&r| list.rows[r].paths[0].clone())
            .collect()
    };
    let mut want: Vec<String> = expected.iter().map(|p| p.display().to_string()).collect();
    want.push(asset("assets/CT_small.dcm").display().to_string());
    want.push(dir.path().join("broken.dcm").display().to_string());
    assert_eq!(
        rows, want,
        "X-rays by probability, then out of scope, then failed"
    );
    assert_eq!(
        h.state().worklist.sort_label().as_deref(),
        Some("PNEUMONIA")
    );
    // The most suspicious row is drawn with its probability.
    wait_for_label(&mut h, &file_name(&expected[0]));

    for (k, path) in expected.iter().take(2).enumerate() {
        h.key_press(Key::Enter);
        step_until(&mut h, &format!("study {k} on screen"), |v| {
            shown_path(v).as_deref() == Some(path.as_path())
        });
        let panel = &h.state().worklist;
        let row = panel.order()[k];
        assert_eq!(panel.current, Some(row), "the {k}-th row is current");
        assert!(panel.list.as_ref().unwrap().is_read(row));
    }
    wait_for_label(&mut h, "6 studies, 4 unread");

    // The status is saved beside the results, not in them.
    let status = read_status_path(&results);
    let start = Instant::now();
    while std::fs::read_to_string(&status)
        .map(|t| serde_json::from_str::<Vec<String>>(&t).map_or(0, |v| v.len()))
        .unwrap_or(0)
        < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no read status saved"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Filters.
    let keep = |h: &mut Harness<'static, Viewer>, filter: Filter| {
        h.state_mut().worklist.filter = filter;
        h.step();
        let panel = &h.state().worklist;
        let list = panel.list.as_ref().unwrap();
        panel
            .order()
            .iter()
            .map(|&r| file_name(Path::new(&list.rows[r].paths[0])))
            .collect::<Vec<_>>()
    };
    assert_eq!(keep(&mut h, Filter::OutOfScope), ["CT_small.dcm"]);
    wait_for_label(&mut h, "Outside the model's scope");
    assert_eq!(keep(&mut h, Filter::Failed), ["broken.dcm"]);
    wait_for_label(&mut h, "Failed: ");
    assert_eq!(keep(&mut h, Filter::InScope).len(), 4);

    // A new viewer reads the status back: Enter opens the third.
    let mut again = harness(viewer_without_ai());
    drop_files(&mut again, std::slice::from_ref(&results));
    step_until(&mut again, "the worklist again", |v| {
        v.worklist.list.is_some()
    });
    wait_for_label(&mut again, "6 studies, 4 unread");
    again.key_press(Key::Enter);
    let third = expected[2].clone();
    step_until(&mut again, "the third study", |v| {
        shown_path(v).as_deref() == Some(third.as_path())
    });
}

#[test]
fn the_next_unread_study_is_loaded_classified_and_mapped_ahead_so_enter_shows_it_ready() {
    let dir = tempfile::tempdir().unwrap();
    let results = triage(dir.path());
    let expected = most_suspicious_first(&results);
    let runtime = RuntimeSettings {
        engine: EngineChoice::Onnxruntime,
        ep: EpChoice::Cpu,
        ..RuntimeSettings::default()
    };
    let classifier = WorkerClassifier::spawn(manifest(), runtime);
    let settings = Settings {
        hanging_protocols: false,
        ..Settings::default()
    };
    let mut h = harness(Viewer::new(
        settings,
        AiAssist::new(Ok(Box::new(classifier))),
    ));
    h.state_mut().heatmaps.visible = true;
    drop_files(&mut h, std::slice::from_ref(&results));
    step_until(&mut h, "the worklist", |v| v.worklist.list.is_some());
    h.key_press(Key::Enter);
    let first = expected[0].clone();
    step_until(&mut h, "the first study on screen", |v| {
        shown_path(v).as_deref() == Some(first.as_path())
    });
    // While the first is read, the second is loaded, classified and its
    // heatmap made, after the first's.
    let ready = |v: &Viewer, path: &Path| {
        let Some(index) = v.library.index_of(path) else {
            return false;
        };
        let image = &v.library.images[index].image;
        let key = v.heatmaps.key(image, 0, v.ai.model().unwrap());
        matches!(v.ai.view(image), hilum::app::ai_assist::AiView::Done(_))
            && v.heatmaps.cached(&key).is_some_and(|m| m.is_ok())
    };
    let next = expected[1].clone();
    step_until(&mut h, "the next study ready ahead", |v| {
        ready(v, &first) && ready(v, &next)
    });
    assert_eq!(
        h.state().worklist.ahead.as_ref().map(|f| f[0].clone()),
        Some(next.clone())
    );
    // Enter shows it with its result and heatmap in the next frame.
    h.key_press(Key::Enter);
    h.step();
    let v = h.state();
    assert_eq!(shown_path(v).as_deref(), Some(next.as_path()));
    assert!(ready(v, &next));
}

/// Names, sizes and modification times of the files in `dir`.
fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
                m.modified().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_folder_triaged_from_the_viewer_opens_as_its_worklist_and_leaves_the_folder_alone() {
    let source = tempfile::tempdir().unwrap();
    for xray in &XRAYS[..3] {
        let from = asset(xray);
        std::fs::copy(&from, source.path().join(from.file_name().unwrap())).unwrap();
    }
    std::fs::write(source.path().join("broken.dcm"), b"DICM? not really").unwrap();
    let before = listing(source.path());
    let results = tempfile::tempdir().unwrap();
    let mut h = harness(viewer_without_ai());
    h.state_mut().worklist.triage_dir = Some(results.path().to_path_buf());
    let ctx = h.ctx.clone();
    h.state_mut()
        .triage_folder(&ctx, source.path().to_path_buf());
    step_until(&mut h, "the triage's worklist", |v| {
        v.worklist.list.as_ref().is_some_and(|l| l.rows.len() == 4)
    });
    let note = h.state().worklist.run_note.clone().unwrap();
    assert!(
        note.contains("done: 4 images (1 failed, 0 outside the model's scope), 0 already there"),
        "{note}"
    );
    wait_for_label(&mut h, "4 studies, 4 unread");
    // The results are in the triage folder, one line per image; the
    // source folder is as it was.
    let written: Vec<PathBuf> = std::fs::read_dir(results.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(
        std::fs::read_to_string(&written[0])
            .unwrap()
            .lines()
            .count(),
        4
    );
    assert_eq!(listing(source.path()), before);

    // The same folder again goes on from its results: nothing is redone.
    h.state_mut()
        .triage_folder(&ctx, source.path().to_path_buf());
    step_until(&mut h, "the second run", |v| {
        v.worklist.run.is_none()
            && v.worklist
                .run_note
                .as_deref()
                .is_some_and(|n| n.contains("4 already there"))
    });
    assert_eq!(
        std::fs::read_to_string(&written[0])
            .unwrap()
            .lines()
            .count(),
        4
    );
}
