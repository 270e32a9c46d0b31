//! De-identification after the DICOM PS3.15 Basic Application Level
//! Confidentiality Profile (Annex E), applied to the attributes a data set
//! carries, recursively through sequences:
//!
//! - identifying attributes of Table E.1-1 are removed (X) or emptied (Z);
//! - every person name (VR PN) is emptied, wherever it is;
//! - every instance UID (VR UI, except SOP classes, transfer syntaxes and
//!   other well-known DICOM UIDs) is replaced, consistently within one
//!   [`Deidentifier`], so that references between exported objects hold;
//! - dates and times are removed, or dates shifted by a fixed number of
//!   days (the Modified Dates option) with times kept;
//! - private attributes, overlays and curves are removed;
//! - Patient Identity Removed = YES, De-identification Method (and its code
//!   sequence) and Longitudinal Temporal Information Modified are set.
//!
//! Pixel data is never touched, so text burned into the pixels survives:
//! a source marked Burned In Annotation = YES is refused unless the caller
//! overrides ([`DeidOptions::allow_burned_in_annotation`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dicom_core::header::Header as _;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

/// How dates are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateHandling {
    /// Dates, times and date-times are emptied (the Basic Profile).
    #[default]
    Remove,
    /// Dates (and the date part of date-times) move by `days`; times stay
    /// (Retain Longitudinal Temporal Information with Modified Dates).
    Shift {
        /// Days added (negative: earlier).
        days: i64,
    },
}

/// De-identification settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeidOptions {
    /// What happens to dates.
    pub dates: DateHandling,
    /// Export a source marked Burned In Annotation = YES anyway (the
    /// identifying text in its pixels stays).
    pub allow_burned_in_annotation: bool,
}

/// Why a data set is not de-identified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeidError {
    /// The source says identifying text is burned into its pixels.
    #[error(
        "{}: Burned In Annotation is YES: identifying text may be burned into the pixels, which \
         de-identification cannot remove; not exported (override to export anyway)",
        path.display()
    )]
    BurnedInAnnotation {
        /// The source.
        path: PathBuf,
    },
}

/// What happens to an attribute of Table E.1-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Removed.
    Remove,
    /// Kept with an empty value.
    Empty,
}

