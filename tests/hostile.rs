//! Hostile files, generated here: none may abort the process, exhaust
//! memory or hang. Each goes through the real binary (`hilum info FILE`)
//! under an 8 GB address-space limit and a 30 s deadline, and must exit 1
//! with one stderr line naming the file and the reason; in a folder load the
//! good file beside them is still listed.

mod common;
#[path = "support/dicom_bytes.rs"]
mod dicom_bytes;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::corpus_dir;
use dicom_bytes::{
    EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, el, encapsulated, item_header, long_header, part10,
    sop_part, text, uid,
};
use hilum::ImagingErrorKind;
use hilum::imaging::{self, FrameSelection, LoadOptions};

/// The image attributes of a gray 8-bit `rows` × `columns` image declaring
/// `frames` frames (as Number of Frames text).
fn gray8_header(rows: u16, columns: u16, frames: &str) -> Vec<u8> {
    let mut d = sop_part();
    d.extend(image_part(rows, columns, frames));
    d
}

/// The image pixel module of [`gray8_header`] (group 0028).
fn image_part(rows: u16, columns: u16, frames: &str) -> Vec<u8> {
    let mut d = el(0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    d.extend(el(0x0028, 0x0004, b"CS", &text("MONOCHROME2")));
    d.extend(el(0x0028, 0x0008, b"IS", &text(frames)));
    d.extend(el(0x0028, 0x0010, b"US", &rows.to_le_bytes()));
    d.extend(el(0x0028, 0x0011, b"US", &columns.to_le_bytes()));
    d.extend(el(0x0028, 0x0100, b"US", &8u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0101, b"US", &8u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0102, b"US", &7u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0103, b"US", &0u16.to_le_bytes()));
    d
}

/// `frames` frames of one pixel, with two bytes of native pixel data.
fn huge_frames_native(frames: &str) -> Vec<u8> {
    let mut d = gray8_header(1, 1, frames);
    d.extend(el(0x7FE0, 0x0010, b"OB", &[7, 9]));
    part10(EXPLICIT_LE, &d)
}

/// 2^31 - 1 JPEG frames with a single (empty-table) fragment.
fn huge_frames_encapsulated() -> Vec<u8> {
    let mut d = gray8_header(1, 1, "2147483647");
    d.extend(encapsulated(&[&[0xFF, 0xD8, 0xFF, 0xD9]]));
    part10(JPEG_BASELINE, &d)
}

/// 65535 × 65535 RGB, 32 bits, 999999999999 frames: the size product does
/// not fit in 64 bits.
fn overflowing_size() -> Vec<u8> {
    let mut d = el(0x0008, 0x0016, b"UI", &uid("1.2.840.10008.5.1.4.1.1.7"));
    d.extend(el(0x0028, 0x0002, b"US", &3u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0004, b"CS", &text("RGB")));
    d.extend(el(0x0028, 0x0006, b"US", &0u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0008, b"IS", &text("999999999999")));
    d.extend(el(0x0028, 0x0010, b"US", &65535u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0011, b"US", &65535u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0100, b"US", &32u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0101, b"US", &32u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0102, b"US", &31u16.to_le_bytes()));
    d.extend(el(0x0028, 0x0103, b"US", &0u16.to_le_bytes()));
    d.extend(el(0x7FE0, 0x0010, b"OB", &[0; 12]));
    part10(EXPLICIT_LE, &d)
}

const LEVELS: usize = 200_000;
/// Referenced Series Sequence: a standard SQ attribute.
const SEQ: (u16, u16) = (0x0008, 0x1115);

/// Sequences nested `LEVELS` deep, every sequence and item of defined
/// length (written outside-in: each length is known arithmetically).
fn nested_defined() -> Vec<u8> {
    nested_defined_levels(LEVELS)
}

/// A valid image with `levels` nested sequences of defined length.
fn nested_defined_levels(levels: usize) -> Vec<u8> {
    let mut d = sop_part();
    // Each level is a 12-byte SQ header and an 8-byte item header.
    for k in 0..levels {
        let inner = ((levels - 1 - k) * 20) as u32;
        d.extend(long_header(SEQ.0, SEQ.1, Some(b"SQ"), inner + 8));
        d.extend(item_header(0xE000, inner));
    }
    d.extend(image_part(1, 1, "1"));
    d.extend(el(0x7FE0, 0x0010, b"OB", &[1, 0]));
    part10(EXPLICIT_LE, &d)
}

/// Sequences nested `LEVELS` deep with undefined lengths, closed by their
/// delimiters, in `ts` (explicit or implicit VR little endian).
fn nested_undefined(ts: &str) -> Vec<u8> {
    let explicit = ts == EXPLICIT_LE;
    let mut d = Vec::new();
    for _ in 0..LEVELS {
        d.extend(long_header(
            SEQ.0,
            SEQ.1,
            explicit.then_some(b"SQ"),
            u32::MAX,
        ));
        d.extend(item_header(0xE000, u32::MAX));
    }
    for _ in 0..LEVELS {
        d.extend(item_header(0xE00D, 0));
        d.extend(item_header(0xE0DD, 0));
    }
    if explicit {
        let mut header = sop_part();
        header.extend(d);
        header.extend(image_part(1, 1, "1"));
        header.extend(el(0x7FE0, 0x0010, b"OB", &[1, 0]));
        part10(ts, &header)
    } else {
        part10(ts, &d)
    }
}

/// Three million empty private elements before the pixel data.
fn many_elements() -> Vec<u8> {
    let mut d = gray8_header(1, 1, "1");
    d.reserve(3_000_000 * 8 + 64);
    for i in 0..3_000_000u32 {
        let group = 0x0029 + 2 * (i / 65536) as u16;
        d.extend_from_slice(&group.to_le_bytes());
        d.extend_from_slice(&((i % 65536) as u16).to_le_bytes());
        d.extend_from_slice(b"SH\0\0");
    }
    d.extend(el(0x7FE0, 0x0010, b"OB", &[1, 0]));
    part10(EXPLICIT_LE, &d)
}

/// The hostile files, by name, with a word the error must contain.
fn hostile_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let cases: Vec<(&str, Vec<u8>, &'static str)> = vec![
        (
            "huge_frames.dcm",
            huge_frames_native("2147483647"),
            "frames",
        ),
        (
            "few_pixels_many_frames.dcm",
            huge_frames_native("1000000"),
            "NumberOfFrames",
        ),
        ("huge_frames_jpeg.dcm", huge_frames_encapsulated(), "frames"),
        ("overflow.dcm", overflowing_size(), "overflows"),
        ("nested_defined.dcm", nested_defined(), "nested"),
        (
            "nested_undefined.dcm",
            nested_undefined(EXPLICIT_LE),
            "nested",
        ),
        (
            "nested_implicit.dcm",
            nested_undefined(IMPLICIT_LE),
            "nested",
        ),
        ("many_elements.dcm", many_elements(), "elements"),
    ];
    cases
        .into_iter()
        .map(|(name, bytes, reason)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (path, reason)
        })
        .collect()
}

