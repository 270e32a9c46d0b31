//! Benchmarks of the reports layer (wall time; run with
//! `cargo bench --bench reports`):
//!
//! * `pdf_report_one_image`: compose the key image of the bundled CT
//!   (with a length and an ROI measured, and a heatmap blended in) and
//!   render the one-image PDF report to bytes. Target: ≤ 0.5 s.
//! * `deidentify_500_ct`: de-identify 500 CT files (made once from
//!   `assets/CT_small.dcm`, each with its own SOP/Series UIDs) into a
//!   folder with `anonymize_files`, one de-identifier for the set.
//!   Target: ≤ 5 s.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;

use hilum::ai::saliency::{Heatmap, SaliencyMethod};
use hilum::annotations::{AnnotationSet, Point, Shape};
use hilum::imaging::{LoadOptions, load_path};
use hilum::reports::anonymize::anonymize_files;
use hilum::reports::keyimage::compose;
use hilum::reports::{DeidOptions, Deidentifier, KeyImage, Report, caption, pdf};

fn ct_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/CT_small.dcm")
}

fn pdf_report(c: &mut Criterion) {
    let ct = load_path(&ct_path(), &LoadOptions::default()).expect("bundled CT loads");
    let mut set = AnnotationSet::new();
    set.add(
        0,
        Shape::Length {
            start: Point::new(20.0, 20.0),
            end: Point::new(100.0, 90.0),
        },
    );
    set.add(
        0,
        Shape::Ellipse {
            center: Point::new(64.0, 64.0),
            radius_x: 20.0,
            radius_y: 12.0,
        },
    );
    let heatmap = Heatmap {
        method: SaliencyMethod::Occlusion,
        target_label: "PNEUMONIA".into(),
        target_index: 1,
        settings: "patch 16, stride 8".into(),
        model: "bench".into(),
        width: 128,
        height: 128,
        values: (0..128 * 128).map(|i| (i % 128) as f32 / 127.0).collect(),
        model_space: Vec::new(),
        grid: (0, 0),
        faithfulness: None,
        time_ms: 0.0,
    };
    let mut key = KeyImage::plain(&ct);
    key.annotations = Some(&set);
    key.heatmap = Some(&heatmap);
    let report = Report {
        key_images: vec![key],
        ai: None,
        impression: "Benchmark impression with a name: 王小明, محمد".into(),
        reader: "Dr Reader".into(),
    };
    let mut group = c.benchmark_group("reports");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15));
    group.bench_function("pdf_report_one_image", |b| {
        b.iter(|| {
            let k = &report.key_images[0];
            let image = compose(k, &caption(&report, k)).unwrap();
            black_box(pdf::render(&report, &[image], false).unwrap())
        })
    });
    group.finish();
}

/// 500 copies of the CT, each a distinct instance in one of 5 series.
fn make_ct_files(dir: &Path) -> Vec<PathBuf> {
    let base = dicom_object::open_file(ct_path()).expect("bundled CT opens");
    (0..500)
        .map(|i| {
            let mut file = base.clone();
            let uid = format!("1.2.826.0.1.3680043.9.7433.3.{i}");
            file.put(DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(uid.as_str()),
            ));
            file.put(DataElement::new(
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(format!("1.2.826.0.1.3680043.9.7433.4.{}", i % 5)),
            ));
            file.update_meta(|m| m.media_storage_sop_instance_uid = uid.clone());
            let path = dir.join(format!("ct{i:03}.dcm"));
            file.write_to_file(&path).expect("bench file written");
            path
        })
        .collect()
}

fn deidentify(c: &mut Criterion) {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let files = make_ct_files(input.path());
    let mut group = c.benchmark_group("reports");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(40));
    group.bench_function("deidentify_500_ct", |b| {
        b.iter(|| {
            let mut deid = Deidentifier::new(DeidOptions::default());
            let report = anonymize_files(&files, output.path(), &mut deid, true, &mut |_, _| true);
            assert!(report.errors.is_empty(), "{:?}", report.errors.first());
            black_box(report.written.len())
        })
    });
    group.finish();
}

criterion::criterion_group!(benches, pdf_report, deidentify);
criterion::criterion_main!(benches);
