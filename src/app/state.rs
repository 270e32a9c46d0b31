//! The viewer's model, apart from drawing: what is loaded, how it groups
//! into patients, studies and series, and how each viewport looks at it.
//! Pure data and geometry, so it is tested without a window.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ImagingError;
use crate::annotations::AnnotationSet;
use crate::imaging::series::{Patient, assemble};
use crate::imaging::{Image, WindowChoice};

/// One loaded file, as the viewer keeps it. Thumbnails and the tag list
/// are made when shown, not per file, so a long series costs little more
/// than its pixels.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// The decoded image, shared with the AI worker.
    pub image: Arc<Image>,
    /// The annotations saved for it (read on the loader thread), or why
    /// its sidecar could not be read.
    pub annotations: Result<AnnotationSet, String>,
}

/// One position in a stack: an image and one of its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackEntry {
    /// Index into [`Library::images`].
    pub image: usize,
    /// Frame of that image.
    pub frame: usize,
}

/// A series as the browser lists it, with its reading order.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    /// A key that stays the same as more files of the series arrive.
    pub key: String,
    /// Patient, for grouping.
    pub patient: String,
    /// Study, for grouping.
    pub study: String,
    /// The Study Instance UID (empty when the files have none).
    pub study_uid: String,
    /// Series number, description and modality in words.
    pub label: String,
    /// Images and frames in reading order.
    pub stack: Vec<StackEntry>,
    /// Number of instances.
    pub instances: usize,
}

/// Everything opened in this run.
#[derive(Debug, Default)]
pub struct Library {
    /// Every image that loaded, in arrival order (indices never change).
    pub images: Vec<LoadedImage>,
    /// Files that failed, with the reason.
    pub errors: Vec<ImagingError>,
    /// Series in browser order.
    pub series: Vec<SeriesEntry>,
    by_path: HashMap<PathBuf, usize>,
    headers: Vec<Image>,
    dirty: bool,
}

/// A copy of an image without its pixels, for series assembly.
fn header_of(image: &Image) -> Image {
    Image {
        path: image.path.clone(),
        source: image.source.clone(),
        metadata: image.metadata.clone(),
        pixels: image.pixels.clone(),
        modality_luts: Vec::new(),
        rescale_present: image.rescale_present,
        vois: Vec::new(),
        voi_explanations: Vec::new(),
        palette: None,
        presentation_lut_shape: None,
        frames: Vec::new(),
    }
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

impl Library {
    /// Adds a loaded image; a file already open is replaced in place.
    pub fn add(&mut self, loaded: LoadedImage) -> usize {
        let path = loaded.image.path.clone();
        let index = match self.by_path.get(&path) {
            Some(&i) => {
                self.headers[i] = header_of(&loaded.image);
                self.images[i] = loaded;
                i
            }
            None => {
                self.headers.push(header_of(&loaded.image));
                self.images.push(loaded);
                self.by_path.insert(path, self.images.len() - 1);
                self.images.len() - 1
            }
        };
        self.dirty = true;
        index
    }

    /// Records a file that failed.
    pub fn fail(&mut self, error: ImagingError) {
        self.errors.retain(|e| e.path != error.path);
        self.errors.push(error);
    }

    /// Regroups the series if images arrived since the last call (once per
    /// frame at most, not once per file).
    pub fn regroup(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let patients = assemble(&self.headers);
        self.series = self.entries(&patients);
    }

    fn entries(&self, patients: &[Patient]) -> Vec<SeriesEntry> {
        let mut out = Vec::new();
        for patient in patients {
            let patient_label = match (&patient.patient_name, patient.patient_id.as_str()) {
                (Some(name), "") => name.replace('^', " "),
                (Some(name), id) => format!("{} ({id})", name.replace('^', " ")),
                (None, "") => "(no patient)".to_string(),
                (None, id) => id.to_string(),
            };
            for study in &patient.studies {
                let study_label = format!(
                    "{} {}",
                    text(&study.study_date),
                    text(&study.study_description)
                )
                .trim()
                .to_string();
                for series in &study.series {
                    let mut stack = Vec::new();
                    for instance in &series.instances {
                        if let Some(&image) = self.by_path.get(&instance.path) {
                            for frame in 0..instance.frames.max(1) {
                                stack.push(StackEntry { image, frame });
                            }
                        }
                    }
                    let first_path = series
                        .instances
                        .first()
                        .map(|i| i.path.display().to_string())
                        .unwrap_or_default();
                    let key = if series.series_instance_uid.is_empty() {
                        format!("file:{first_path}")
                    } else {
                        format!(
                            "{}#{}",
                            series.series_instance_uid,
                            series.part.unwrap_or(0)
                        )
                    };
                    let mut label = String::new();
                    if let Some(n) = series.series_number {
                        label.push_str(&format!("#{n} "));
                    }
                    label.push_str(text(&series.modality));
                    if let Some(d) = &series.series_description {
                        label.push_str(&format!(" {d}"));
                    }
                    if series.series_instance_uid.is_empty() {
                        let name = series
                            .instances
                            .first()
                            .and_then(|i| i.path.file_name())
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        label.push_str(&format!(" {name}"));
                    }
                    out.push(SeriesEntry {
                        key,
                        patient: patient_label.clone(),
                        study: study_label.clone(),
                        study_uid: study.study_instance_uid.clone(),
                        label: label.trim().to_string(),
                        stack,
                        instances: series.instances.len(),
                    });
                }
            }
        }
        out
    }

    /// The index of the image loaded from `path`, if it is loaded.
    pub fn index_of(&self, path: &std::path::Path) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// The series with `key`.
    pub fn series_by_key(&self, key: &str) -> Option<&SeriesEntry> {
        self.series.iter().find(|s| s.key == key)
    }
}

/// How one viewport shows its series.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    /// Screen pixels per image pixel, or `None` to fit the viewport.
    pub zoom: Option<f32>,
    /// Offset of the image centre from the viewport centre, in points.
    pub pan: [f32; 2],
    /// The window (resolved to an explicit one once the reader changes it).
    pub window: WindowChoice,
    /// Inverted by the reader (on top of the image's own inversion).
    pub invert: bool,
    /// Quarter turns clockwise.
    pub quarter_turns: u8,
    /// Mirrored left–right.
    pub flip_horizontal: bool,
    /// Mirrored top–bottom.
    pub flip_vertical: bool,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            zoom: None,
            pan: [0.0, 0.0],
            window: WindowChoice::FileDefault,
            invert: false,
            quarter_turns: 0,
            flip_horizontal: false,
            flip_vertical: false,
        }
    }
}

