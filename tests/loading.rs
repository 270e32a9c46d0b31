//! Loading beyond the corpus: raster X-rays, enhanced multi-frame objects,
//! VOI functions, inversion, guards against hostile headers, folders.

mod common;

use std::path::Path;

use common::*;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use hilum::ImagingErrorKind;
use hilum::imaging::pixels::Samples;
use hilum::imaging::voi::{Voi, Window};
use hilum::imaging::{self, FrameSelection, LoadOptions, WindowChoice, frame_stats, render_frame};

fn load(path: &Path) -> hilum::ImagingResult<hilum::imaging::Image> {
    imaging::load_path(path, &LoadOptions::default())
}

#[test]
fn png_16_bit_keeps_its_precision_and_auto_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xray16.png");
    let (w, h) = (64u32, 48u32);
    let pixels: Vec<u16> = (0..w * h).map(|i| (i * 13 % 4096) as u16 * 16).collect();
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, pixels.clone())
        .unwrap()
        .save(&path)
        .unwrap();
    let img = load(&path).unwrap();
    assert_eq!(img.pixels.bits_allocated, 16);
    assert_eq!(img.frame(0).unwrap().samples, Samples::U16(pixels.clone()));
    let stats = frame_stats(&img, 0).unwrap();
    assert_eq!(stats.min, *pixels.iter().min().unwrap() as f64);
    assert_eq!(stats.max, *pixels.iter().max().unwrap() as f64);
    // No window in a PNG: the default is min-max, so the extremes hit 0 and 255.
    let r = render_frame(&img, 0, &WindowChoice::FileDefault).unwrap();
    assert_eq!(r.channels, 1);
    assert_eq!(*r.pixels.iter().min().unwrap(), 0);
    assert_eq!(*r.pixels.iter().max().unwrap(), 255);
}

#[test]
fn png_8_bit_jpeg_and_tiff_16_load() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (40u32, 30u32);
    let gray8: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
    let png = dir.path().join("a.png");
    image::GrayImage::from_raw(w, h, gray8.clone())
        .unwrap()
        .save(&png)
        .unwrap();
    let img = load(&png).unwrap();
    assert_eq!(img.frame(0).unwrap().samples, Samples::U8(gray8.clone()));
    // 8-bit gray renders unchanged under a 0..255 window.
    let r = render_frame(
        &img,
        0,
        &WindowChoice::Explicit(Window::linear(128.0, 256.0)),
    )
    .unwrap();
    assert!(
        r.pixels
            .iter()
            .zip(&gray8)
            .all(|(a, b)| a.abs_diff(*b) <= 1)
    );

    let jpg = dir.path().join("b.jpg");
    let smooth: Vec<u8> = (0..w * h).map(|i| ((i % w) * 6) as u8).collect();
    image::GrayImage::from_raw(w, h, smooth.clone())
        .unwrap()
        .save(&jpg)
        .unwrap();
    let img = load(&jpg).unwrap();
    let Samples::U8(got) = &img.frame(0).unwrap().samples else {
        panic!("8-bit JPEG should load as U8");
    };
    let mad: f64 = got
        .iter()
        .zip(&smooth)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / got.len() as f64;
    assert!(mad < 3.0, "JPEG round trip too far off: {mad}");

    let tif = dir.path().join("c.tif");
    let gray16: Vec<u16> = (0..w * h).map(|i| (i * 50) as u16).collect();
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, gray16.clone())
        .unwrap()
        .save(&tif)
        .unwrap();
    let img = load(&tif).unwrap();
    assert_eq!(img.frame(0).unwrap().samples, Samples::U16(gray16));
}

#[test]
fn garbage_with_an_image_extension_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.png");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
    let err = load(&path).unwrap_err();
    assert!(err.to_string().contains("broken.png"), "{err}");
}

#[test]
fn a_header_claiming_huge_frames_is_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.dcm");
    let mut elements = gray16_header(60000, 60000, 1000, false);
    elements.push(pixel_data_u16(vec![0; 16]));
    write_dicom(&path, elements);
    let err = load(&path).unwrap_err();
    assert!(matches!(err.kind, ImagingErrorKind::TooLarge(_)), "{err}");
    assert!(err.to_string().contains("huge.dcm"));
}

