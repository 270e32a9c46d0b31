//! Benchmarks of the core imaging layer.
//!
//! * `decode_render/<file>`: load + render frame 0 (file's default window)
//!   of every corpus file that the reference says decodes.
//! * `series_scan_500/*`: header scan (1 and N threads) + series assembly,
//!   and full pixel load, of a generated 500-slice CT series.
//! * `render_window_3000x3000/*`: rendering a 3000×3000 16-bit frame with a
//!   new window each iteration.
//!
//! The corpus is `$HILUM_CORPUS`, else `../shared/corpus/dicom` relative to
//! the crate root. Run with `cargo bench --bench imaging`.
//!
//! With `HILUM_BENCH_CPU_TIME=1` (Linux), `decode_render` and
//! `render_window_3000x3000` measure process CPU time instead of wall time:
//! steadier on a machine shared with other work. `series_scan_500` always
//! measures wall time (its multi-threaded variants are about wall time).

mod generate;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput};
use generate::{SIDE, SLICES, write_big, write_series};
use hilum::imaging::render::render_gray;
use hilum::imaging::series::{SliceOrdering, assemble};
use hilum::imaging::voi::{Voi, Window};
use hilum::imaging::{
    FrameSelection, LoadOptions, WindowChoice, load_many, load_path, render_frame,
};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("HILUM_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dicom"),
    }
}

/// The corpus files that `reference.json` marks as decoding.
fn decodable_files(corpus: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(corpus.join("reference.json"))
        .unwrap_or_else(|e| panic!("reading {}/reference.json: {e}", corpus.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference.json is JSON");
    json["files"]
        .as_array()
        .expect("reference.json has files[]")
        .iter()
        .filter(|f| f["decodes"].as_bool() == Some(true))
        .filter_map(|f| f["file"].as_str().map(str::to_string))
        .collect()
}

fn frame0() -> LoadOptions {
    LoadOptions {
        frames: FrameSelection::Only(0),
        ..Default::default()
    }
}

fn bench_decode_render<M: Measurement>(c: &mut Criterion<M>) {
    let corpus = corpus_dir();
    let mut group = c.benchmark_group("decode_render");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    for name in decodable_files(&corpus) {
        let path = corpus.join(&name);
        // Check once outside the timing; a file hilum cannot load is reported
        // and skipped rather than aborting the whole run.
        let checked = load_path(&path, &frame0())
            .and_then(|image| render_frame(&image, 0, &WindowChoice::FileDefault).map(|_| ()));
        if let Err(e) = checked {
            eprintln!("decode_render: skipping {name}: {e}");
            continue;
        }
        group.bench_with_input(BenchmarkId::from_parameter(&name), &path, |b, path| {
            b.iter(|| {
                let image = load_path(path, &frame0()).expect("loads");
                let rendered =
                    render_frame(&image, 0, &WindowChoice::FileDefault).expect("renders");
                black_box(rendered)
            })
        });
    }
    group.finish();
}

fn available_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn scan_and_assemble(dir: &Path, threads: usize) -> Vec<hilum::imaging::series::Patient> {
    let report = load_many(
        &[dir.to_path_buf()],
        &LoadOptions {
            frames: FrameSelection::None,
            ..Default::default()
        },
        threads,
    );
    assemble(&report.images)
}

fn bench_series_scan(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("series");
    std::fs::create_dir(&dir).expect("series dir");
    write_series(&dir, SLICES);

    // Correctness, outside the timing.
    let patients = scan_and_assemble(&dir, available_threads());
    let all: Vec<_> = patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
        .collect();
    assert_eq!(all.len(), 1, "one series");
    let series = all[0];
    assert_eq!(series.instances.len(), SLICES, "500 instances");
    assert_eq!(series.ordering, SliceOrdering::SlicePosition);
    for (i, inst) in series.instances.iter().enumerate() {
        assert_eq!(
            inst.instance_number,
            Some(i as i64 + 1),
            "slice {i} in order"
        );
        let z = inst.slice_position.expect("position known");
        assert!((z - i as f64 * 1.25).abs() < 1e-6, "slice {i} at z={z}");
    }
    let full = load_many(
        std::slice::from_ref(&dir),
        &LoadOptions::default(),
        available_threads(),
    );
    assert_eq!(full.images.len(), SLICES);
    assert!(full.errors.is_empty(), "{:?}", full.errors);

    let n = available_threads();
    let mut group = c.benchmark_group("series_scan_500");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut counts = vec![1];
    if n > 1 {
        counts.push(n);
    }
    for &threads in &counts {
        group.bench_with_input(
            BenchmarkId::new("headers", format!("{threads}t")),
            &threads,
            |b, &t| b.iter(|| black_box(scan_and_assemble(&dir, t))),
        );
    }
    for &threads in &counts {
        group.bench_with_input(
            BenchmarkId::new("full_load", format!("{threads}t")),
            &threads,
            |b, &t| {
                b.iter(|| {
                    black_box(load_many(
                        std::slice::from_ref(&dir),
                        &LoadOptions::default(),
                        t,
                    ))
                })
            },
        );
    }
    group.finish();
}

fn bench_render_window<M: Measurement>(c: &mut Criterion<M>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("render_window_3000x3000");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for bits in [12u16, 16] {
        let path = tmp.path().join(format!("big{bits}.dcm"));
        write_big(&path, bits);
        let image = load_path(&path, &LoadOptions::default()).expect("big image loads");
        assert_eq!((image.pixels.rows, image.pixels.columns), (SIDE, SIDE));
        assert_eq!(image.pixels.bits_stored, bits);
        assert!(image.pixels.photometric.is_monochrome());
        group.bench_function(BenchmarkId::new("bits_stored", bits), |b| {
            let mut k: u64 = 0;
            b.iter(|| {
                // A new window every iteration: center sweeps -200..200 HU.
                k += 1;
                let center = -200.0 + (k % 400) as f64;
                let voi = Voi::Window(Window::linear(center, 400.0));
                black_box(render_gray(&image, 0, &voi).expect("renders"))
            })
        });
    }
    group.finish();
}

/// Process CPU time (user + system, all threads), from
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`.
struct CpuTime;

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_time() -> Duration {
    panic!("HILUM_BENCH_CPU_TIME is only supported on 64-bit Linux")
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        process_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        process_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

/// Formats nanoseconds like criterion's wall-time formatter (no throughput).
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "(no throughput)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn main() {
    let cpu_time = std::env::var("HILUM_BENCH_CPU_TIME").is_ok_and(|v| !v.is_empty() && v != "0");
    if cpu_time {
        let mut cpu = Criterion::default()
            .with_measurement(CpuTime)
            .configure_from_args();
        bench_decode_render(&mut cpu);
        let mut wall = Criterion::default().configure_from_args();
        bench_series_scan(&mut wall);
        bench_render_window(&mut cpu);
        cpu.final_summary();
        wall.final_summary();
    } else {
        let mut criterion = Criterion::default().configure_from_args();
        bench_decode_render(&mut criterion);
        bench_series_scan(&mut criterion);
        bench_render_window(&mut criterion);
        criterion.final_summary();
    }
}
