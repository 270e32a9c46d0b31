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
