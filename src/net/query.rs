//! What to look for in a PACS and what comes back, the same for QIDO-RS
//! and C-FIND: [`QueryKeys`] in, [`Row`]s out, keyed by DICOM keyword with
//! person names as text and counts as numbers.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value};

/// One match: DICOM keyword → value (text, an integer for counts and
/// numbers, `null` when the peer left it empty). Multiple values are joined
/// with `\`, as DICOM writes them.
pub type Row = Map<String, Value>;

/// The query/retrieve level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Level {
    /// Studies.
    #[default]
    Study,
    /// Series of a study (or of all studies).
    Series,
    /// Instances (images) of a series.
    Instance,
}

impl Level {
    /// The Query/Retrieve Level value (0008,0052).
    pub fn dicom_name(self) -> &'static str {
        match self {
            Level::Study => "STUDY",
            Level::Series => "SERIES",
            Level::Instance => "IMAGE",
        }
    }
}

/// How an attribute's value is shown in a [`Row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
}

/// An attribute a query asks the peer to return.
#[derive(Debug, Clone, Copy)]
pub struct ReturnKey {
    /// The DICOM keyword, the key in a [`Row`].
    pub keyword: &'static str,
    /// The tag.
    pub tag: Tag,
    /// Its value representation.
    pub vr: VR,
    kind: Kind,
}

const fn key(keyword: &'static str, tag: Tag, vr: VR, kind: Kind) -> ReturnKey {
    ReturnKey {
        keyword,
        tag,
        vr,
        kind,
    }
}

const STUDY_KEYS: &[ReturnKey] = &[
    key(
        "StudyInstanceUID",
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        Kind::Text,
    ),
    key("PatientName", tags::PATIENT_NAME, VR::PN, Kind::Text),
    key("PatientID", tags::PATIENT_ID, VR::LO, Kind::Text),
    key(
        "PatientBirthDate",
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        Kind::Text,
    ),
    key("PatientSex", tags::PATIENT_SEX, VR::CS, Kind::Text),
    key("StudyDate", tags::STUDY_DATE, VR::DA, Kind::Text),
    key("StudyTime", tags::STUDY_TIME, VR::TM, Kind::Text),
    key(
        "StudyDescription",
        tags::STUDY_DESCRIPTION,
        VR::LO,
        Kind::Text,
    ),
    key(
        "AccessionNumber",
        tags::ACCESSION_NUMBER,
        VR::SH,
        Kind::Text,
    ),
    key("StudyID", tags::STUDY_ID, VR::SH, Kind::Text),
    key(
        "SOPClassesInStudy",
        tags::SOP_CLASSES_IN_STUDY,
        VR::UI,
        Kind::Text,
    ),
    key(
        "ModalitiesInStudy",
        tags::MODALITIES_IN_STUDY,
        VR::CS,
        Kind::Text,
    ),
    key(
        "NumberOfStudyRelatedSeries",
        tags::NUMBER_OF_STUDY_RELATED_SERIES,
        VR::IS,
        Kind::Integer,
    ),
    key(
        "NumberOfStudyRelatedInstances",
        tags::NUMBER_OF_STUDY_RELATED_INSTANCES,
        VR::IS,
        Kind::Integer,
    ),
];

const SERIES_KEYS: &[ReturnKey] = &[
    key(
        "StudyInstanceUID",
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        Kind::Text,
    ),
    key(
        "SeriesInstanceUID",
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        Kind::Text,
    ),
    key("Modality", tags::MODALITY, VR::CS, Kind::Text),
    key("SeriesNumber", tags::SERIES_NUMBER, VR::IS, Kind::Integer),
    key(
        "SeriesDescription",
        tags::SERIES_DESCRIPTION,
        VR::LO,
        Kind::Text,
    ),
    key("SeriesDate", tags::SERIES_DATE, VR::DA, Kind::Text),
    key(
        "BodyPartExamined",
        tags::BODY_PART_EXAMINED,
        VR::CS,
        Kind::Text,
    ),
    key(
        "NumberOfSeriesRelatedInstances",
        tags::NUMBER_OF_SERIES_RELATED_INSTANCES,
        VR::IS,
        Kind::Integer,
    ),
];

const INSTANCE_KEYS: &[ReturnKey] = &[
    key(
        "StudyInstanceUID",
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        Kind::Text,
    ),
    key(
        "SeriesInstanceUID",
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        Kind::Text,
    ),
    key("SOPInstanceUID", tags::SOP_INSTANCE_UID, VR::UI, Kind::Text),
    key("SOPClassUID", tags::SOP_CLASS_UID, VR::UI, Kind::Text),
    key(
        "InstanceNumber",
        tags::INSTANCE_NUMBER,
        VR::IS,
        Kind::Integer,
    ),
    key("Rows", tags::ROWS, VR::US, Kind::Integer),
    key("Columns", tags::COLUMNS, VR::US, Kind::Integer),
    key(
        "NumberOfFrames",
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        Kind::Integer,
    ),
];