#[test]
fn bits_stored_zero_and_high_bit_out_of_range_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, tag, value) in [
        ("bs0.dcm", tags::BITS_STORED, 0u16),
        ("hb.dcm", tags::HIGH_BIT, 16u16),
        ("ba.dcm", tags::BITS_ALLOCATED, 12u16),
    ] {
        let path = dir.path().join(name);
        let mut elements = gray16_header(4, 4, 1, false);
        elements.push(us(tag, value));
        elements.push(pixel_data_u16(vec![1; 16]));
        write_dicom(&path, elements);
        let err = load(&path).unwrap_err();
        assert!(
            matches!(err.kind, ImagingErrorKind::InvalidAttribute { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn short_native_pixel_data_is_truncated_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.dcm");
    let mut elements = gray16_header(8, 8, 2, false);
    elements.push(pixel_data_u16(vec![7; 64 + 10]));
    write_dicom(&path, elements);
    let img = imaging::load_path(
        &path,
        &LoadOptions {
            frames: FrameSelection::Only(0),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(img.frame(0).unwrap().samples.len(), 64);
    let err = load(&path).unwrap_err();
    assert!(
        matches!(err.kind, ImagingErrorKind::Truncated { .. }),
        "{err}"
    );
}

#[test]
fn signed_12_bit_in_16_is_sign_extended_and_high_bit_respected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s12.dcm");
    let mut elements = gray16_header(1, 4, 1, true);
    elements.push(us(tags::BITS_STORED, 12));
    elements.push(us(tags::HIGH_BIT, 11));
    // -1 and -2048 in 12 bits, with garbage above bit 11 that must be ignored.
    elements.push(pixel_data_u16(vec![
        0xF000 | 0x0FFF,
        0x0800,
        0x07FF,
        0xA005,
    ]));
    write_dicom(&path, elements);
    let img = load(&path).unwrap();
    assert_eq!(
        img.frame(0).unwrap().samples,
        Samples::I16(vec![-1, -2048, 2047, 5])
    );

    // High bit above bits stored: the value sits in bits 4..15.
    let path = dir.path().join("hb.dcm");
    let mut elements = gray16_header(1, 2, 1, false);
    elements.push(us(tags::BITS_STORED, 12));
    elements.push(us(tags::HIGH_BIT, 15));
    elements.push(pixel_data_u16(vec![0x1230, 0xFFF0]));
    write_dicom(&path, elements);
    let img = load(&path).unwrap();
    assert_eq!(
        img.frame(0).unwrap().samples,
        Samples::U16(vec![0x123, 0xFFF])
    );
}

#[test]
fn enhanced_multiframe_takes_rescale_and_window_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enhanced.dcm");
    let mut elements = gray16_header(2, 2, 2, false);
    elements.push(pixel_data_u16(vec![0, 10, 20, 30, 0, 10, 20, 30]));
    let frame_group = |slope: &str, intercept: &str, center: &str, width: &str| {
        item(vec![
            seq(
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                vec![item(vec![
                    text(tags::RESCALE_SLOPE, VR::DS, slope),
                    text(tags::RESCALE_INTERCEPT, VR::DS, intercept),
                    text(tags::RESCALE_TYPE, VR::LO, "US"),
                ])],
            ),
            seq(
                tags::FRAME_VOILUT_SEQUENCE,
                vec![item(vec![
                    text(tags::WINDOW_CENTER, VR::DS, center),
                    text(tags::WINDOW_WIDTH, VR::DS, width),
                ])],
            ),
        ])
    };
    elements.push(seq(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![
            frame_group("1", "0", "15", "31"),
            frame_group("2", "-100", "-70", "61"),
        ],
    ));
    write_dicom(&path, elements);
    let img = load(&path).unwrap();
    let s0 = frame_stats(&img, 0).unwrap();
    let s1 = frame_stats(&img, 1).unwrap();
    assert_eq!((s0.min, s0.max), (0.0, 30.0));
    assert_eq!((s1.min, s1.max), (-100.0, -40.0));
    let Voi::Window(w1) = &img.file_vois(1)[0] else {
        panic!()
    };
    assert_eq!((w1.center, w1.width), (-70.0, 61.0));
    // Each frame renders through its own rescale and window.
    for (frame, (slope, intercept, c, w)) in [(1.0, 0.0, 15.0, 31.0), (2.0, -100.0, -70.0, 61.0)]
        .into_iter()
        .enumerate()
    {
        let r = render_frame(&img, frame, &WindowChoice::FileDefault).unwrap();
        let want: Vec<u8> = [0.0, 10.0, 20.0, 30.0]
            .iter()
            .map(|s| {
                let y = Window::linear(c, w).apply(s * slope + intercept);
                (y * 255.0 + 0.5).floor() as u8
            })
            .collect();
        assert_eq!(r.pixels, want, "frame {frame}");
    }
}

/// An independent evaluation of PS3.3 C.11.2.1.2 for the VOI functions.
fn reference_voi(function: &str, x: f64, c: f64, w: f64) -> u8 {
    let y = match function {
        "LINEAR_EXACT" => {
            if x <= c - w / 2.0 {
                0.0
            } else if x > c + w / 2.0 {
                255.0
            } else {
                ((x - c) / w + 0.5) * 255.0
            }
        }
        "SIGMOID" => 255.0 / (1.0 + (-4.0 * (x - c) / w).exp()),
        _ => unreachable!(),
    };
    (y + 0.5).floor() as u8
}

#[test]
fn voi_lut_functions_sigmoid_and_linear_exact_render_per_the_standard() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<u16> = (0..256).map(|i| i * 16).collect();
    for function in ["SIGMOID", "LINEAR_EXACT"] {
        let path = dir.path().join(format!("{function}.dcm"));
        let mut elements = gray16_header(16, 16, 1, false);
        elements.push(text(tags::WINDOW_CENTER, VR::DS, "2000"));
        elements.push(text(tags::WINDOW_WIDTH, VR::DS, "1500"));
        elements.push(text(tags::VOILUT_FUNCTION, VR::CS, function));
        elements.push(pixel_data_u16(values.clone()));
        write_dicom(&path, elements);
        let img = load(&path).unwrap();
        let r = render_frame(&img, 0, &WindowChoice::FileDefault).unwrap();
        for (i, &v) in values.iter().enumerate() {
            let want = reference_voi(function, v as f64, 2000.0, 1500.0);
            assert!(
                r.pixels[i].abs_diff(want) <= 1,
                "{function} at {v}: {} vs {want}",
                r.pixels[i]
            );
        }
    }
}

#[test]
fn inversion_is_applied_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<u16> = vec![0, 100, 200, 255];
    let render = |photometric: &str, shape: Option<&str>| {
        let path = dir.path().join(format!("{photometric}{shape:?}.dcm"));
        let mut elements = gray16_header(2, 2, 1, false);
        elements.push(text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric));
        elements.push(text(tags::WINDOW_CENTER, VR::DS, "128"));
        elements.push(text(tags::WINDOW_WIDTH, VR::DS, "256"));
        if let Some(s) = shape {
            elements.push(text(tags::PRESENTATION_LUT_SHAPE, VR::CS, s));
        }
        elements.push(pixel_data_u16(values.clone()));
        write_dicom(&path, elements);
        render_frame(&load(&path).unwrap(), 0, &WindowChoice::FileDefault)
            .unwrap()
            .pixels
    };
    let plain = render("MONOCHROME2", None);
    let inverted: Vec<u8> = plain.iter().map(|v| 255 - v).collect();
    assert_eq!(render("MONOCHROME1", None), inverted);
    assert_eq!(render("MONOCHROME1", Some("INVERSE")), inverted);
    assert_eq!(render("MONOCHROME2", Some("INVERSE")), inverted);
    assert_eq!(render("MONOCHROME2", Some("IDENTITY")), plain);
}