/// One viewport: which series, where in it, and how it is shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewportState {
    /// The series key, if one is shown.
    pub series: Option<String>,
    /// Position in the series' stack.
    pub position: usize,
    /// Display settings.
    pub view: ViewState,
    /// Cine running.
    pub cine: bool,
    /// The window is being dragged (the viewport then shows a preview at
    /// screen resolution; see `viewport::preview_step`).
    pub adjusting: bool,
}

impl ViewportState {
    /// Moves by `delta` positions within a stack of `len`, clamped.
    pub fn step(&mut self, delta: i64, len: usize) {
        if len == 0 {
            self.position = 0;
            return;
        }
        let p = self.position as i64 + delta;
        self.position = p.clamp(0, len as i64 - 1) as usize;
    }

    /// Advances cine by one, wrapping at the end.
    pub fn cine_step(&mut self, len: usize) {
        if len > 0 {
            self.position = (self.position + 1) % len;
        }
    }
}

/// Where an image is drawn: image pixel ↔ screen point, with rotation and
/// flips applied about the image centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewTransform {
    /// Image width and height, pixels.
    pub image_size: [f32; 2],
    /// Screen point of the image centre.
    pub center: [f32; 2],
    /// Points per image pixel.
    pub scale: f32,
    /// Quarter turns clockwise.
    pub quarter_turns: u8,
    /// Mirrored left–right (before rotating).
    pub flip_horizontal: bool,
    /// Mirrored top–bottom (before rotating).
    pub flip_vertical: bool,
}

impl ViewTransform {
    /// The transform for `view` of an image `image_size` in a viewport
    /// centred at `viewport_center` of `viewport_size` points.
    pub fn new(
        view: &ViewState,
        image_size: [f32; 2],
        viewport_center: [f32; 2],
        viewport_size: [f32; 2],
    ) -> Self {
        let turned = view.quarter_turns % 2 == 1;
        let (w, h) = if turned {
            (image_size[1], image_size[0])
        } else {
            (image_size[0], image_size[1])
        };
        let fit = (viewport_size[0] / w.max(1.0)).min(viewport_size[1] / h.max(1.0));
        Self {
            image_size,
            center: [
                viewport_center[0] + view.pan[0],
                viewport_center[1] + view.pan[1],
            ],
            scale: view.zoom.unwrap_or(fit).max(1e-4),
            quarter_turns: view.quarter_turns % 4,
            flip_horizontal: view.flip_horizontal,
            flip_vertical: view.flip_vertical,
        }
    }