/// Runs `hilum ARGS` under `ulimit -v 8000000` (8 GB) and kills it after
/// 30 s; the test fails on a timeout.
fn bounded_hilum(args: &[&Path]) -> Output {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -v 8000000; exec \"$0\" info \"$@\"")
        .arg(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("sh runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return child.wait_with_output().expect("output is read");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hilum info {args:?} ran past 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// A child writing more than a pipe buffer before exiting would block the
// loop above; `hilum info` on these files writes one line or a folder's
// JSON-per-line summary, well under 64 KiB.

#[test]
fn each_hostile_file_fails_cleanly_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    for (path, reason) in hostile_files(dir.path()) {
        let out = bounded_hilum(&[&path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            None,
            "{}: killed by a signal; stderr: {stderr}",
            path.display()
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: exit status {:?}; stderr: {stderr}",
            path.display(),
            out.status
        );
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{}: stderr {stderr:?}", path.display());
        assert!(
            lines[0].contains(&path.display().to_string()) && lines[0].contains(reason),
            "{}: stderr line {:?} should name the file and say {reason:?}",
            path.display(),
            lines[0]
        );
    }
}

#[test]
fn a_folder_load_lists_the_good_file_beside_hostile_ones() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_files(dir.path());
    let good = dir.path().join("good.dcm");
    std::fs::copy(corpus_dir().join("CT_small.dcm"), &good).unwrap();
    let out = bounded_hilum(&[dir.path()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), None, "stderr: {stderr}");
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stdout.contains(&good.display().to_string()),
        "the good file is listed: {stdout}"
    );
    for (path, _) in &hostile {
        let name = path.display().to_string();
        assert_eq!(
            stderr.lines().filter(|l| l.contains(&name)).count(),
            1,
            "{name} is reported once: {stderr}"
        );
    }
}

