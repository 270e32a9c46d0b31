//! Studies and series: grouping instances into patient → study → series,
//! ordering slices along the slice normal, spacing and gaps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::image::Image;

/// Where one instance sits in its series.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesInstance {
    /// The file.
    pub path: PathBuf,
    /// Instance Number.
    pub instance_number: Option<i64>,
    /// Position along the slice normal (mm), when the geometry is known.
    pub slice_position: Option<f64>,
    /// Number of frames in the instance.
    pub frames: usize,
}

/// A gap between two consecutive slices wider than the series' spacing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SliceGap {
    /// Index (in the ordered series) of the slice before the gap.
    pub after_index: usize,
    /// Distance between the two slices, mm.
    pub distance: f64,
}

/// How a series was ordered.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SliceOrdering {
    /// By Image Position (Patient) projected on the slice normal.
    SlicePosition,
    /// By Instance Number.
    InstanceNumber,
    /// By file path (nothing better was available).
    Path,
}

/// One series (or one homogeneous part of a series that mixed orientations
/// or image sizes).
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Series Instance UID (empty for files without one).
    pub series_instance_uid: String,
    /// 1-based part number when a series was split, else `None`.
    pub part: Option<usize>,
    /// Series Number.
    pub series_number: Option<i64>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Modality.
    pub modality: Option<String>,
    /// Rows of every image in the series.
    pub rows: u32,
    /// Columns of every image in the series.
    pub columns: u32,
    /// Image Orientation (Patient) shared by the series.
    pub orientation: Option<[f64; 6]>,
    /// How the instances were ordered.
    pub ordering: SliceOrdering,
    /// The instances, in reading order.
    pub instances: Vec<SeriesInstance>,
    /// Median distance between consecutive slices, mm.
    pub slice_spacing: Option<f64>,
    /// Gaps wider than 1.5 × the spacing.
    pub gaps: Vec<SliceGap>,
}

/// One study.
#[derive(Debug, Clone, Serialize)]
pub struct Study {
    /// Study Instance UID (empty when missing).
    pub study_instance_uid: String,
    /// Study Date.
    pub study_date: Option<String>,
    /// Study Description.
    pub study_description: Option<String>,
    /// Accession Number.
    pub accession_number: Option<String>,
    /// The series, by Series Number.
    pub series: Vec<Series>,
}

/// One patient.
#[derive(Debug, Clone, Serialize)]
pub struct Patient {
    /// Patient ID (empty when missing).
    pub patient_id: String,
    /// Patient's Name.
    pub patient_name: Option<String>,
    /// The studies, by date.
    pub studies: Vec<Study>,
}

/// The dot product of two patient-space vectors (a position along a
/// normal, the cosine between two normals).
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a - b` for two patient-space vectors.
pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a + k·b` for two patient-space vectors: a point moved `k` mm along a
/// unit direction.
pub fn add_scaled(a: [f64; 3], b: [f64; 3], k: f64) -> [f64; 3] {
    [a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k]
}

/// The distance between two patient points, mm.
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d).sqrt()
}

/// The slice normal of Image Orientation (Patient): row × column direction.
pub fn slice_normal(o: &[f64; 6]) -> [f64; 3] {
    let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ]
}

/// Orientation rounded so that float noise does not split a series.
fn orientation_key(o: Option<[f64; 6]>) -> Option<[i64; 6]> {
    o.map(|o| o.map(|v| (v * 1e4).round() as i64))
}

/// The median of `values` (sorted in place), `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

