//! Pixel correctness on classes outside the reference corpus, each file
//! generated here and compared with pydicom's `pixel_array` and with the
//! values it was built from:
//! - pixel-description attributes stored with VR UN in an explicit VR file;
//! - RGB with 32 bits allocated (interleaved and planar);
//! - JPEG baseline RGB streams without a colour transform (Adobe APP14
//!   transform 0; no marker but component ids R, G, B), and a stream that
//!   says nothing, which must carry a warning.
//!
//! (The R, G, B ids case is compared with libjpeg through Pillow, since
//! pydicom itself cannot decode it.) pydicom, numpy and Pillow come from the
//! test venv (scripts/test.sh
//! provisions them); without them these tests fail, they never skip.

mod common;
#[path = "support/dicom_bytes.rs"]
mod dicom_bytes;

use common::python;

use std::path::Path;

use hilum::imaging::pixels::FrameKind;
use hilum::imaging::{self, LoadOptions, WindowChoice, render_frame};
use serde_json::Value;

use dicom_bytes::{EXPLICIT_LE, JPEG_BASELINE, el, encapsulated, part10, sop_part, text, us};

/// pydicom's `pixel_array` of `path`: shape and values widened to i64.
fn pydicom_pixels(path: &Path) -> (Vec<usize>, Vec<i64>) {
    reference_pixels(path, "pydicom.dcmread(path).pixel_array")
}

/// Pillow's (libjpeg's) decoding of the JPEG file `path`, with libjpeg's
/// own colour rules.
fn pillow_pixels(path: &Path) -> (Vec<usize>, Vec<i64>) {
    reference_pixels(path, "np.asarray(Image.open(path))")
}

/// The array `expression` (of `path`) computes in Python: shape and values
/// widened to i64.
fn reference_pixels(path: &Path, expression: &str) -> (Vec<usize>, Vec<i64>) {
    let script = format!(
        r#"
import json, sys
import numpy as np
import pydicom
from PIL import Image
path = sys.argv[1]
arr = {expression}
open(sys.argv[2], "wb").write(np.ascontiguousarray(arr).astype("<i8").tobytes())
print(json.dumps({{"shape": list(arr.shape), "dtype": str(arr.dtype)}}))
"#
    );
    let raw = path.with_extension("i64");
    let printed = python(&script, &[path.to_str().unwrap(), raw.to_str().unwrap()]);
    let v: Value = serde_json::from_str(printed.trim()).unwrap();
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let bytes = std::fs::read(&raw).unwrap();
    let values = bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (shape, values)
}

/// Hilum's frame 0 of `path`: its samples widened to i64, in numpy order
/// (rows, columns, samples).
fn hilum_pixels(path: &Path) -> (imaging::Image, Vec<i64>) {
    let image = imaging::load_path(path, &LoadOptions::default()).unwrap();
    let frame = image.frame(0).unwrap();
    let mut values = Vec::with_capacity(frame.samples.len());
    frame.samples.for_each_i64(|v| values.push(v));
    (image, values)
}

#[test]
fn pixel_attributes_stored_as_un_are_read_by_their_dictionary_vr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("un.dcm");
    // 3 × 4 signed 12-bit in 16, every pixel attribute as UN.
    let values: Vec<i16> = vec![-2048, -5, 0, 1, 7, 100, 2047, -1, 300, -300, 42, 1000];
    let un = |group, element, bytes: Vec<u8>| el(group, element, b"UN", &bytes);
    let mut d = sop_part();
    d.extend(un(0x0028, 0x0002, us(1)));
    d.extend(un(0x0028, 0x0004, text("MONOCHROME2")));
    d.extend(un(0x0028, 0x0010, us(3)));
    d.extend(un(0x0028, 0x0011, us(4)));
    d.extend(un(0x0028, 0x0100, us(16)));
    d.extend(un(0x0028, 0x0101, us(12)));
    d.extend(un(0x0028, 0x0102, us(11)));
    d.extend(un(0x0028, 0x0103, us(1)));
    d.extend(un(0x0028, 0x1050, text("40")));
    d.extend(un(0x0028, 0x1051, text("400")));
    d.extend(un(0x0028, 0x1052, text("-1024")));
    d.extend(un(0x0028, 0x1053, text("2")));
    let pixel_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    d.extend(el(0x7FE0, 0x0010, b"OW", &pixel_bytes));
    std::fs::write(&path, part10(EXPLICIT_LE, &d)).unwrap();

    let (image, got) = hilum_pixels(&path);
    let p = &image.pixels;
    assert_eq!((p.rows, p.columns), (3, 4));
    assert_eq!((p.bits_allocated, p.bits_stored, p.high_bit), (16, 12, 11));
    assert!(p.signed);
    assert_eq!(p.photometric_name, "MONOCHROME2");
    assert_eq!(image.rescale_present, (Some(2.0), Some(-1024.0)));
    let window = image.file_vois(0).first().cloned();
    assert!(
        matches!(window, Some(hilum::imaging::voi::Voi::Window(w)) if w.center == 40.0 && w.width == 400.0),
        "{window:?}"
    );
    let expected: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    assert_eq!(got, expected, "Hilum's samples are the constructed values");
    let (shape, reference) = pydicom_pixels(&path);
    assert_eq!(shape, vec![3, 4]);
    assert_eq!(got, reference, "Hilum agrees with pydicom");
}

