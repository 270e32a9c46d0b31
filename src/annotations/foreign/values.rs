//! Attribute accessors shared by the foreign-object readers: text, numbers,
//! sequences, codes, image references and pixel bytes, all tolerant (a
//! missing or unreadable value is `None` or empty, never a panic).

use std::borrow::Cow;

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{Code, SourceRef};

/// A data set or sequence item.
pub(super) type Ds = InMemDicomObject;

// One reading of a present, non-empty attribute for the whole crate.
pub(super) use crate::imaging::dicom::attributes::{element, text};

/// The text of `tag`, upper-cased (code strings compared case-insensitively).
pub(super) fn code_string(ds: &Ds, tag: Tag) -> Option<String> {
    text(ds, tag).map(|s| s.to_ascii_uppercase())
}

/// The first value of `tag` as a finite number.
pub(super) fn float(ds: &Ds, tag: Tag) -> Option<f64> {
    floats(ds, tag).into_iter().next().filter(|v| v.is_finite())
}

/// Every value of `tag` as numbers (non-finite values kept: callers check).
pub(super) fn floats(ds: &Ds, tag: Tag) -> Vec<f64> {
    element(ds, tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}

/// The first value of `tag` as an integer.
pub(super) fn int(ds: &Ds, tag: Tag) -> Option<i64> {
    ints(ds, tag).into_iter().next()
}

/// Every value of `tag` as integers.
pub(super) fn ints(ds: &Ds, tag: Tag) -> Vec<i64> {
    element(ds, tag)
        .and_then(|e| e.to_multi_int::<i64>().ok())
        .unwrap_or_default()
}

/// The items of sequence `tag` (empty when absent or not a sequence).
pub(super) fn items(ds: &Ds, tag: Tag) -> &[Ds] {
    ds.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The first item of sequence `tag`.
pub(super) fn first_item(ds: &Ds, tag: Tag) -> Option<&Ds> {
    items(ds, tag).first()
}

/// The code in the first item of code sequence `tag`.
pub(super) fn code(ds: &Ds, tag: Tag) -> Option<Code> {
    let item = first_item(ds, tag)?;
    let value = text(item, tags::CODE_VALUE)
        .or_else(|| text(item, tags::LONG_CODE_VALUE))
        .or_else(|| text(item, tags::URN_CODE_VALUE))
        .unwrap_or_default();
    let scheme = text(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default();
    let meaning = text(item, tags::CODE_MEANING).unwrap_or_else(|| value.clone());
    (!value.is_empty() || !meaning.is_empty()).then_some(Code {
        value,
        scheme,
        meaning,
    })
}

/// One image reference item: Referenced SOP Instance UID, class and
/// Referenced Frame Number; `None` without an instance UID.
pub(super) fn source_ref(item: &Ds) -> Option<SourceRef> {
    let sop_instance_uid = text(item, tags::REFERENCED_SOP_INSTANCE_UID)?;
    let frames = ints(item, tags::REFERENCED_FRAME_NUMBER)
        .into_iter()
        .filter_map(|n| u32::try_from(n).ok().filter(|&n| n >= 1))
        .collect();
    Some(SourceRef {
        sop_instance_uid,
        sop_class_uid: text(item, tags::REFERENCED_SOP_CLASS_UID),
        frames,
    })
}

/// The image references in the items of sequence `tag`.
pub(super) fn source_refs(ds: &Ds, tag: Tag) -> Vec<SourceRef> {
    items(ds, tag).iter().filter_map(source_ref).collect()
}

/// The instances listed in a Referenced Series Sequence (`ReferencedInstance
/// Sequence` in enhanced objects, `ReferencedImageSequence` in presentation
/// states and `ReferencedSOPSequence` in SR evidence), with each series UID.
pub(super) fn referenced_series(ds: &Ds) -> Vec<(Option<String>, Vec<SourceRef>)> {
    items(ds, tags::REFERENCED_SERIES_SEQUENCE)
        .iter()
        .map(|series| {
            let mut refs = source_refs(series, tags::REFERENCED_INSTANCE_SEQUENCE);
            refs.extend(source_refs(series, tags::REFERENCED_IMAGE_SEQUENCE));
            refs.extend(source_refs(series, tags::REFERENCED_SOP_SEQUENCE));
            (text(series, tags::SERIES_INSTANCE_UID), refs)
        })
        .collect()
}

/// The item of functional group `group` for one frame: the frame's own
/// item of the Per-frame Functional Groups Sequence, else the shared one.
pub(super) fn functional<'a>(ds: &'a Ds, per_frame: Option<&'a Ds>, group: Tag) -> Option<&'a Ds> {
    per_frame.and_then(|f| first_item(f, group)).or_else(|| {
        first_item(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|s| first_item(s, group))
    })
}

/// The source images of one frame: Derivation Image Sequence > Source
/// Image Sequence of its per-frame item (or the shared item).
pub(super) fn frame_sources(ds: &Ds, per_frame: Option<&Ds>) -> Vec<SourceRef> {
    let from = |item: &Ds| -> Vec<SourceRef> {
        items(item, tags::DERIVATION_IMAGE_SEQUENCE)
            .iter()
            .flat_map(|d| source_refs(d, tags::SOURCE_IMAGE_SEQUENCE))
            .collect()
    };
    let own = per_frame.map(from).unwrap_or_default();
    if !own.is_empty() {
        return own;
    }
    first_item(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .map(from)
        .unwrap_or_default()
}

/// The bytes of a native (not encapsulated) pixel data element, in the
/// little-endian order the standard defines for packed and 8-bit data.
/// `Err` names what is wrong (encapsulated, not binary).
pub(super) fn pixel_bytes(ds: &Ds, tag: Tag) -> Result<Option<Cow<'_, [u8]>>, String> {
    let Some(e) = ds.get(tag) else {
        return Ok(None);
    };
    match e.value() {
        Value::Primitive(PrimitiveValue::U8(v)) => Ok(Some(Cow::Borrowed(&v[..]))),
        Value::Primitive(PrimitiveValue::U16(v)) => Ok(Some(Cow::Owned(
            v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        ))),
        Value::Primitive(PrimitiveValue::I16(v)) => Ok(Some(Cow::Owned(
            v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        ))),
        Value::Primitive(PrimitiveValue::Empty) => Ok(Some(Cow::Borrowed(&[]))),
        Value::PixelSequence(_) => Err("encapsulated (compressed) pixel data is not supported; \
                                        only native transfer syntaxes are read"
            .into()),
        _ => Err("pixel data is not binary".into()),
    }
}

/// A value for a reason string: `None` as "absent".
pub(super) fn shown(value: Option<&str>) -> &str {
    value.unwrap_or("absent")
}

/// Every value of a multi-valued text attribute, trimmed, empty ones left out.
pub(super) fn element_texts(ds: &Ds, tag: Tag) -> Vec<String> {
    element(ds, tag)
        .and_then(|e| e.to_multi_str().ok())
        .map(|v| {
            v.iter()
                .map(|s| {
                    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Content items (SR-style: concept name → value) as (name, value) text
/// pairs: TEXT, CODE, NUM (value and unit), UIDREF and similar; items
/// without a readable value are left out.
pub(super) fn content_pairs(items_: &[Ds]) -> Vec<(String, String)> {
    items_
        .iter()
        .filter_map(|item| {
            let name = code(item, tags::CONCEPT_NAME_CODE_SEQUENCE)?.meaning;
            let value = text(item, tags::TEXT_VALUE)
                .or_else(|| code(item, tags::CONCEPT_CODE_SEQUENCE).map(|c| c.meaning))
                .or_else(|| text(item, tags::UID))
                .or_else(|| {
                    let measured = first_item(item, tags::MEASURED_VALUE_SEQUENCE)?;
                    let number = text(measured, tags::NUMERIC_VALUE)?;
                    let unit = code(measured, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)
                        .map(|u| format!(" {}", u.value))
                        .unwrap_or_default();
                    Some(format!("{number}{unit}"))
                })?;
            Some((name, value))
        })
        .collect()
}
