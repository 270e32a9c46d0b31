//! The annotation model on real corpus images: measurements against the
//! corpus reference values, calibration flags, sidecar persistence and
//! burn-in drawing.

mod common;

use hilum::annotations::draw::{CanvasMap, DrawStyle, burn_in};
use hilum::annotations::measure::{Calibration, MeasureError, Measurement, measure};
use hilum::annotations::sidecar::{SidecarError, SidecarKey, SidecarStore};
use hilum::annotations::{AnnotationSet, Point, Shape};
use hilum::imaging::{self, FrameSelection, Image, LoadOptions, WindowChoice, render_frame};

fn load(name: &str) -> Image {
    let options = LoadOptions {
        frames: FrameSelection::Only(0),
        ..LoadOptions::default()
    };
    imaging::load_path(&common::corpus_dir().join(name), &options).expect("corpus image loads")
}

fn reference_frame0(name: &str) -> serde_json::Value {
    common::reference()["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == name)
        .unwrap_or_else(|| panic!("{name} in reference.json"))["frame0"]
        .clone()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1.0)
}

fn single(image: &Image, shape: Shape) -> Measurement {
    let mut set = AnnotationSet::new();
    let id = set.add(0, shape);
    measure(image, set.get(id).unwrap()).expect("measurable")
}

#[test]
fn ct_length_uses_pixel_spacing() {
    let ct = load("CT_small.dcm");
    assert_eq!(
        Calibration::of(&ct.metadata),
        Calibration::Patient {
            row_mm: 0.661468,
            column_mm: 0.661468
        }
    );
    let Measurement::Length(l) = single(
        &ct,
        Shape::Length {
            start: Point::new(10.0, 10.0),
            end: Point::new(40.0, 50.0),
        },
    ) else {
        panic!("a length")
    };
    assert_eq!(l.unit, "mm");
    assert!(close(l.pixels, 50.0, 1e-12));
    assert!(close(l.value, 50.0 * 0.661468, 1e-9), "{l:?}");
    assert_eq!(Calibration::of(&ct.metadata).caveat(), None);
}

#[test]
fn ct_whole_image_roi_matches_reference_statistics_in_hu() {
    let ct = load("CT_small.dcm");
    let reference = reference_frame0("CT_small.dcm");
    let Measurement::Roi(stats) = single(
        &ct,
        Shape::Rectangle {
            corner: Point::new(0.0, 0.0),
            opposite: Point::new(128.0, 128.0),
        },
    ) else {
        panic!("ROI statistics")
    };
    assert_eq!(stats.pixel_count, 128 * 128);
    assert_eq!(stats.value_unit, "HU");
    assert!(close(stats.mean, reference["mean"].as_f64().unwrap(), 1e-9));
    assert_eq!(stats.min, reference["min"].as_f64().unwrap());
    assert_eq!(stats.max, reference["max"].as_f64().unwrap());
    assert_eq!(stats.area_unit, "mm²");
    assert!(close(stats.area, 128.0 * 128.0 * 0.661468 * 0.661468, 1e-9));
}

