//! DICOM exports written with `dicom-object`: a Secondary Capture of the
//! annotated key image and a Comprehensive SR with the AI findings and the
//! reader's impression, both new instances in new series under the source
//! study, referencing the source image (and the SR the SC).
//!
//! The SR follows the shape of TID 1500 "Measurement Report" as far as it
//! fits a classifier: a root "Imaging Measurement Report" container with
//! the observer, an "Imaging Measurements" container holding one
//! "Measurement Group" per finding (label, probability, operating point,
//! the call, algorithm name and version, engine, the source image and the
//! illustrating SC), then the impression. Concepts without a standard code
//! use the local coding scheme `99HILUM`, declared in the Coding Scheme
//! Identification Sequence.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use image::RgbaImage;

use super::deid::{code_item, new_uid};
use super::keyimage::KeyImage;
use super::{Report, ReportError, output};

/// Secondary Capture Image Storage.
pub const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";
/// Comprehensive SR Storage.
pub const COMPREHENSIVE_SR: &str = "1.2.840.10008.5.1.4.1.1.88.33";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// The local coding scheme for concepts DICOM has no code for.
pub const LOCAL_SCHEME: &str = "99HILUM";

/// A built DICOM object, before it is written.
#[derive(Debug, Clone)]
pub struct Built {
    /// The data set.
    pub dataset: InMemDicomObject,
}

impl Built {
    /// Its SOP Instance UID.
    pub fn sop_instance_uid(&self) -> String {
        text(&self.dataset, tags::SOP_INSTANCE_UID).unwrap_or_default()
    }

    /// Its SOP Class UID.
    pub fn sop_class_uid(&self) -> String {
        text(&self.dataset, tags::SOP_CLASS_UID).unwrap_or_default()
    }

    /// Its Series Instance UID.
    pub fn series_instance_uid(&self) -> String {
        text(&self.dataset, tags::SERIES_INSTANCE_UID).unwrap_or_default()
    }
}

pub(super) fn text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    ds.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches('\0').trim().to_string())
        .filter(|s| !s.is_empty())
}

pub(super) fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> InMemElement {
    DataElement::new(tag, vr, value.into())
}

pub(super) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

/// What the exports copy from the source and share between them.
#[derive(Debug, Clone)]
pub struct Context {
    /// Patient and General Study module attributes of the source (empty
    /// values where it has none).
    study: Vec<InMemElement>,
    /// Study Instance UID (the source's, or a new one for raster sources).
    pub study_instance_uid: String,
    /// The source image: (SOP Class, SOP Instance, Series Instance UID).
    pub source: Option<(String, String, String)>,
    /// The source frame (1-based, for multi-frame sources).
    pub source_frame: Option<usize>,
    /// Content Date and Time (now).
    date: String,
    time: String,
}

impl Context {
    /// The context of exporting `key`, whose source data set (for DICOM
    /// sources) is `source`.
    pub fn new(key: &KeyImage<'_>, source: Option<&InMemDicomObject>) -> Self {
        let now = chrono::Local::now();
        let copy = |tag: Tag, vr: VR| match source.and_then(|s| s.get(tag)) {
            Some(e) => e.clone(),
            None => DataElement::empty(tag, vr),
        };
        let study = vec![
            copy(tags::PATIENT_NAME, VR::PN),
            copy(tags::PATIENT_ID, VR::LO),
            copy(tags::PATIENT_BIRTH_DATE, VR::DA),
            copy(tags::PATIENT_SEX, VR::CS),
            copy(tags::STUDY_DATE, VR::DA),
            copy(tags::STUDY_TIME, VR::TM),
            copy(tags::REFERRING_PHYSICIAN_NAME, VR::PN),
            copy(tags::STUDY_ID, VR::SH),
            copy(tags::ACCESSION_NUMBER, VR::SH),
            copy(tags::STUDY_DESCRIPTION, VR::LO),
        ];
        let study_instance_uid = source
            .and_then(|s| text(s, tags::STUDY_INSTANCE_UID))
            .unwrap_or_else(new_uid);
        let uids = source.and_then(|s| {
            Some((
                text(s, tags::SOP_CLASS_UID)?,
                text(s, tags::SOP_INSTANCE_UID)?,
                text(s, tags::SERIES_INSTANCE_UID)?,
            ))
        });
        Self {
            study,
            study_instance_uid,
            source: uids,
            source_frame: (key.image.pixels.frames > 1).then_some(key.frame + 1),
            date: now.format("%Y%m%d").to_string(),
            time: now.format("%H%M%S").to_string(),
        }
    }