/// The image pixel module of an unsigned RGB image with `bits` bits
/// allocated and stored.
fn rgb_module(rows: u16, columns: u16, bits: u16, planar: bool) -> Vec<u8> {
    let mut d = el(0x0028, 0x0002, b"US", &us(3));
    d.extend(el(0x0028, 0x0004, b"CS", &text("RGB")));
    d.extend(el(0x0028, 0x0006, b"US", &us(u16::from(planar))));
    d.extend(el(0x0028, 0x0010, b"US", &us(rows)));
    d.extend(el(0x0028, 0x0011, b"US", &us(columns)));
    d.extend(el(0x0028, 0x0100, b"US", &us(bits)));
    d.extend(el(0x0028, 0x0101, b"US", &us(bits)));
    d.extend(el(0x0028, 0x0102, b"US", &us(bits - 1)));
    d.extend(el(0x0028, 0x0103, b"US", &us(0)));
    d
}

/// A 2 × 3 RGB image of 32-bit samples, interleaved or planar.
fn rgb32(planar: bool) -> (Vec<u8>, Vec<i64>) {
    let pixels: Vec<[u32; 3]> = vec![
        [0, 1, 0xFFFF_FFFF],
        [0x8000_0000, 0x7FFF_FFFF, 123_456_789],
        [0xFFFF_FFFF, 0, 0x8000_0000],
        [65535, 65536, 1 << 24],
        [42, 4_000_000_000, 7],
        [0xDEAD_BEEF, 0x0BAD_F00D, 0xFFFF_0000],
    ];
    let stored: Vec<u32> = if planar {
        (0..3)
            .flat_map(|c| pixels.iter().map(move |p| p[c]))
            .collect()
    } else {
        pixels.iter().flatten().copied().collect()
    };
    let mut d = sop_part();
    d.extend(rgb_module(2, 3, 32, planar));
    let bytes: Vec<u8> = stored.iter().flat_map(|v| v.to_le_bytes()).collect();
    d.extend(el(0x7FE0, 0x0010, b"OW", &bytes));
    let expected = pixels.iter().flatten().map(|&v| v as i64).collect();
    (part10(EXPLICIT_LE, &d), expected)
}

#[test]
fn rgb_with_32_bits_allocated_decodes_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    for planar in [false, true] {
        let path = dir.path().join(format!("rgb32_{planar}.dcm"));
        let (file, expected) = rgb32(planar);
        std::fs::write(&path, file).unwrap();
        let (image, got) = hilum_pixels(&path);
        assert_eq!(image.frame(0).unwrap().kind, FrameKind::Rgb);
        assert_eq!(got, expected, "planar {planar}: the constructed values");
        let (shape, reference) = pydicom_pixels(&path);
        assert_eq!(shape, vec![2, 3, 3]);
        assert_eq!(got, reference, "planar {planar}: Hilum agrees with pydicom");
        // Display: each sample's full 32-bit range maps linearly onto 0..255,
        // as for 16-bit RGB.
        let rendered = render_frame(&image, 0, &WindowChoice::FileDefault).unwrap();
        assert_eq!(rendered.channels, 3);
        assert_eq!(&rendered.pixels[..3], &[0, 0, 255]);
        assert_eq!(&rendered.pixels[3..6], &[128, 127, 7]);
    }
}