// Retired attributes are still in the profile's table: old files carry them.
#[allow(deprecated)]
/// Attributes of PS3.15 Table E.1-1 acted on by tag. Person names, UIDs,
/// dates and times are handled by VR wherever they are (see the module docs).
const TABLE: &[(Tag, Action)] = &[
    (tags::PATIENT_NAME, Action::Empty),
    (tags::PATIENT_ID, Action::Empty),
    (tags::PATIENT_BIRTH_DATE, Action::Empty),
    (tags::PATIENT_SEX, Action::Empty),
    (tags::ACCESSION_NUMBER, Action::Empty),
    (tags::STUDY_ID, Action::Empty),
    (tags::REFERRING_PHYSICIAN_NAME, Action::Empty),
    (tags::CONTENT_CREATOR_NAME, Action::Empty),
    (tags::ISSUER_OF_PATIENT_ID, Action::Remove),
    (tags::PATIENT_BIRTH_TIME, Action::Remove),
    (tags::PATIENT_AGE, Action::Remove),
    (tags::PATIENT_SIZE, Action::Remove),
    (tags::PATIENT_WEIGHT, Action::Remove),
    (tags::PATIENT_ADDRESS, Action::Remove),
    (tags::PATIENT_TELEPHONE_NUMBERS, Action::Remove),
    (tags::PATIENT_MOTHER_BIRTH_NAME, Action::Remove),
    (tags::OTHER_PATIENT_I_DS, Action::Remove),
    (tags::OTHER_PATIENT_NAMES, Action::Remove),
    (tags::OTHER_PATIENT_I_DS_SEQUENCE, Action::Remove),
    (tags::PATIENT_BIRTH_NAME, Action::Remove),
    (tags::MEDICAL_RECORD_LOCATOR, Action::Remove),
    (tags::ETHNIC_GROUP, Action::Remove),
    (tags::OCCUPATION, Action::Remove),
    (tags::ADDITIONAL_PATIENT_HISTORY, Action::Remove),
    (tags::PATIENT_COMMENTS, Action::Remove),
    (tags::MILITARY_RANK, Action::Remove),
    (tags::BRANCH_OF_SERVICE, Action::Remove),
    (tags::COUNTRY_OF_RESIDENCE, Action::Remove),
    (tags::REGION_OF_RESIDENCE, Action::Remove),
    (tags::PATIENT_RELIGIOUS_PREFERENCE, Action::Remove),
    (tags::MEDICAL_ALERTS, Action::Remove),
    (tags::ALLERGIES, Action::Remove),
    (tags::PREGNANCY_STATUS, Action::Remove),
    (tags::PATIENT_STATE, Action::Remove),
    (tags::INSTITUTION_NAME, Action::Remove),
    (tags::INSTITUTION_ADDRESS, Action::Remove),
    (tags::INSTITUTION_CODE_SEQUENCE, Action::Remove),
    (tags::INSTITUTIONAL_DEPARTMENT_NAME, Action::Remove),
    (tags::REFERRING_PHYSICIAN_ADDRESS, Action::Remove),
    (tags::REFERRING_PHYSICIAN_TELEPHONE_NUMBERS, Action::Remove),
    (
        tags::REFERRING_PHYSICIAN_IDENTIFICATION_SEQUENCE,
        Action::Remove,
    ),
    (tags::PHYSICIANS_OF_RECORD, Action::Remove),
    (tags::PERFORMING_PHYSICIAN_NAME, Action::Remove),
    (tags::NAME_OF_PHYSICIANS_READING_STUDY, Action::Remove),
    (tags::OPERATORS_NAME, Action::Remove),
    (tags::STATION_NAME, Action::Remove),
    (tags::DEVICE_SERIAL_NUMBER, Action::Remove),
    (tags::DEVICE_UID, Action::Remove),
    (tags::PLATE_ID, Action::Remove),
    (tags::DETECTOR_ID, Action::Remove),
    (tags::GANTRY_ID, Action::Remove),
    (tags::CASSETTE_ID, Action::Remove),
    (tags::GENERATOR_ID, Action::Remove),
    (tags::SOFTWARE_VERSIONS, Action::Remove),
    (tags::PROTOCOL_NAME, Action::Remove),
    (tags::STUDY_DESCRIPTION, Action::Remove),
    (tags::SERIES_DESCRIPTION, Action::Remove),
    (tags::IMAGE_COMMENTS, Action::Remove),
    (tags::STUDY_COMMENTS, Action::Remove),
    (tags::IDENTIFYING_COMMENTS, Action::Remove),
    (tags::REASON_FOR_STUDY, Action::Remove),
    (tags::REASON_FOR_THE_REQUESTED_PROCEDURE, Action::Remove),
    (tags::INTERPRETATION_TEXT, Action::Remove),
    (tags::INTERPRETATION_AUTHOR, Action::Remove),
    (tags::PERSON_ADDRESS, Action::Remove),
    (tags::PERSON_TELEPHONE_NUMBERS, Action::Remove),
    (tags::DERIVATION_DESCRIPTION, Action::Remove),
    (tags::ADMITTING_DIAGNOSES_DESCRIPTION, Action::Remove),
    (tags::REQUESTING_PHYSICIAN, Action::Remove),
    (tags::REQUESTING_SERVICE, Action::Remove),
    (tags::REQUEST_ATTRIBUTES_SEQUENCE, Action::Remove),
    (tags::REQUESTED_PROCEDURE_ID, Action::Remove),
    (tags::REQUESTED_PROCEDURE_DESCRIPTION, Action::Remove),
    (tags::PERFORMED_PROCEDURE_STEP_ID, Action::Remove),
    (tags::PERFORMED_PROCEDURE_STEP_DESCRIPTION, Action::Remove),
    (tags::PERFORMED_LOCATION, Action::Remove),
    (tags::PERFORMED_STATION_NAME, Action::Remove),
    (tags::PERFORMED_STATION_AE_TITLE, Action::Remove),
    (tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION, Action::Remove),
    (tags::SCHEDULED_PROCEDURE_STEP_ID, Action::Remove),
    (tags::SCHEDULED_PERFORMING_PHYSICIAN_NAME, Action::Remove),
    (tags::ADMISSION_ID, Action::Remove),
    (tags::ISSUER_OF_ADMISSION_ID, Action::Remove),
    (
        tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        Action::Remove,
    ),
    (
        tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        Action::Remove,
    ),
    (tags::ORDER_ENTERED_BY, Action::Remove),
    (tags::ORDER_ENTERER_LOCATION, Action::Remove),
    (tags::ORDER_CALLBACK_PHONE_NUMBER, Action::Remove),
    (tags::REFERENCED_PATIENT_SEQUENCE, Action::Remove),
    (tags::REFERENCED_STUDY_SEQUENCE, Action::Remove),
    (
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        Action::Remove,
    ),
    (tags::TEXT_STRING, Action::Remove),
    (tags::TEXT_COMMENTS, Action::Remove),
    (tags::ACQUISITION_COMMENTS, Action::Remove),
    (tags::VISIT_COMMENTS, Action::Remove),
    (tags::SERVICE_EPISODE_ID, Action::Remove),
    (tags::CURRENT_PATIENT_LOCATION, Action::Remove),
    (tags::PATIENT_INSTITUTION_RESIDENCE, Action::Remove),
    (tags::RESPONSIBLE_PERSON, Action::Remove),
    (tags::RESPONSIBLE_ORGANIZATION, Action::Remove),
    (tags::CONTENT_SEQUENCE, Action::Remove),
    (tags::FRAME_COMMENTS, Action::Remove),
    (tags::MODIFIED_ATTRIBUTES_SEQUENCE, Action::Remove),
    (tags::ORIGINAL_ATTRIBUTES_SEQUENCE, Action::Remove),
    (tags::DIGITAL_SIGNATURES_SEQUENCE, Action::Remove),
];

