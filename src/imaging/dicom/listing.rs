//! The attribute listing a tag browser shows: every element of a data set
//! before the pixel data, sequences flattened with their depth.

use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::open::open;
use super::{Kind, LoadOptions};
use crate::error::{ImagingError, ImagingResult};

/// One attribute of a data set, as a tag browser lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Nesting depth: 0 for the top level, 1 inside a sequence item, ...
    pub depth: usize,
    /// `(gggg,eeee)`.
    pub tag: String,
    /// The dictionary keyword (`PatientName`), or empty for private and
    /// unknown tags.
    pub keyword: String,
    /// The value representation.
    pub vr: String,
    /// The value as text, shortened to [`ATTRIBUTE_TEXT_LIMIT`] characters.
    pub value: String,
}

/// Longest value text kept per attribute.
pub const ATTRIBUTE_TEXT_LIMIT: usize = 120;

fn list_attributes(ds: &InMemDicomObject, depth: usize, out: &mut Vec<Attribute>) {
    use dicom_core::DataDictionary;
    use dicom_core::header::Header;
    for element in ds {
        let tag = element.tag();
        let keyword = dicom_dictionary_std::StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.alias.to_string())
            .unwrap_or_default();
        let value = match element.value() {
            Value::Primitive(p) if tag == tags::PIXEL_DATA => {
                format!("({} bytes)", p.calculate_byte_len())
            }
            Value::Primitive(p) => {
                let text = p.to_str();
                let mut short: String = text.chars().take(ATTRIBUTE_TEXT_LIMIT).collect();
                if text.chars().count() > ATTRIBUTE_TEXT_LIMIT {
                    short.push('…');
                }
                short
            }
            Value::Sequence(s) => format!("(sequence of {} items)", s.items().len()),
            Value::PixelSequence(s) => format!("(encapsulated, {} fragments)", s.fragments().len()),
        };
        out.push(Attribute {
            depth,
            tag: format!("({:04X},{:04X})", tag.group(), tag.element()),
            keyword,
            vr: element.vr().to_string().to_owned(),
            value,
        });
        if let Value::Sequence(s) = element.value() {
            for item in s.items() {
                list_attributes(item, depth + 1, out);
            }
        }
    }
}

/// Every attribute of a DICOM file's data set before the pixel data, in
/// file order, sequences flattened with their depth. Same parsing and
/// guards as [`super::load_dicom`]; never panics.
pub fn read_attributes(path: &Path, options: &LoadOptions) -> ImagingResult<Vec<Attribute>> {
    let run = || -> Result<Vec<Attribute>, Kind> {
        let opened = open(path, true, options.max_pixel_bytes)?;
        let mut out = Vec::new();
        list_attributes(opened.parsed.dataset(), 0, &mut out);
        Ok(out)
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}