#[test]
fn ct_small_roi_standard_deviation_is_the_population_sd_in_hu() {
    let ct = load("CT_small.dcm");
    let frame = ct.frame(0).unwrap();
    // Independent two-pass computation over the 10×6 block at (20, 30),
    // with the file's rescale (slope 1, intercept −1024).
    let mut values = Vec::new();
    for r in 30..36 {
        for c in 20..30 {
            values.push(frame.samples.get(r * 128 + c).unwrap() as f64 - 1024.0);
        }
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    let Measurement::Roi(stats) = single(
        &ct,
        Shape::Rectangle {
            corner: Point::new(20.0, 30.0),
            opposite: Point::new(30.0, 36.0),
        },
    ) else {
        panic!("ROI statistics")
    };
    assert_eq!(stats.pixel_count, 60);
    assert!(close(stats.mean, mean, 1e-12));
    assert!(close(stats.std_dev, sd, 1e-9), "{} vs {sd}", stats.std_dev);
}

#[test]
fn cr_with_imager_pixel_spacing_only_is_flagged_detector_plane() {
    let cr = load("6154");
    let calibration = Calibration::of(&cr.metadata);
    assert!(matches!(calibration, Calibration::Detector { .. }));
    let m = single(
        &cr,
        Shape::Length {
            start: Point::new(0.0, 0.0),
            end: Point::new(10.0, 0.0),
        },
    );
    let Measurement::Length(l) = &m else {
        panic!("a length")
    };
    assert!(close(l.value, 1.0, 1e-9), "10 px × 0.1 mm: {l:?}");
    let text = m.describe(&calibration).unwrap();
    assert!(
        text.contains("detector plane (ImagerPixelSpacing)"),
        "{text}"
    );
    // The ellipse over the whole 16×16 image: modality units after the
    // rescale (slope 0.684, intercept 200), against the reference.
    let Measurement::Roi(stats) = single(
        &cr,
        Shape::Rectangle {
            corner: Point::new(0.0, 0.0),
            opposite: Point::new(16.0, 16.0),
        },
    ) else {
        panic!("ROI")
    };
    let reference = reference_frame0("6154");
    assert_eq!(stats.value_unit, "modality units");
    assert!(close(stats.mean, reference["mean"].as_f64().unwrap(), 1e-9));
}

#[test]
fn image_without_spacing_measures_in_pixels_flagged_uncalibrated() {
    let cr = load("RG3_UNCR.dcm");
    let calibration = Calibration::of(&cr.metadata);
    assert_eq!(calibration, Calibration::Uncalibrated);
    let m = single(
        &cr,
        Shape::Ellipse {
            center: Point::new(880.0, 880.0),
            radius_x: 100.0,
            radius_y: 50.0,
        },
    );
    let Measurement::Roi(stats) = &m else {
        panic!("ROI")
    };
    assert_eq!(stats.area_unit, "px²");
    assert!(close(stats.area, std::f64::consts::PI * 5000.0, 1e-12));
    // Pixel centres inside the ellipse: close to its area.
    assert!((stats.pixel_count as f64 - stats.area).abs() < 0.01 * stats.area);
    assert!(
        m.describe(&calibration)
            .unwrap()
            .ends_with("(uncalibrated)")
    );
}

#[test]
fn angles_are_measured_at_the_vertex() {
    let ct = load("CT_small.dcm");
    let Measurement::Angle { degrees } = single(
        &ct,
        Shape::Angle {
            first: Point::new(50.0, 10.0),
            vertex: Point::new(10.0, 10.0),
            second: Point::new(10.0, 90.0),
        },
    ) else {
        panic!("an angle")
    };
    assert!(close(degrees, 90.0, 1e-12));
}

#[test]
fn roi_outside_the_image_and_on_colour_images_are_clear_errors() {
    let ct = load("CT_small.dcm");
    let mut set = AnnotationSet::new();
    let outside = set.add(
        0,
        Shape::Rectangle {
            corner: Point::new(500.0, 500.0),
            opposite: Point::new(600.0, 600.0),
        },
    );
    assert!(matches!(
        measure(&ct, set.get(outside).unwrap()),
        Err(MeasureError::EmptyRegion)
    ));
    let rgb = load("SC_rgb.dcm");
    assert!(matches!(
        measure(&rgb, set.get(outside).unwrap()),
        Err(MeasureError::NotGray)
    ));
}

#[test]
fn sidecar_round_trips_keyed_by_sop_instance_uid_and_leaves_the_source_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SidecarStore::at(dir.path());
    let ct = load("CT_small.dcm");
    let before = std::fs::read(&ct.path).unwrap();
    let mut set = AnnotationSet::new();
    let a = set.add(
        0,
        Shape::Length {
            start: Point::new(1.0, 2.0),
            end: Point::new(3.0, 4.0),
        },
    );
    let b = set.add_labelled(
        0,
        Shape::Text {
            anchor: Point::new(5.0, 5.0),
            text: "王小明 محمد".into(),
        },
        Some("note".into()),
    );
    assert_ne!(a, b);
    assert_eq!(store.load_for(&ct).unwrap(), None);
    let path = store.save_for(&ct, &set).unwrap();
    let uid = ct.metadata.sop_instance_uid.clone().unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("uid-{uid}.json")
    );
    assert_eq!(store.load_for(&ct).unwrap(), Some(set.clone()));
    // Ids are never reused, even after a removal and a reload.
    let mut reloaded = store.load_for(&ct).unwrap().unwrap();
    reloaded.remove(b).unwrap();
    let c = reloaded.add(
        0,
        Shape::Arrow {
            tail: Point::new(0.0, 0.0),
            head: Point::new(9.0, 9.0),
        },
    );
    assert!(c > b);
    assert_eq!(std::fs::read(&ct.path).unwrap(), before, "source untouched");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn raster_images_are_keyed_by_their_canonical_path() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/chest-xray/NORMAL2-IM-1427-0001.jpeg");
    let image = imaging::load_path(&path, &LoadOptions::default()).unwrap();
    let key = SidecarKey::for_image(&image).unwrap();
    let SidecarKey::PathHash(hash) = &key else {
        panic!("path key for a JPEG: {key:?}")
    };
    assert_eq!(hash.len(), 64);
    let dotted = path.parent().unwrap().join("./NORMAL2-IM-1427-0001.jpeg");
    assert_eq!(SidecarKey::for_path(&dotted).unwrap(), key);
}