/// UI attributes whose values name kinds of things, not instances: kept.
const CLASS_UIDS: &[Tag] = &[
    tags::SOP_CLASS_UID,
    tags::REFERENCED_SOP_CLASS_UID,
    tags::MEDIA_STORAGE_SOP_CLASS_UID,
    tags::TRANSFER_SYNTAX_UID,
    tags::REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE,
    tags::CODING_SCHEME_UID,
    tags::RELATED_GENERAL_SOP_CLASS_UID,
    tags::ORIGINAL_SPECIALIZED_SOP_CLASS_UID,
    tags::IMPLEMENTATION_CLASS_UID,
    tags::MAPPING_RESOURCE_UID,
    tags::CONTEXT_GROUP_EXTENSION_CREATOR_UID,
];

/// The prefix of UIDs the DICOM standard itself defines (classes,
/// transfer syntaxes, coding schemes, well-known frames of reference).
const DICOM_ROOT: &str = "1.2.840.10008.";

/// A new UID under the `2.25` root (a UUID as a decimal number, PS3.5 B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// De-identifies data sets; one value per export, so that UIDs are
/// replaced consistently across all objects of that export.
#[derive(Debug, Clone, Default)]
pub struct Deidentifier {
    options: DeidOptions,
    uids: HashMap<String, String>,
    /// Keep (and clean) Content Sequences: set while de-identifying an SR
    /// this program generated, whose content is the report itself.
    keep_content: bool,
}

impl Deidentifier {
    /// A de-identifier with `options` and no UIDs mapped yet.
    pub fn new(options: DeidOptions) -> Self {
        Self {
            options,
            uids: HashMap::new(),
            keep_content: false,
        }
    }

    /// The options.
    pub fn options(&self) -> &DeidOptions {
        &self.options
    }

    /// The replacement of `uid` in this export (made on first use).
    pub fn uid(&mut self, uid: &str) -> String {
        let key = uid.trim_end_matches('\0').trim().to_string();
        if key.starts_with(DICOM_ROOT) || key.is_empty() {
            return key;
        }
        self.uids.entry(key).or_insert_with(new_uid).clone()
    }