#[test]
fn ct_presets_window_in_hounsfield_units() {
    let path = corpus_dir().join("CT_small.dcm");
    let img = load(&path).unwrap();
    let lung = render_frame(&img, 0, &WindowChoice::from_preset("lung").unwrap()).unwrap();
    let frame = img.frame(0).unwrap();
    let lut = img.modality_lut(0);
    for i in (0..frame.pixel_count()).step_by(97) {
        let hu = lut.apply(frame.samples.get(i).unwrap());
        let want = Window::linear(-600.0, 1500.0).apply(hu);
        let want = (want * 255.0 + 0.5).floor() as u8;
        assert_eq!(lung.pixels[i], want, "pixel {i} at {hu} HU");
    }
    let bone = render_frame(&img, 0, &WindowChoice::from_preset("bone").unwrap()).unwrap();
    assert_ne!(lung.pixels, bone.pixels);
}

#[test]
fn a_file_without_preamble_loads_like_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let original = corpus_dir().join("MR_small.dcm");
    let bytes = std::fs::read(&original).unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    let stripped = dir.path().join("no_preamble.dcm");
    std::fs::write(&stripped, &bytes[128..]).unwrap();
    let a = load(&original).unwrap();
    let b = load(&stripped).unwrap();
    assert_eq!(a.frame(0).unwrap(), b.frame(0).unwrap());
}