    /// Screen point of image point (`x`, `y`) (pixel corners at integers).
    pub fn to_screen(&self, x: f32, y: f32) -> [f32; 2] {
        let mut p = [x - self.image_size[0] / 2.0, y - self.image_size[1] / 2.0];
        if self.flip_horizontal {
            p[0] = -p[0];
        }
        if self.flip_vertical {
            p[1] = -p[1];
        }
        for _ in 0..self.quarter_turns {
            p = [-p[1], p[0]];
        }
        [
            self.center[0] + p[0] * self.scale,
            self.center[1] + p[1] * self.scale,
        ]
    }

    /// Image point under screen point (`sx`, `sy`).
    pub fn to_image(&self, sx: f32, sy: f32) -> [f32; 2] {
        let mut p = [
            (sx - self.center[0]) / self.scale,
            (sy - self.center[1]) / self.scale,
        ];
        for _ in 0..self.quarter_turns {
            p = [p[1], -p[0]];
        }
        if self.flip_vertical {
            p[1] = -p[1];
        }
        if self.flip_horizontal {
            p[0] = -p[0];
        }
        [
            p[0] + self.image_size[0] / 2.0,
            p[1] + self.image_size[1] / 2.0,
        ]
    }

    /// The pixel (column, row) under a screen point, if inside the image.
    pub fn pixel_at(&self, sx: f32, sy: f32) -> Option<(u32, u32)> {
        let [x, y] = self.to_image(sx, sy);
        (x >= 0.0 && y >= 0.0 && x < self.image_size[0] && y < self.image_size[1])
            .then_some((x as u32, y as u32))
    }
}

/// Labels for the left, right, top and bottom edges of a picture whose
/// screen right and screen down point along `right` and `down` (patient
/// axes).
pub fn edge_labels(right: [f64; 3], down: [f64; 3]) -> [String; 4] {
    let neg = |v: [f64; 3]| v.map(|c| -c);
    [
        direction_letters(neg(right)),
        direction_letters(right),
        direction_letters(neg(down)),
        direction_letters(down),
    ]
}

/// Patient directions: +x left, +y posterior, +z head (DICOM patient
/// coordinates).
fn direction_letters(v: [f64; 3]) -> String {
    let letters = [('L', 'R'), ('P', 'A'), ('H', 'F')];
    let mut parts: Vec<(f64, char)> = v
        .iter()
        .zip(letters)
        .filter(|(c, _)| c.abs() > 0.25)
        .map(|(c, (pos, neg))| (c.abs(), if *c > 0.0 { pos } else { neg }))
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    parts.into_iter().map(|(_, c)| c).collect()
}

fn letter_vector(text: &str) -> Option<[f64; 3]> {
    let mut v = [0.0; 3];
    for c in text.trim().chars() {
        match c.to_ascii_uppercase() {
            'L' => v[0] += 1.0,
            'R' => v[0] -= 1.0,
            'P' => v[1] += 1.0,
            'A' => v[1] -= 1.0,
            'H' | 'S' => v[2] += 1.0,
            'F' | 'I' => v[2] -= 1.0,
            _ => return None,
        }
    }
    (v != [0.0; 3]).then_some(v)
}

/// Labels for the left, right, top and bottom edges of the viewport, from
/// Image Orientation (Patient) or, for projection images, Patient
/// Orientation; `None` when the file says neither.
pub fn orientation_labels(
    metadata: &crate::imaging::metadata::Metadata,
    view: &ViewState,
) -> Option<[String; 4]> {
    let (row, column) = if let Some(o) = metadata.image_orientation_patient {
        ([o[0], o[1], o[2]], [o[3], o[4], o[5]])
    } else {
        let po = metadata.patient_orientation.as_ref()?;
        (letter_vector(po.first()?)?, letter_vector(po.get(1)?)?)
    };
    // Screen right and screen down in image axes, after flips and turns.
    let neg = |v: [f64; 3]| v.map(|c| -c);
    let mut right = if view.flip_horizontal { neg(row) } else { row };
    let mut down = if view.flip_vertical {
        neg(column)
    } else {
        column
    };
    for _ in 0..view.quarter_turns % 4 {
        // A clockwise turn: what pointed down now points left (screen
        // right is the old "up").
        let new_right = neg(down);
        down = right;
        right = new_right;
    }
    Some(edge_labels(right, down))
}

