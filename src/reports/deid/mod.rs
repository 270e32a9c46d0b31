//! De-identification after DICOM PS3.15 Annex E, from the standard's own
//! Table E.1-1 (edition [`table::EDITION`], generated into [`table`] by
//! `scripts/gen_deid_table.py`), applied to every attribute of a data set
//! and of every item of its sequences:
//!
//! - each attribute the table lists gets the Basic Profile's action, or
//!   the action of a chosen option column (K keeps, C cleans): D a dummy
//!   value, Z an empty value, X removed, U UIDs replaced consistently
//!   within one [`Deidentifier`] (so references between exported objects
//!   hold); compound codes take the member valid in every IOD (see
//!   [`rules::Action::resolved`]);
//! - attributes the table does not list are safe by default: private
//!   attributes, overlays, curves and opaque bytes (OB, UN...) are
//!   removed, free text, dates and person names emptied (an IOD may
//!   require them, Type 2), unless they are on a short keep-list of what
//!   showing the image needs; numbers and class UIDs stay, other UIDs are
//!   replaced;
//! - C (clean) keeps a descriptor's text with every identifying value of
//!   the data set (names, IDs, dates, addresses, UIDs: the values the
//!   profile removes) scrubbed out; it cannot find identity the data set
//!   does not carry elsewhere (a stranger's name typed into a comment), so
//!   the Clean options are choices for the user to make, off by default;
//! - Patient Identity Removed = YES, De-identification Method (the
//!   profile, options and edition) with its code sequence (CID 7050) and
//!   Longitudinal Temporal Information Modified are set.
//!
//! Pixel data is never touched, so text burned into the pixels survives:
//! a source marked Burned In Annotation = YES is refused unless the caller
//! overrides ([`DeidOptions::allow_burned_in_annotation`]). The Retain
//! Safe Private Option is not supported (private attributes always go).

/// The value a dummy (action D) text attribute gets: derived from nothing
/// in the source.
pub const DUMMY_TEXT: &str = "ANONYMIZED";

pub mod rules;
pub mod table;
mod values;
mod walk;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use self::rules::Column;
use self::walk::Unlisted;

/// How dates are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateHandling {
    /// Dates, times and date-times get the Basic Profile's action (mostly
    /// emptied or removed).
    #[default]
    Remove,
    /// Dates and times are kept (Retain Longitudinal Temporal Information
    /// with Full Dates Option).
    Keep,
    /// Dates (and the date part of date-times) move by `days`; times stay
    /// (Retain Longitudinal Temporal Information with Modified Dates).
    Shift {
        /// Days added (negative: earlier).
        days: i64,
    },
}

/// De-identification settings: the option columns of Table E.1-1 (all off
/// is the Basic Profile alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeidOptions {
    /// What happens to dates (the two Longitudinal Temporal options).
    pub dates: DateHandling,
    /// Retain UIDs Option: UIDs are kept, not replaced.
    pub retain_uids: bool,
    /// Retain Device Identity Option (station names, serial numbers...).
    pub retain_device_identity: bool,
    /// Retain Institution Identity Option.
    pub retain_institution_identity: bool,
    /// Retain Patient Characteristics Option (sex, age, size, weight...).
    pub retain_patient_characteristics: bool,
    /// Clean Descriptors Option: descriptions and comments are kept with
    /// the data set's identifying values scrubbed out.
    pub clean_descriptors: bool,
    /// Clean Structured Content Option: SR content and acquisition context
    /// are kept, cleaned likewise.
    pub clean_structured_content: bool,
    /// Clean Graphics Option: graphic annotations are kept, cleaned
    /// likewise (overlay and curve bitmaps are still removed).
    pub clean_graphics: bool,
    /// Export a source marked Burned In Annotation = YES anyway (the
    /// identifying text in its pixels stays).
    pub allow_burned_in_annotation: bool,
}

impl DeidOptions {
    /// The option columns of Table E.1-1 these options choose.
    pub fn columns(&self) -> Vec<Column> {
        let mut columns = Vec::new();
        for (on, column) in [
            (self.retain_uids, Column::RetainUids),
            (self.retain_device_identity, Column::RetainDeviceIdentity),
            (
                self.retain_institution_identity,
                Column::RetainInstitutionIdentity,
            ),
            (
                self.retain_patient_characteristics,
                Column::RetainPatientCharacteristics,
            ),
            (self.dates == DateHandling::Keep, Column::RetainFullDates),
            (
                matches!(self.dates, DateHandling::Shift { .. }),
                Column::RetainModifiedDates,
            ),
            (self.clean_descriptors, Column::CleanDescriptors),
            (
                self.clean_structured_content,
                Column::CleanStructuredContent,
            ),
            (self.clean_graphics, Column::CleanGraphics),
        ] {
            if on {
                columns.push(column);
            }
        }
        columns
    }
}