    /// The common attributes of a new instance of `sop_class` in a new
    /// series of `modality` under the source study.
    pub(super) fn common(
        &self,
        sop_class: &str,
        modality: &str,
        series_number: i32,
    ) -> InMemDicomObject {
        let mut ds = InMemDicomObject::from_element_iter(self.study.iter().cloned());
        for e in [
            el(tags::SOP_CLASS_UID, VR::UI, sop_class),
            el(tags::SOP_INSTANCE_UID, VR::UI, new_uid()),
            el(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                self.study_instance_uid.as_str(),
            ),
            el(tags::SERIES_INSTANCE_UID, VR::UI, new_uid()),
            el(tags::MODALITY, VR::CS, modality),
            el(tags::SERIES_NUMBER, VR::IS, series_number.to_string()),
            el(tags::INSTANCE_NUMBER, VR::IS, "1"),
            el(tags::MANUFACTURER, VR::LO, "Hilum"),
            el(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
            el(tags::CONTENT_DATE, VR::DA, self.date.as_str()),
            el(tags::CONTENT_TIME, VR::TM, self.time.as_str()),
            el(tags::INSTANCE_CREATION_DATE, VR::DA, self.date.as_str()),
            el(tags::INSTANCE_CREATION_TIME, VR::TM, self.time.as_str()),
        ] {
            ds.put(e);
        }
        ds
    }

    pub(super) fn source_reference(&self) -> Option<InMemDicomObject> {
        let (class, instance, _) = self.source.as_ref()?;
        let mut item = InMemDicomObject::from_element_iter([
            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class.as_str()),
            el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance.as_str()),
        ]);
        if let Some(frame) = self.source_frame {
            item.put(el(tags::REFERENCED_FRAME_NUMBER, VR::IS, frame.to_string()));
        }
        Some(item)
    }
}

/// The Secondary Capture of the composed key image (RGB, overlays burned
/// in, Burned In Annotation = YES), referencing the source image.
pub fn secondary_capture(context: &Context, key_image: &RgbaImage) -> Built {
    let mut ds = context.common(SECONDARY_CAPTURE, "OT", 9001);
    let rgb = image::DynamicImage::ImageRgba8(key_image.clone()).to_rgb8();
    let (w, h) = rgb.dimensions();
    let mut pixels = rgb.into_raw();
    if pixels.len() % 2 == 1 {
        pixels.push(0);
    }
    for e in [
        el(tags::SERIES_DESCRIPTION, VR::LO, "Hilum key image"),
        el(tags::CONVERSION_TYPE, VR::CS, "WSD"),
        DataElement::empty(tags::LATERALITY, VR::CS),
        DataElement::empty(tags::PATIENT_ORIENTATION, VR::CS),
        el(
            tags::IMAGE_TYPE,
            VR::CS,
            PrimitiveValue::Strs(["DERIVED".to_string(), "SECONDARY".to_string()].into()),
        ),
        el(tags::BURNED_IN_ANNOTATION, VR::CS, "YES"),
        el(
            tags::DERIVATION_DESCRIPTION,
            VR::ST,
            "Key image as displayed, with measurements, annotations, AI result and heatmap burned in",
        ),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 3u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
        el(tags::PLANAR_CONFIGURATION, VR::US, 0u16),
        el(tags::ROWS, VR::US, h as u16),
        el(tags::COLUMNS, VR::US, w as u16),
        el(tags::BITS_ALLOCATED, VR::US, 8u16),
        el(tags::BITS_STORED, VR::US, 8u16),
        el(tags::HIGH_BIT, VR::US, 7u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 0u16),
        el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        el(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(pixels.into())),
    ] {
        ds.put(e);
    }
    if let Some(reference) = context.source_reference() {
        ds.put(seq(tags::SOURCE_IMAGE_SEQUENCE, vec![reference]));
    }
    Built { dataset: ds }
}

pub(super) fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    code_item(value, scheme, meaning)
}

/// A content item: relationship (none for the root), value type, concept
/// name, and its value attributes.
fn item(
    relationship: &str,
    value_type: &str,
    concept: InMemDicomObject,
    value: Vec<InMemElement>,
) -> InMemDicomObject {
    let mut ds = InMemDicomObject::from_element_iter([
        el(tags::RELATIONSHIP_TYPE, VR::CS, relationship),
        el(tags::VALUE_TYPE, VR::CS, value_type),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]),
    ]);
    for e in value {
        ds.put(e);
    }
    ds
}

pub(super) fn text_item(concept: InMemDicomObject, value: &str) -> InMemDicomObject {
    item(
        "CONTAINS",
        "TEXT",
        concept,
        vec![el(tags::TEXT_VALUE, VR::UT, value)],
    )
}

/// A decimal string of at most 16 characters.
pub(super) fn ds_value(v: f64) -> String {
    let mut s = format!("{v:.6}");
    while s.contains('.') && (s.ends_with('0') || s.ends_with('.')) {
        s.pop();
    }
    s.chars().take(16).collect()
}