/// A scale bar: its length in mm and in points, for a spacing of
/// `mm_per_pixel` at `scale` points per pixel, no longer than `max_points`.
pub fn scale_bar(mm_per_pixel: f64, scale: f32, max_points: f32) -> Option<(f64, f32)> {
    if mm_per_pixel <= 0.0 || !mm_per_pixel.is_finite() {
        return None;
    }
    let mm_per_point = mm_per_pixel / scale as f64;
    [500.0, 200.0, 100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0, 0.5]
        .into_iter()
        .map(|mm| (mm, (mm / mm_per_point) as f32))
        .find(|(_, points)| *points <= max_points && *points >= 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::metadata::Metadata;

    #[test]
    fn transform_round_trips_through_every_rotation_and_flip() {
        for turns in 0..4 {
            for flips in 0..4 {
                let view = ViewState {
                    quarter_turns: turns,
                    flip_horizontal: flips & 1 == 1,
                    flip_vertical: flips & 2 == 2,
                    zoom: Some(2.5),
                    pan: [13.0, -7.0],
                    ..ViewState::default()
                };
                let t = ViewTransform::new(&view, [300.0, 200.0], [400.0, 300.0], [800.0, 600.0]);
                let s = t.to_screen(17.0, 41.0);
                let back = t.to_image(s[0], s[1]);
                assert!((back[0] - 17.0).abs() < 1e-3 && (back[1] - 41.0).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn fit_uses_the_rotated_size() {
        let mut view = ViewState::default();
        let t = ViewTransform::new(&view, [400.0, 100.0], [0.0, 0.0], [200.0, 200.0]);
        assert_eq!(t.scale, 0.5);
        view.quarter_turns = 1;
        let t = ViewTransform::new(&view, [400.0, 100.0], [0.0, 0.0], [200.0, 200.0]);
        assert_eq!(t.scale, 0.5);
        // A clockwise turn puts the image's top-left corner at the top right.
        let corner = t.to_screen(0.0, 0.0);
        assert!(corner[0] > 0.0 && corner[1] < 0.0, "{corner:?}");
    }

    #[test]
    fn axial_orientation_labels_follow_rotation_and_flips() {
        let metadata = Metadata {
            image_orientation_patient: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            ..Metadata::default()
        };
        let mut view = ViewState::default();
        let labels = orientation_labels(&metadata, &view).unwrap();
        assert_eq!(labels, ["R", "L", "A", "P"].map(String::from));
        view.flip_horizontal = true;
        let labels = orientation_labels(&metadata, &view).unwrap();
        assert_eq!(labels, ["L", "R", "A", "P"].map(String::from));
        view.flip_horizontal = false;
        view.quarter_turns = 1;
        let labels = orientation_labels(&metadata, &view).unwrap();
        assert_eq!(labels, ["P", "A", "R", "L"].map(String::from));
    }

    #[test]
    fn projection_labels_come_from_patient_orientation() {
        let metadata = Metadata {
            patient_orientation: Some(vec!["P".into(), "F".into()]),
            ..Metadata::default()
        };
        let labels = orientation_labels(&metadata, &ViewState::default()).unwrap();
        assert_eq!(labels, ["A", "P", "H", "F"].map(String::from));
        assert!(orientation_labels(&Metadata::default(), &ViewState::default()).is_none());
    }

    #[test]
    fn scale_bar_picks_a_round_length_that_fits() {
        // 0.5 mm pixels shown at 1 point per pixel: 100 mm is 200 points.
        let (mm, points) = scale_bar(0.5, 1.0, 250.0).unwrap();
        assert_eq!(mm, 100.0);
        assert!((points - 200.0).abs() < 1e-3);
        assert!(scale_bar(0.0, 1.0, 250.0).is_none());
    }

    #[test]
    fn stepping_is_clamped_and_cine_wraps() {
        let mut v = ViewportState::default();
        v.step(-3, 10);
        assert_eq!(v.position, 0);
        v.step(25, 10);
        assert_eq!(v.position, 9);
        v.cine_step(10);
        assert_eq!(v.position, 0);
    }
}