#[test]
fn huge_frame_counts_are_refused_before_decoding_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frames.dcm");
    // A million one-pixel frames fit the pixel budget: the pixel data's
    // length refuses them.
    std::fs::write(&path, huge_frames_native("1000000")).unwrap();
    for frames in [
        FrameSelection::All,
        FrameSelection::Only(0),
        FrameSelection::None,
    ] {
        let options = LoadOptions {
            frames,
            ..LoadOptions::default()
        };
        let err = imaging::load_path(&path, &options).unwrap_err();
        assert!(
            matches!(
                err.kind,
                ImagingErrorKind::InvalidAttribute {
                    name: "NumberOfFrames",
                    ..
                }
            ),
            "{err}"
        );
    }
    // Frames that the pixel data does hold still load: two frames of one
    // pixel in two bytes.
    let mut d = gray8_header(1, 1, "2");
    d.extend(el(0x7FE0, 0x0010, b"OB", &[7, 9]));
    std::fs::write(&path, part10(EXPLICIT_LE, &d)).unwrap();
    let image = imaging::load_path(&path, &LoadOptions::default()).unwrap();
    assert_eq!(image.frames.len(), 2);
    assert_eq!(image.frame(1).unwrap().samples.get(0), Some(9));
}

#[test]
fn a_raster_declaring_huge_dimensions_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    // A real 4 × 4 RGB PNG whose header is patched to claim 60000 × 60000.
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 4, 4);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[9u8; 48]).unwrap();
    }
    bytes[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    let path = dir.path().join("huge.png");
    std::fs::write(&path, &bytes).unwrap();
    let out = bounded_hilum(&[&path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("huge.png") && stderr.contains("too large"),
        "{stderr}"
    );
    // A small budget is honoured for a picture that would otherwise load.
    let small = dir.path().join("small.png");
    image::RgbImage::from_pixel(20, 20, image::Rgb([1, 2, 3]))
        .save(&small)
        .unwrap();
    let tight = LoadOptions {
        max_pixel_bytes: 100,
        ..LoadOptions::default()
    };
    let err = imaging::load_path(&small, &tight).unwrap_err();
    assert!(matches!(err.kind, ImagingErrorKind::TooLarge(_)), "{err}");
    // The header-only read decodes nothing.
    let header = LoadOptions {
        frames: FrameSelection::None,
        ..LoadOptions::default()
    };
    let image = imaging::load_path(&small, &header).unwrap();
    assert_eq!(
        (image.pixels.columns, image.pixels.samples_per_pixel),
        (20, 3)
    );
    assert!(image.frames[0].is_none());
    assert!(imaging::load_path(&small, &LoadOptions::default()).is_ok());
}

#[test]
fn a_panicking_worker_reports_its_item_and_the_others_still_run() {
    let items: Vec<usize> = (0..20).collect();
    let results = std::sync::Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    imaging::run_pool(
        &items,
        4,
        Some(&stop),
        |&i| {
            if i == 7 {
                panic!("item seven");
            }
            i * 2
        },
        |i, r| results.lock().unwrap().push((i, r)),
    );
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(results.len(), 20);
    for (i, r) in results {
        if i == 7 {
            assert_eq!(r, Err("item seven".to_string()));
        } else {
            assert_eq!(r, Ok(i * 2));
        }
    }
    // A cancelled pool takes no item.
    stop.store(true, Ordering::Relaxed);
    let taken = std::sync::atomic::AtomicUsize::new(0);
    imaging::run_pool(
        &items,
        2,
        Some(&stop),
        |_| taken.fetch_add(1, Ordering::Relaxed),
        |_, _| {},
    );
    assert_eq!(taken.load(Ordering::Relaxed), 0);
}

#[test]
fn the_deepest_accepted_nesting_still_loads() {
    // 64 levels is what the pre-scan accepts: the recursive parser must get
    // through it on a loader thread's default stack.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.dcm");
    std::fs::write(&path, nested_defined_levels(64)).unwrap();
    let out = bounded_hilum(&[&path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&path, nested_defined_levels(65)).unwrap();
    let err = imaging::load_path(&path, &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nested"), "{err}");
}