    /// Refuses a source marked Burned In Annotation = YES unless overridden.
    pub fn check_burned_in(
        &self,
        dataset: &InMemDicomObject,
        path: &Path,
    ) -> Result<(), DeidError> {
        let burned_in = dataset
            .get(tags::BURNED_IN_ANNOTATION)
            .and_then(|e| e.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("YES"));
        if burned_in && !self.options.allow_burned_in_annotation {
            return Err(DeidError::BurnedInAnnotation {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    /// De-identifies a report object this program generated (an SR): like
    /// [`Deidentifier::apply`], but its Content Sequence, which is the
    /// report, is kept and cleaned (names emptied, UIDs replaced) instead
    /// of removed.
    pub fn apply_generated(&mut self, dataset: &mut InMemDicomObject) {
        self.keep_content = true;
        self.apply(dataset);
        self.keep_content = false;
    }

    /// De-identifies `dataset` in place and marks it as de-identified.
    pub fn apply(&mut self, dataset: &mut InMemDicomObject) {
        let taken = std::mem::replace(dataset, InMemDicomObject::new_empty());
        *dataset = self.clean(taken);
        let method = match self.options.dates {
            DateHandling::Remove => {
                "Hilum: PS3.15 Basic Application Level Confidentiality Profile; dates removed; \
                 UIDs replaced; private attributes removed"
                    .to_string()
            }
            DateHandling::Shift { days } => format!(
                "Hilum: PS3.15 Basic Application Level Confidentiality Profile; dates shifted by \
                 {days} days; UIDs replaced; private attributes removed"
            ),
        };
        let mut codes = vec![code_item(
            "113100",
            "DCM",
            "Basic Application Confidentiality Profile",
        )];
        if matches!(self.options.dates, DateHandling::Shift { .. }) {
            codes.push(code_item(
                "113107",
                "DCM",
                "Retain Longitudinal Temporal Information Modified Dates Option",
            ));
        }
        dataset.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
        dataset.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::from(truncate(&method, 64)),
        ));
        dataset.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::new(codes, Length::UNDEFINED),
        ));
        dataset.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(match self.options.dates {
                DateHandling::Remove => "REMOVED",
                DateHandling::Shift { .. } => "MODIFIED",
            }),
        ));
    }

    fn clean(&mut self, dataset: InMemDicomObject) -> InMemDicomObject {
        let mut out = Vec::new();
        for element in dataset {
            if let Some(e) = self.clean_element(element) {
                out.push(e);
            }
        }
        InMemDicomObject::from_element_iter(out)
    }

    fn clean_element(&mut self, element: InMemElement) -> Option<InMemElement> {
        let tag = element.tag();
        let vr = element.vr();
        if tag.group() % 2 == 1 {
            return None;
        }
        // Overlays (60xx) and curves (50xx) can carry burned-in text.
        if (0x6000..=0x60FF).contains(&tag.group()) && matches!(tag.element(), 0x3000 | 0x4000)
            || (0x5000..=0x50FF).contains(&tag.group())
        {
            return None;
        }
        let kept_content = self.keep_content && tag == tags::CONTENT_SEQUENCE;
        if let Some((_, action)) = TABLE.iter().find(|(t, _)| *t == tag && !kept_content) {
            return match action {
                Action::Remove => None,
                Action::Empty => Some(DataElement::empty(tag, vr)),
            };
        }
        match vr {
            VR::PN => Some(DataElement::empty(tag, vr)),
            VR::UI if !CLASS_UIDS.contains(&tag) => {
                let values = element.to_multi_str().ok()?.into_owned();
                let mapped: Vec<String> = values.iter().map(|u| self.uid(u)).collect();
                Some(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::Strs(mapped.into()),
                ))
            }
            VR::DA | VR::DT | VR::TM => self.clean_temporal(element),
            VR::SQ => {
                let Value::Sequence(seq) = element.into_value() else {
                    return None;
                };
                let items: Vec<InMemDicomObject> = seq
                    .into_items()
                    .into_iter()
                    .map(|i| self.clean(i))
                    .collect();
                Some(DataElement::new(
                    tag,
                    VR::SQ,
                    DataSetSequence::new(items, Length::UNDEFINED),
                ))
            }
            _ => Some(element),
        }
    }

    fn clean_temporal(&mut self, element: InMemElement) -> Option<InMemElement> {
        let (tag, vr) = (element.tag(), element.vr());
        let DateHandling::Shift { days } = self.options.dates else {
            return Some(DataElement::empty(tag, vr));
        };
        if vr == VR::TM {
            return Some(element);
        }
        let values = element.to_multi_str().ok()?.into_owned();
        let shifted: Vec<String> = values
            .iter()
            .map(|v| shift_date(v.trim(), days).unwrap_or_default())
            .collect();
        if shifted.iter().all(String::is_empty) {
            return Some(DataElement::empty(tag, vr));
        }
        Some(DataElement::new(
            tag,
            vr,
            PrimitiveValue::Strs(shifted.into()),
        ))
    }
}

/// Shifts the `YYYYMMDD` at the start of a DA or DT value by `days`,
/// keeping the rest (a DT's time); `None` when it is not a date.
fn shift_date(value: &str, days: i64) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()?;
    let moved = date.checked_add_signed(chrono::TimeDelta::try_days(days)?)?;
    Some(format!("{}{}", moved.format("%Y%m%d"), &value[8..]))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// A code sequence item (Code Value, Coding Scheme Designator, Code Meaning).
pub fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from(scheme),
        ),
        DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_shift_and_keep_a_date_time_s_time() {
        assert_eq!(shift_date("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(
            shift_date("20240301120000.5", 30).as_deref(),
            Some("20240331120000.5")
        );
        assert_eq!(shift_date("garbage", 3), None);
    }

    #[test]
    fn uids_map_consistently_and_standard_uids_stay() {
        let mut d = Deidentifier::new(DeidOptions::default());
        let a = d.uid("1.2.3.4");
        assert_eq!(d.uid("1.2.3.4\0"), a);
        assert_ne!(d.uid("1.2.3.5"), a);
        assert!(a.starts_with("2.25.") && a.len() <= 64);
        assert_eq!(
            d.uid("1.2.840.10008.5.1.4.1.1.7"),
            "1.2.840.10008.5.1.4.1.1.7"
        );
    }
}