fn build_series(uid: &str, part: Option<usize>, images: &[&Image]) -> Series {
    let first = images[0];
    let orientation = first.metadata.image_orientation_patient;
    let positions: Option<Vec<f64>> = orientation.and_then(|o| {
        let n = slice_normal(&o);
        images
            .iter()
            .map(|i| i.metadata.image_position_patient.map(|p| dot(p, n)))
            .collect()
    });
    let mut instances: Vec<SeriesInstance> = images
        .iter()
        .enumerate()
        .map(|(k, i)| SeriesInstance {
            path: i.path.clone(),
            instance_number: i.metadata.instance_number,
            slice_position: positions.as_ref().map(|p| p[k]),
            frames: i.pixels.frames,
        })
        .collect();
    let ordering = if positions.is_some() && images.len() > 1 {
        instances.sort_by(|a, b| {
            a.slice_position
                .unwrap_or(0.0)
                .total_cmp(&b.slice_position.unwrap_or(0.0))
                .then(a.instance_number.cmp(&b.instance_number))
        });
        SliceOrdering::SlicePosition
    } else if instances.iter().all(|i| i.instance_number.is_some()) {
        instances.sort_by(|a, b| {
            a.instance_number
                .cmp(&b.instance_number)
                .then(a.path.cmp(&b.path))
        });
        SliceOrdering::InstanceNumber
    } else {
        instances.sort_by(|a, b| a.path.cmp(&b.path));
        SliceOrdering::Path
    };
    let mut steps: Vec<f64> = instances
        .windows(2)
        .filter_map(|w| Some((w[1].slice_position? - w[0].slice_position?).abs()))
        .collect();
    let raw_steps = steps.clone();
    let slice_spacing = median(&mut steps).filter(|s| *s > 0.0);
    let gaps = slice_spacing
        .map(|s| find_gaps(&raw_steps, s))
        .unwrap_or_default();
    Series {
        series_instance_uid: uid.to_string(),
        part,
        series_number: first.metadata.series_number,
        series_description: first.metadata.series_description.clone(),
        modality: first.metadata.modality.clone(),
        rows: first.pixels.rows,
        columns: first.pixels.columns,
        orientation,
        ordering,
        instances,
        slice_spacing,
        gaps,
    }
}

/// The steps between neighbouring slices wider than 1.5 × `spacing`:
/// missing slices.
pub(crate) fn find_gaps(steps: &[f64], spacing: f64) -> Vec<SliceGap> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > 1.5 * spacing)
        .map(|(i, d)| SliceGap {
            after_index: i,
            distance: *d,
        })
        .collect()
}

/// Groups images (headers are enough) into patients, studies and series.
///
/// A series whose instances differ in orientation or size is split into
/// parts, each ordered on its own.
pub fn assemble(images: &[Image]) -> Vec<Patient> {
    // series UID, orientation, rows, columns: one homogeneous part.
    type PartKey = (String, Option<[i64; 6]>, u32, u32);
    type Parts<'a> = BTreeMap<PartKey, Vec<&'a Image>>;
    type StudySeries<'a> = BTreeMap<String, Parts<'a>>;
    let mut tree: BTreeMap<String, BTreeMap<String, StudySeries>> = BTreeMap::new();
    for image in images {
        let m = &image.metadata;
        let patient = m.patient_id.clone().unwrap_or_default();
        let study = m.study_instance_uid.clone().unwrap_or_default();
        // Files without a Series Instance UID each stand alone.
        let series = m
            .series_instance_uid
            .clone()
            .unwrap_or_else(|| format!("file:{}", image.path.display()));
        let key = (
            series.clone(),
            orientation_key(m.image_orientation_patient),
            image.pixels.rows,
            image.pixels.columns,
        );
        tree.entry(patient)
            .or_default()
            .entry(study)
            .or_default()
            .entry(series)
            .or_default()
            .entry(key)
            .or_default()
            .push(image);
    }
    tree.into_iter()
        .map(|(patient_id, studies)| {
            let mut patient_name = None;
            let mut studies: Vec<Study> = studies
                .into_iter()
                .map(|(study_uid, series_map)| {
                    let mut study_meta = None;
                    let mut series: Vec<Series> = Vec::new();
                    for (uid, parts) in series_map {
                        let split = parts.len() > 1;
                        for (k, (_, members)) in parts.into_iter().enumerate() {
                            study_meta.get_or_insert(members[0].metadata.clone());
                            let uid = uid.strip_prefix("file:").map(|_| "").unwrap_or(&uid);
                            series.push(build_series(uid, split.then_some(k + 1), &members));
                        }
                    }
                    series.sort_by_key(|s| s.series_number);
                    let m = study_meta.unwrap_or_default();
                    patient_name = patient_name.take().or(m.patient_name.clone());
                    Study {
                        study_instance_uid: study_uid,
                        study_date: m.study_date,
                        study_description: m.study_description,
                        accession_number: m.accession_number,
                        series,
                    }
                })
                .collect();
            studies.sort_by(|a, b| a.study_date.cmp(&b.study_date));
            Patient {
                patient_id,
                patient_name,
                studies,
            }
        })
        .collect()
}