/// The attributes returned at `level`, in the order rows list them.
pub fn return_keys(level: Level) -> &'static [ReturnKey] {
    match level {
        Level::Study => STUDY_KEYS,
        Level::Series => SERIES_KEYS,
        Level::Instance => INSTANCE_KEYS,
    }
}

/// What to look for. Empty fields match anything; `patient_name` may use
/// the DICOM wildcards `*` and `?`; `date` is `YYYYMMDD`, a range
/// `YYYYMMDD-YYYYMMDD`, or open-ended `YYYYMMDD-` / `-YYYYMMDD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryKeys {
    /// The level of the rows returned.
    pub level: Level,
    /// Study Instance UID.
    pub study_uid: Option<String>,
    /// Series Instance UID (series and instance levels).
    pub series_uid: Option<String>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Patient's Name pattern.
    pub patient_name: Option<String>,
    /// Accession Number.
    pub accession: Option<String>,
    /// Study Date or range.
    pub date: Option<String>,
    /// Modality (Modalities in Study at study level).
    pub modality: Option<String>,
}

impl QueryKeys {
    /// Checks the keys; the error says which one is wrong and why.
    pub fn validate(&self) -> Result<(), String> {
        for (name, uid) in [("--study", &self.study_uid), ("--series", &self.series_uid)] {
            if let Some(uid) = uid
                && !is_valid_uid(uid)
            {
                return Err(format!(
                    "{name} {uid:?} is not a UID (digits and dots, at most 64)"
                ));
            }
        }
        if let Some(date) = &self.date
            && !is_valid_date_range(date)
        {
            return Err(format!(
                "--date {date:?}: expected YYYYMMDD or YYYYMMDD-YYYYMMDD"
            ));
        }
        if self.level == Level::Instance && self.series_uid.is_none() && self.study_uid.is_none() {
            return Err("an instance-level query needs --study (and usually --series)".into());
        }
        for (name, value) in [
            ("--patient-id", &self.patient_id),
            ("--patient-name", &self.patient_name),
            ("--accession", &self.accession),
            ("--modality", &self.modality),
        ] {
            if let Some(value) = value
                && (value.contains('\\') || value.chars().any(char::is_control) || value.len() > 64)
            {
                return Err(format!(
                    "{name} {value:?} may not hold a backslash or control characters (at most 64)"
                ));
            }
        }
        Ok(())
    }

    /// The matching keys as (keyword, tag, VR, value), the ones both QIDO
    /// and C-FIND send.
    pub fn matching(&self) -> Vec<(&'static str, Tag, VR, String)> {
        let mut keys = Vec::new();
        let mut push = |keyword, tag, vr, value: &Option<String>| {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                keys.push((keyword, tag, vr, value.to_string()));
            }
        };
        push(
            "StudyInstanceUID",
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &self.study_uid,
        );
        if self.level != Level::Study {
            push(
                "SeriesInstanceUID",
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                &self.series_uid,
            );
        }
        if self.level == Level::Study {
            push("PatientID", tags::PATIENT_ID, VR::LO, &self.patient_id);
            push(
                "PatientName",
                tags::PATIENT_NAME,
                VR::PN,
                &self.patient_name,
            );
            push(
                "AccessionNumber",
                tags::ACCESSION_NUMBER,
                VR::SH,
                &self.accession,
            );
            push("StudyDate", tags::STUDY_DATE, VR::DA, &self.date);
            push(
                "ModalitiesInStudy",
                tags::MODALITIES_IN_STUDY,
                VR::CS,
                &self.modality,
            );
        } else if self.level == Level::Series {
            push("Modality", tags::MODALITY, VR::CS, &self.modality);
        }
        keys
    }

    /// The C-FIND identifier: Query/Retrieve Level, the matching keys and
    /// every return key of the level (empty, to be filled by the peer),
    /// with Specific Character Set ISO_IR 192 since the keys may be UTF-8.
    pub fn identifier(&self) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
        obj.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(self.level.dicom_name()),
        ));
        for key in return_keys(self.level) {
            obj.put(DataElement::new(key.tag, key.vr, PrimitiveValue::Empty));
        }
        for (_, tag, vr, value) in self.matching() {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        }
        obj
    }
}

/// Whether `uid` is a syntactically valid UID: 1 to 64 characters of
/// digits and dots, no empty component, no leading zero in a component.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'))
        })
}

fn is_valid_date(date: &str) -> bool {
    date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())
}

fn is_valid_date_range(text: &str) -> bool {
    match text.split_once('-') {
        None => is_valid_date(text),
        Some((from, to)) => {
            (from.is_empty() || is_valid_date(from))
                && (to.is_empty() || is_valid_date(to))
                && !(from.is_empty() && to.is_empty())
        }
    }
}

