//! What a reader needs to know about an image, independent of its pixels.

use serde::Serialize;

/// Descriptive metadata of one image (one DICOM instance or raster file).
///
/// Every field is optional: files in the wild omit almost anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metadata {
    /// SOP Class UID.
    pub sop_class_uid: Option<String>,
    /// SOP Instance UID.
    pub sop_instance_uid: Option<String>,
    /// Modality (CT, MR, CR, DX, ...).
    pub modality: Option<String>,
    /// Patient's Name, as stored (`^`-separated components).
    pub patient_name: Option<String>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Patient's Birth Date (YYYYMMDD).
    pub patient_birth_date: Option<String>,
    /// Patient's Sex.
    pub patient_sex: Option<String>,
    /// Patient's Age (e.g. `004Y`).
    pub patient_age: Option<String>,
    /// Study Instance UID.
    pub study_instance_uid: Option<String>,
    /// Study Date (YYYYMMDD).
    pub study_date: Option<String>,
    /// Study Description.
    pub study_description: Option<String>,
    /// Accession Number.
    pub accession_number: Option<String>,
    /// Institution Name.
    pub institution_name: Option<String>,
    /// Series Instance UID.
    pub series_instance_uid: Option<String>,
    /// Series Number.
    pub series_number: Option<i64>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Body Part Examined.
    pub body_part_examined: Option<String>,
    /// View Position (PA, AP, LL, ...).
    pub view_position: Option<String>,
    /// Instance Number.
    pub instance_number: Option<i64>,
    /// Image Position (Patient), mm.
    pub image_position_patient: Option<[f64; 3]>,
    /// Image Orientation (Patient): row then column direction cosines.
    pub image_orientation_patient: Option<[f64; 6]>,
    /// Patient Orientation (for projection images), e.g. `["P", "F"]`.
    pub patient_orientation: Option<Vec<String>>,
    /// Pixel Spacing (row spacing, column spacing) in mm, in the patient.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Imager Pixel Spacing in mm, at the detector (not corrected for
    /// magnification).
    pub imager_pixel_spacing: Option<[f64; 2]>,
    /// Slice Thickness, mm.
    pub slice_thickness: Option<f64>,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// Burned In Annotation (YES/NO).
    pub burned_in_annotation: Option<String>,
}

impl Metadata {
    /// The spacing to measure with and where it came from: Pixel Spacing
    /// (calibrated, in the patient) wins over Imager Pixel Spacing (at the
    /// detector).
    pub fn measurement_spacing(&self) -> Option<([f64; 2], SpacingSource)> {
        self.pixel_spacing
            .map(|s| (s, SpacingSource::Patient))
            .or(self
                .imager_pixel_spacing
                .map(|s| (s, SpacingSource::Detector)))
    }
}

/// Which spacing attribute a measurement uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpacingSource {
    /// Pixel Spacing: distances in the patient.
    Patient,
    /// Imager Pixel Spacing only: distances at the detector, magnified.
    Detector,
}