fn num_item(concept: InMemDicomObject, value: f64) -> InMemDicomObject {
    let measured = InMemDicomObject::from_element_iter([
        seq(
            tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
            vec![code("1", "UCUM", "no units")],
        ),
        el(tags::NUMERIC_VALUE, VR::DS, ds_value(value)),
    ]);
    item(
        "CONTAINS",
        "NUM",
        concept,
        vec![seq(tags::MEASURED_VALUE_SEQUENCE, vec![measured])],
    )
}

fn image_item(concept: InMemDicomObject, reference: InMemDicomObject) -> InMemDicomObject {
    item(
        "CONTAINS",
        "IMAGE",
        concept,
        vec![seq(tags::REFERENCED_SOP_SEQUENCE, vec![reference])],
    )
}

fn container(
    relationship: &str,
    concept: InMemDicomObject,
    children: Vec<InMemDicomObject>,
) -> InMemDicomObject {
    item(
        relationship,
        "CONTAINER",
        concept,
        vec![
            el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            seq(tags::CONTENT_SEQUENCE, children),
        ],
    )
}

pub(super) fn local(value: &str, meaning: &str) -> InMemDicomObject {
    code(value, LOCAL_SCHEME, meaning)
}

/// The Comprehensive SR of `report`, referencing the source image and,
/// when given, the exported Secondary Capture.
pub fn structured_report(context: &Context, report: &Report<'_>, sc: Option<&Built>) -> Built {
    let mut ds = context.common(COMPREHENSIVE_SR, "SR", 9002);
    let key = &report.key_images[0];
    let sc_reference = sc.map(|sc| {
        InMemDicomObject::from_element_iter([
            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sc.sop_class_uid()),
            el(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                sc.sop_instance_uid(),
            ),
        ])
    });
    let mut content = Vec::new();
    if !report.reader.trim().is_empty() {
        let observer_type = item(
            "HAS OBS CONTEXT",
            "CODE",
            code("121005", "DCM", "Observer Type"),
            vec![seq(
                tags::CONCEPT_CODE_SEQUENCE,
                vec![code("121006", "DCM", "Person")],
            )],
        );
        content.push(observer_type);
        content.push(item(
            "HAS OBS CONTEXT",
            "PNAME",
            code("121008", "DCM", "Person Observer Name"),
            vec![el(tags::PERSON_NAME, VR::PN, report.reader.trim())],
        ));
    }
    let mut groups = Vec::new();
    if let Some(ai) = &report.ai {
        let c = &ai.classification;
        for f in c.findings.iter().filter(|f| f.is_finding) {
            let mut group = vec![
                text_item(code("121071", "DCM", "Finding"), &f.label),
                num_item(local("PROB", "AI probability"), f.probability as f64),
            ];
            if let Some(t) = f.threshold {
                group.push(num_item(local("OPPT", "Operating point"), t as f64));
            }
            group.push(text_item(
                local("CALL", "Relation to operating point"),
                &f.wording(),
            ));
            group.push(text_item(
                code("111001", "DCM", "Algorithm Name"),
                &c.model_name,
            ));
            group.push(text_item(
                code("111003", "DCM", "Algorithm Version"),
                &c.model_version,
            ));
            group.push(text_item(
                local("ENGINE", "Inference engine and execution provider"),
                &ai.engine_line(),
            ));
            if let Some(h) = key.heatmap {
                group.push(text_item(local("SALMAP", "Saliency map"), &h.caption()));
                if let Some(fa) = &h.faithfulness {
                    group.push(text_item(
                        local("SALVER", "Saliency map faithfulness verdict"),
                        fa.verdict.as_str(),
                    ));
                    group.push(text_item(
                        local("SALWHY", "Saliency map faithfulness reason"),
                        &fa.reason,
                    ));
                    group.push(num_item(
                        local("DELSAL", "Deletion metric: log-odds drop, salient pixels"),
                        fa.salient_score_drop,
                    ));
                    group.push(num_item(
                        local(
                            "DELRND",
                            "Deletion metric: mean log-odds drop, random pixels",
                        ),
                        fa.random_score_drop_mean,
                    ));
                }
            }
            if let Some(reference) = context.source_reference() {
                group.push(image_item(
                    code("121112", "DCM", "Source of Measurement"),
                    reference,
                ));
            }
            if let Some(reference) = &sc_reference {
                group.push(image_item(
                    code("121200", "DCM", "Illustration of Finding"),
                    reference.clone(),
                ));
            }
            groups.push(container(
                "CONTAINS",
                code("125007", "DCM", "Measurement Group"),
                group,
            ));
        }
    }
    if groups.is_empty() {
        // No AI result: the images are still referenced.
        if let Some(reference) = context.source_reference() {
            groups.push(image_item(
                code("121112", "DCM", "Source of Measurement"),
                reference,
            ));
        }
        if let Some(reference) = &sc_reference {
            groups.push(image_item(
                code("121200", "DCM", "Illustration of Finding"),
                reference.clone(),
            ));
        }
    }
    if !groups.is_empty() {
        content.push(container(
            "CONTAINS",
            code("126010", "DCM", "Imaging Measurements"),
            groups,
        ));
    }
    if !report.impression.trim().is_empty() {
        content.push(text_item(
            code("121073", "DCM", "Impression"),
            report.impression.trim(),
        ));
    }
    for e in [
        el(tags::SERIES_DESCRIPTION, VR::LO, "Hilum AI report"),
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        seq(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("126000", "DCM", "Imaging Measurement Report")],
        ),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        el(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
        el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
        seq(tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE, vec![]),
        seq(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]),
        seq(tags::CONTENT_SEQUENCE, content),
        seq(
            tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, LOCAL_SCHEME),
                el(tags::CODING_SCHEME_NAME, VR::ST, "Hilum local codes"),
                el(
                    tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION,
                    VR::ST,
                    "Hilum project",
                ),
            ])],
        ),
    ] {
        ds.put(e);
    }
    // Evidence: every instance the document references, by study and series.
    let mut series: Vec<(String, Vec<InMemDicomObject>)> = Vec::new();
    let mut add = |series_uid: String, class: String, instance: String| {
        let reference = InMemDicomObject::from_element_iter([
            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
            el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance),
        ]);
        match series.iter_mut().find(|(s, _)| *s == series_uid) {
            Some((_, refs)) => refs.push(reference),
            None => series.push((series_uid, vec![reference])),
        }
    };
    if let Some((class, instance, series_uid)) = &context.source {
        add(series_uid.clone(), class.clone(), instance.clone());
    }
    if let Some(sc) = sc {
        add(
            sc.series_instance_uid(),
            sc.sop_class_uid(),
            sc.sop_instance_uid(),
        );
    }
    if !series.is_empty() {
        let series_items = series
            .into_iter()
            .map(|(uid, refs)| {
                InMemDicomObject::from_element_iter([
                    el(tags::SERIES_INSTANCE_UID, VR::UI, uid),
                    seq(tags::REFERENCED_SOP_SEQUENCE, refs),
                ])
            })
            .collect();
        ds.put(seq(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(
                    tags::STUDY_INSTANCE_UID,
                    VR::UI,
                    context.study_instance_uid.as_str(),
                ),
                seq(tags::REFERENCED_SERIES_SEQUENCE, series_items),
            ])],
        ));
    }
    Built { dataset: ds }
}