#[test]
fn a_bare_dataset_without_file_meta_is_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let original = corpus_dir().join("MR_small.dcm");
    let bytes = std::fs::read(&original).unwrap();
    // Skip preamble, "DICM" and the whole group 0002 (explicit VR LE).
    let group_length = u32::from_le_bytes(bytes[140..144].try_into().unwrap()) as usize;
    let dataset = &bytes[144 + group_length..];
    let bare = dir.path().join("bare.dcm");
    std::fs::write(&bare, dataset).unwrap();
    let a = load(&original).unwrap();
    let b = load(&bare).unwrap();
    assert_eq!(a.frame(0).unwrap(), b.frame(0).unwrap());
    assert!(matches!(
        b.source,
        hilum::imaging::image::SourceFormat::Dicom {
            transfer_syntax_inferred: true,
            ..
        }
    ));
}

#[test]
fn a_declared_length_past_the_end_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(corpus_dir().join("MR_small.dcm")).unwrap();
    let header = b"\xe0\x7f\x10\x00OW\x00\x00";
    let at = bytes
        .windows(8)
        .position(|w| w == header)
        .expect("pixel data header");
    bytes[at + 8..at + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let path = dir.path().join("liar.dcm");
    std::fs::write(&path, &bytes).unwrap();
    let err = load(&path).unwrap_err();
    assert!(
        matches!(err.kind, ImagingErrorKind::MalformedDicom(_)),
        "{err}"
    );
    assert!(err.to_string().contains("(7FE0,0010)"), "{err}");
}

#[test]
fn sampled_rendering_equals_sampling_the_full_rendering() {
    use hilum::imaging::render::render_sampled;
    for name in [
        "CT_small.dcm",
        "6154",
        "SC_rgb.dcm",
        "OBXXXX1A_rle.dcm",
        "rtdose.dcm",
    ] {
        let img = load(&corpus_dir().join(name)).unwrap();
        let frame = img.frame(0).unwrap();
        let xs: Vec<usize> = (0..frame.columns as usize).step_by(3).collect();
        let ys: Vec<usize> = (0..frame.rows as usize).rev().step_by(2).collect();
        for choice in [
            WindowChoice::FileDefault,
            WindowChoice::Percentile(1.0, 99.0),
        ] {
            let full = render_frame(&img, 0, &choice).unwrap();
            let sampled = render_sampled(&img, 0, &choice, &xs, &ys).unwrap();
            let ch = full.channels as usize;
            let mut want = Vec::new();
            for &y in &ys {
                for &x in &xs {
                    let i = (y * frame.columns as usize + x) * ch;
                    want.extend_from_slice(&full.pixels[i..i + ch]);
                }
            }
            assert_eq!(sampled.pixels, want, "{name} {choice:?}");
        }
    }
}