/// The CID 7050 code and meaning of an option column.
fn option_code(column: Column) -> (&'static str, &'static str) {
    match column {
        Column::RetainSafePrivate => ("113111", "Retain Safe Private Option"),
        Column::RetainUids => ("113110", "Retain UIDs Option"),
        Column::RetainDeviceIdentity => ("113109", "Retain Device Identity Option"),
        Column::RetainInstitutionIdentity => ("113112", "Retain Institution Identity Option"),
        Column::RetainPatientCharacteristics => ("113108", "Retain Patient Characteristics Option"),
        Column::RetainFullDates => (
            "113106",
            "Retain Longitudinal Temporal Information Full Dates Option",
        ),
        Column::RetainModifiedDates => (
            "113107",
            "Retain Longitudinal Temporal Information Modified Dates Option",
        ),
        Column::CleanDescriptors => ("113105", "Clean Descriptors Option"),
        Column::CleanStructuredContent => ("113104", "Clean Structured Content Option"),
        Column::CleanGraphics => ("113103", "Clean Graphics Option"),
    }
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
    /// The option columns of `options`.
    columns: Vec<Column>,
    uids: HashMap<String, String>,
    /// The identifying values of the data set being de-identified, longest
    /// first: scrubbed out of the text that action C keeps.
    identifiers: Vec<String>,
    /// Set while de-identifying a report object this program generated
    /// (an SR), whose Content Sequence is the report itself.
    generating: bool,
}

impl Deidentifier {
    /// A de-identifier with `options` and no UIDs mapped yet.
    pub fn new(options: DeidOptions) -> Self {
        Self {
            options,
            columns: options.columns(),
            ..Self::default()
        }
    }

    /// The options.
    pub fn options(&self) -> &DeidOptions {
        &self.options
    }

    /// The replacement of `uid` in this export (made on first use); the
    /// standard's own UIDs stay.
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
    /// report, and its other text (which this program wrote) are kept,
    /// cleaned (identifying values of the data set scrubbed out, names and
    /// UIDs acted on by the table) instead of removed.
    pub fn apply_generated(&mut self, dataset: &mut InMemDicomObject) {
        self.generating = true;
        self.apply_in(dataset, Unlisted::Scrub);
        self.generating = false;
    }

    /// De-identifies `dataset` in place and marks it as de-identified.
    pub fn apply(&mut self, dataset: &mut InMemDicomObject) {
        self.apply_in(dataset, Unlisted::Remove);
    }

    fn apply_in(&mut self, dataset: &mut InMemDicomObject, mode: Unlisted) {
        // Text is scrubbed only under an option with C actions or in a
        // generated object; the Basic Profile alone needs no identifiers.
        if mode == Unlisted::Scrub || !self.columns.is_empty() {
            let mut identifiers = Vec::new();
            self.collect_identifiers(dataset, &mut identifiers);
            // The originals of UIDs mapped so far (other objects of this
            // export).
            identifiers.extend(self.uids.keys().cloned());
            values::order_identifiers(&mut identifiers);
            self.identifiers = identifiers;
        }
        let taken = std::mem::replace(dataset, InMemDicomObject::new_empty());
        *dataset = self.walk(taken, mode);
        self.identifiers.clear();
        self.mark(dataset);
    }

    /// Patient Identity Removed, De-identification Method (and its code
    /// sequence) and Longitudinal Temporal Information Modified.
    fn mark(&self, dataset: &mut InMemDicomObject) {
        let mut method = vec![
            format!("Hilum {}", env!("CARGO_PKG_VERSION")),
            format!("DICOM PS3.15 {} Table E.1-1", table::EDITION),
            "Basic Application Confidentiality Profile".to_string(),
        ];
        let mut codes = vec![code_item(
            "113100",
            "DCM",
            "Basic Application Confidentiality Profile",
        )];
        for column in &self.columns {
            let (code, meaning) = option_code(*column);
            method.push(meaning.to_string());
            codes.push(code_item(code, "DCM", meaning));
        }
        if let DateHandling::Shift { days } = self.options.dates {
            method.push(format!("Dates shifted by {days} days"));
        }
        method.push("Private attributes, overlays and curves removed".into());
        let method: Vec<String> = method.iter().map(|m| truncate(m, 64)).collect();
        dataset.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
        dataset.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::Strs(method.into()),
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
                DateHandling::Keep => "UNMODIFIED",
                DateHandling::Shift { .. } => "MODIFIED",
            }),
        ));
    }
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

    #[test]
    fn options_name_their_columns() {
        let options = DeidOptions {
            dates: DateHandling::Shift { days: -3 },
            clean_descriptors: true,
            ..DeidOptions::default()
        };
        assert_eq!(
            options.columns(),
            [Column::RetainModifiedDates, Column::CleanDescriptors]
        );
        assert!(DeidOptions::default().columns().is_empty());
    }
}