/// Writes a 32 × 32 JPEG of four 16 × 16 colour blocks with Pillow, coded
/// as R, G, B (no colour transform), then rewrites its markers: `mode`
/// "adobe0" keeps the Adobe APP14 transform 0 and gives the components ids
/// 1, 2, 3; "rgb_ids" drops APP14 and keeps ids 'R', 'G', 'B'; "bare" drops
/// APP14 and uses ids 1, 2, 3 (the stream then says nothing).
const MAKE_JPEG: &str = r#"
import io, sys
from PIL import Image
mode, out = sys.argv[1], sys.argv[2]
im = Image.new("RGB", (32, 32))
for (x, y, c) in [(0, 0, (255, 0, 0)), (16, 0, (0, 255, 0)), (0, 16, (0, 0, 255)), (16, 16, (200, 100, 50))]:
    im.paste(c, (x, y, x + 16, y + 16))
buf = io.BytesIO()
im.save(buf, "JPEG", quality=100, subsampling=0, keep_rgb=True)
data = bytes(buf.getvalue())
out_bytes = bytearray(data[:2])
i = 2
while True:
    marker, n = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
    seg = bytearray(data[i:i + 2 + n])
    if marker == 0xDA:
        if mode != "rgb_ids":
            for k in range(3):
                seg[5 + 2 * k] = k + 1
        out_bytes += seg + data[i + 2 + n:]
        break
    if marker == 0xC0 and mode != "rgb_ids":
        for k in range(3):
            seg[10 + 3 * k] = k + 1
    if marker == 0xEE and mode != "adobe0":
        seg = b""
    assert not (marker == 0xE0 and seg[4:9] == b"JFIF\0"), "Pillow wrote JFIF for RGB"
    out_bytes += seg
    i += 2 + n
open(out, "wb").write(out_bytes)
"#;

fn jpeg_dicom(stream: &[u8]) -> Vec<u8> {
    let mut d = sop_part();
    d.extend(rgb_module(32, 32, 8, false));
    d.extend(encapsulated(&[stream]));
    part10(JPEG_BASELINE, &d)
}

#[test]
fn jpeg_rgb_streams_without_a_colour_transform_are_not_converted() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = [
        ((4usize, 4usize), [255i64, 0, 0]),
        ((20, 4), [0, 255, 0]),
        ((4, 20), [0, 0, 255]),
        ((20, 20), [200, 100, 50]),
    ];
    for mode in ["adobe0", "rgb_ids", "bare"] {
        let jpeg = dir.path().join(format!("{mode}.jpg"));
        python(MAKE_JPEG, &[mode, jpeg.to_str().unwrap()]);
        let path = dir.path().join(format!("{mode}.dcm"));
        std::fs::write(&path, jpeg_dicom(&std::fs::read(&jpeg).unwrap())).unwrap();
        let (image, got) = hilum_pixels(&path);
        for ((x, y), colour) in blocks {
            let i = (y * 32 + x) * 3;
            for c in 0..3 {
                assert!(
                    (got[i + c] - colour[c]).abs() <= 6,
                    "{mode}: pixel ({x},{y}) is {:?}, built as {colour:?}",
                    &got[i..i + 3]
                );
            }
        }
        // pydicom cannot decode a stream with ids R, G, B and no Adobe
        // marker (it asks Pillow for raw Y, Cb, Cr, which libjpeg refuses
        // for an RGB-coded stream): that one is compared with libjpeg's own
        // decoding of the stream through Pillow.
        let (shape, reference) = if mode == "rgb_ids" {
            pillow_pixels(&jpeg)
        } else {
            pydicom_pixels(&path)
        };
        assert_eq!(shape, vec![32, 32, 3]);
        let worst = got
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .max()
            .unwrap();
        assert!(
            worst <= 8,
            "{mode}: differs from the reference by up to {worst}"
        );
        // A stream that states its coding gets no warning; one that says
        // nothing is decoded as the header says, with a warning.
        if mode == "bare" {
            assert_eq!(
                image.pixels.warnings.len(),
                1,
                "{:?}",
                image.pixels.warnings
            );
            assert!(image.pixels.warnings[0].contains("no colour-space marker"));
            // A header-only load reports the same doubt.
            let header = imaging::load_path(
                &path,
                &LoadOptions {
                    frames: imaging::FrameSelection::None,
                    ..LoadOptions::default()
                },
            )
            .unwrap();
            assert_eq!(header.pixels.warnings, image.pixels.warnings);
        } else {
            assert!(
                image.pixels.warnings.is_empty(),
                "{mode}: {:?}",
                image.pixels.warnings
            );
        }
    }
}