/// The row for one C-FIND answer (or any data set) at `level`.
pub fn row_from_object(obj: &InMemDicomObject, level: Level) -> Row {
    let mut row = Row::new();
    for key in return_keys(level) {
        let value = obj
            .element(key.tag)
            .ok()
            .and_then(|element| match key.kind {
                Kind::Integer => element.to_int::<i64>().ok().map(Value::from),
                Kind::Text => element
                    .to_str()
                    .ok()
                    .map(|text| text.trim_end_matches(['\0', ' ']).to_string())
                    .filter(|text| !text.is_empty())
                    .map(Value::from),
            })
            .unwrap_or(Value::Null);
        row.insert(key.keyword.to_string(), value);
    }
    row
}

/// The row for one QIDO-RS answer (the DICOM JSON model, PS3.18 F.2) at
/// `level`. Returns `None` when `item` is not a JSON object.
pub fn row_from_json(item: &Value, level: Level) -> Option<Row> {
    let attributes = item.as_object()?;
    let mut row = Row::new();
    for key in return_keys(level) {
        let tag = format!("{:04X}{:04X}", key.tag.group(), key.tag.element());
        let values = attributes
            .get(&tag)
            .and_then(|attribute| attribute.get("Value"))
            .and_then(Value::as_array);
        let value = values
            .map(|values| json_values(values, key.kind))
            .unwrap_or(Value::Null);
        row.insert(key.keyword.to_string(), value);
    }
    Some(row)
}

fn json_values(values: &[Value], kind: Kind) -> Value {
    let texts: Vec<String> = values
        .iter()
        .filter_map(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Object(name) => Some(person_name(name)),
            _ => None,
        })
        .collect();
    if texts.is_empty() {
        return Value::Null;
    }
    if kind == Kind::Integer
        && let [one] = &texts[..]
        && let Ok(number) = one.trim().parse::<i64>()
    {
        return Value::from(number);
    }
    Value::from(texts.join("\\"))
}

/// A DICOM JSON person name as DICOM text: `Alphabetic=Ideographic=
/// Phonetic`, trailing empty groups dropped.
fn person_name(name: &Map<String, Value>) -> String {
    let group = |key: &str| {
        name.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut groups = vec![group("Alphabetic"), group("Ideographic"), group("Phonetic")];
    while groups.len() > 1 && groups.last().is_some_and(String::is_empty) {
        groups.pop();
    }
    groups.join("=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let ok = QueryKeys {
            study_uid: Some("1.2.840.10008.1".into()),
            date: Some("20240101-".into()),
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        for (keys, why) in [
            (
                QueryKeys {
                    study_uid: Some("1..2".into()),
                    ..Default::default()
                },
                "not a UID",
            ),
            (
                QueryKeys {
                    study_uid: Some("1.02".into()),
                    ..Default::default()
                },
                "not a UID",
            ),
            (
                QueryKeys {
                    date: Some("2024-01-01".into()),
                    ..Default::default()
                },
                "YYYYMMDD",
            ),
            (
                QueryKeys {
                    patient_id: Some("a\\b".into()),
                    ..Default::default()
                },
                "backslash",
            ),
            (
                QueryKeys {
                    level: Level::Instance,
                    ..Default::default()
                },
                "needs --study",
            ),
        ] {
            let err = keys.validate().unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn qido_json_becomes_rows_with_names_as_text() {
        let item: Value = serde_json::json!({
            "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Jürgen"}]},
            "00080061": {"vr": "CS", "Value": ["CT", "SR"]},
            "00201208": {"vr": "IS", "Value": [12]},
            "00081030": {"vr": "LO"}
        });
        let row = row_from_json(&item, Level::Study).unwrap();
        assert_eq!(row["StudyInstanceUID"], "1.2.3");
        assert_eq!(row["PatientName"], "Müller^Jürgen");
        assert_eq!(row["ModalitiesInStudy"], "CT\\SR");
        assert_eq!(row["NumberOfStudyRelatedInstances"], 12);
        assert_eq!(row["StudyDescription"], Value::Null);
        assert_eq!(row.len(), return_keys(Level::Study).len());
    }

    #[test]
    fn the_find_identifier_asks_for_every_return_key() {
        let keys = QueryKeys {
            patient_name: Some("DOE*".into()),
            ..Default::default()
        };
        let identifier = keys.identifier();
        assert_eq!(
            identifier
                .element(tags::QUERY_RETRIEVE_LEVEL)
                .unwrap()
                .to_str()
                .unwrap(),
            "STUDY"
        );
        assert_eq!(
            identifier
                .element(tags::PATIENT_NAME)
                .unwrap()
                .to_str()
                .unwrap(),
            "DOE*"
        );
        assert!(
            identifier
                .element(tags::NUMBER_OF_STUDY_RELATED_INSTANCES)
                .is_ok()
        );
        let row = row_from_object(&identifier, Level::Study);
        assert_eq!(row["PatientName"], "DOE*");
        assert_eq!(row["StudyInstanceUID"], Value::Null);
    }
}