#[test]
fn a_corrupt_sidecar_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SidecarStore::at(dir.path());
    let key = SidecarKey::SopInstance("1.2.3".into());
    std::fs::write(store.path_for(&key), "{not json").unwrap();
    let err = store.load(&key).unwrap_err();
    assert!(matches!(err, SidecarError::Invalid { .. }));
    assert!(err.to_string().contains("uid-1.2.3.json"), "{err}");
}

#[test]
fn burn_in_draws_shapes_and_measurement_text_at_their_source_positions() {
    let ct = load("CT_small.dcm");
    let rendered = render_frame(&ct, 0, &WindowChoice::FileDefault).unwrap();
    let base = image::DynamicImage::ImageLuma8(
        image::GrayImage::from_raw(128, 128, rendered.pixels.clone()).unwrap(),
    )
    .to_rgba8();
    let upscaled = image::imageops::resize(&base, 512, 512, image::imageops::FilterType::Nearest);
    let mut canvas = upscaled.clone();
    let mut set = AnnotationSet::new();
    set.add(
        0,
        Shape::Length {
            start: Point::new(10.0, 100.0),
            end: Point::new(60.0, 100.0),
        },
    );
    let map = CanvasMap {
        origin: Point::new(0.0, 0.0),
        scale: 4.0,
    };
    let style = DrawStyle::for_canvas(512, 512);
    burn_in(&mut canvas, &ct, &set, 0, &map, &style);
    // The line runs along canvas row 400 from x = 40 to 240.
    for x in [60, 140, 220] {
        assert_eq!(*canvas.get_pixel(x, 400), style.color, "line at x={x}");
    }
    // The label (33.1 mm) is drawn right of the end point, below the line.
    let changed = (250..400)
        .flat_map(|x| (402..440).map(move |y| (x, y)))
        .filter(|&(x, y)| canvas.get_pixel(x, y) != upscaled.get_pixel(x, y))
        .count();
    assert!(changed > 200, "measurement text drawn ({changed} pixels)");
    // Far from the annotation nothing changed.
    assert_eq!(canvas.get_pixel(20, 20), upscaled.get_pixel(20, 20));
}
