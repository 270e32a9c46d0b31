//! Every input the fuzz targets (`fuzz/`) have crashed on, replayed through
//! the same checks (`fuzz/checks.rs`), plus the committed seed corpora.
//!
//! Each input runs in a child process (this test binary, filtered to the
//! one test, the input named in `HILUM_FUZZ_CASE`) under a time bound and
//! an 8 GiB address-space bound, so an abort or a stack overflow fails that
//! one test instead of the whole binary. `load` inputs are also opened with
//! `hilum info`, which must exit 0, or 1 with an error naming the file.
//!
//! Adding a crash: copy the (minimised) artifact to
//! `tests/fuzz_regressions/<target>/<name>` and add a `regression!` line
//! below. Tests named `unfixed_*` replay crashes whose fix is still open:
//! they fail until the code is fixed, then get renamed.

#[path = "../fuzz/checks.rs"]
#[allow(dead_code)]
mod checks;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names the input a child process replays: `<target>:<path>`.
const CASE_ENV: &str = "HILUM_FUZZ_CASE";
/// The most one input may take (a debug build, on a loaded machine).
const TIME_LIMIT: Duration = Duration::from_secs(120);
/// Address-space bound of a child, in KiB (`ulimit -v`).
const MEMORY_LIMIT_KB: u64 = 8 << 20;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regressions() -> PathBuf {
    root().join("tests/fuzz_regressions")
}

fn check_of(target: &str) -> fn(&[u8]) {
    checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"))
        .1
}

/// How a bounded child process ended.
struct Finished {
    /// The exit code; `None` when killed by a signal or the time bound.
    code: Option<i32>,
    timed_out: bool,
    stderr: String,
}

/// Runs `program args` under the memory bound, killed after `TIME_LIMIT`.
fn run_bounded(program: &Path, args: &[&str], env: Option<(&str, &str)>) -> Finished {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KB} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("a child process starts");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + TIME_LIMIT;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break (Some(status), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        code: status.and_then(|s| s.code()),
        timed_out,
        stderr: reader.join().unwrap_or_default(),
    }
}

/// Replays `tests/fuzz_regressions/<target>/<file>`: in the child (when
/// `HILUM_FUZZ_CASE` is set) through the target's check; in the parent by
/// starting that child, and for `load` inputs also `hilum info`.
fn replay(test: &str, target: &str, file: &str) {
    let path = regressions().join(target).join(file);
    if let Ok(case) = std::env::var(CASE_ENV) {
        let (case_target, case_path) = case.split_once(':').expect("target:path");
        let data = std::fs::read(case_path).expect("the input is readable");
        check_of(case_target)(&data);
        return;
    }
    assert!(path.is_file(), "{} is missing", path.display());
    let case = format!("{target}:{}", path.display());
    let exe = std::env::current_exe().unwrap();
    let child = run_bounded(
        &exe,
        &[test, "--exact", "--nocapture", "--test-threads=1"],
        Some((CASE_ENV, &case)),
    );
    assert!(
        !child.timed_out && child.code == Some(0),
        "{target} check on {} {}:\n{}",
        path.display(),
        if child.timed_out {
            format!("took longer than {TIME_LIMIT:?}")
        } else {
            format!("failed (exit {:?})", child.code)
        },
        child.stderr
    );
    if target == "load" {
        let info = run_bounded(
            Path::new(env!("CARGO_BIN_EXE_hilum")),
            &["info", path.to_str().unwrap()],
            None,
        );
        let name = path.display().to_string();
        assert!(!info.timed_out, "hilum info {name} hung");
        match info.code {
            Some(0) => {}
            Some(1) => assert!(
                info.stderr.lines().any(|l| l.contains(&name))
                    && !info.stderr.contains("internal error")
                    && !info.stderr.contains("decoder crashed"),
                "hilum info {name}: not a clean error naming the file:\n{}",
                info.stderr
            ),
            code => panic!("hilum info {name} exited {code:?}:\n{}", info.stderr),
        }
    }
}

/// One test per committed input (`test => (target, file)`), and the list
/// of them that `every_committed_input_has_a_test` compares with the files.
macro_rules! regressions {
    ($($test:ident => ($target:literal, $file:literal),)*) => {
        $(
            #[test]
            fn $test() {
                replay(stringify!($test), $target, $file);
            }
        )*
        const LISTED: &[(&str, &str)] = &[$(($target, $file)),*];
    };
}

regressions! {
    // `rle::decode_frame` asked for 16 segments (4 samples of 4 bytes) read
    // a 17th header word past the 64-byte header: a panic. The header holds
    // at most 15 offsets, so more segments are now refused.
    rle_more_than_15_segments => ("rle", "sixteen-segments"),
    // Found by CI's 60 s libFuzzer run: the de-identification check walked
    // the guard in "implicit VR big endian" (no such syntax) while the
    // parser read implicit VR little endian, so the guard passed an element
    // declaring 3.9 GB in an 11-byte data set and the parser allocated it.
    // The check now walks the guard in the parser's encoding.
    deid_guard_and_parser_agree_on_byte_order => ("deid", "implicit-big-endian"),
}

#[test]
fn every_committed_input_has_a_test() {
    let mut unlisted = Vec::new();
    for (target, _) in checks::TARGETS {
        let dir = regressions().join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            if !LISTED.contains(&(target, name.as_str())) {
                unlisted.push(format!("{target}/{name}"));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "inputs without a regression! line: {unlisted:?}"
    );
}

#[test]
fn the_seed_corpora_pass_the_checks() {
    if let Ok(case) = std::env::var(CASE_ENV) {
        let (target, dir) = case.split_once(':').expect("target:dir");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            eprintln!("{target}: {}", path.display());
            check_of(target)(&std::fs::read(&path).unwrap());
        }
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (target, _) in checks::TARGETS {
        let dir = root().join("fuzz/corpus").join(target);
        let seeds = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .count();
        assert!(seeds > 0, "no seeds in {}", dir.display());
        let child = run_bounded(
            &exe,
            &[
                "the_seed_corpora_pass_the_checks",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ],
            Some((CASE_ENV, &format!("{target}:{}", dir.display()))),
        );
        assert!(
            !child.timed_out && child.code == Some(0),
            "{target} seeds fail the check:\n{}",
            child.stderr
        );
    }
}