/// True when any text value in `ds` (through sequences) is not ASCII.
fn has_non_ascii_text(ds: &InMemDicomObject) -> bool {
    ds.iter().any(|e| match e.value() {
        Value::Sequence(seq) => seq.items().iter().any(has_non_ascii_text),
        Value::Primitive(PrimitiveValue::Str(s)) => !s.is_ascii(),
        Value::Primitive(PrimitiveValue::Strs(v)) => v.iter().any(|s| !s.is_ascii()),
        _ => false,
    })
}

/// Encodes `dataset` as a Part 10 file (explicit VR little endian) and
/// writes it atomically to `path`. UTF-8 (ISO_IR 192) is declared only when
/// some text needs it, so plain-ASCII objects use the default repertoire
/// every reader supports.
pub fn write(mut dataset: InMemDicomObject, path: &Path) -> Result<(), ReportError> {
    if has_non_ascii_text(&dataset) {
        dataset.put(el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    } else {
        dataset.remove_element(tags::SPECIFIC_CHARACTER_SET);
    }
    write_part10(dataset, EXPLICIT_VR_LE, path)
}

/// Encodes `dataset` as a Part 10 file in `transfer_syntax`, with File Meta
/// naming its SOP Class and Instance (a new instance UID when it has none),
/// and writes it atomically to `path`.
pub fn write_part10(
    dataset: InMemDicomObject,
    transfer_syntax: &str,
    path: &Path,
) -> Result<(), ReportError> {
    let error = |reason: String| ReportError::Dicom {
        path: path.to_path_buf(),
        reason,
    };
    let class = text(&dataset, tags::SOP_CLASS_UID).unwrap_or_else(|| SECONDARY_CAPTURE.into());
    let instance = text(&dataset, tags::SOP_INSTANCE_UID).unwrap_or_else(new_uid);
    let file = dataset
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(transfer_syntax)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(instance)
                .implementation_version_name(super::IMPLEMENTATION_VERSION_NAME),
        )
        .map_err(|e| error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| error(e.to_string()))?;
    Ok(output::write_file(path, &bytes)?)
}
