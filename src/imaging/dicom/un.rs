//! Attributes stored with VR UN (Unknown) in an explicit VR file.
//!
//! Some writers (and every implicit-to-explicit conversion that lost the
//! dictionary) store standard attributes such as Rows or Bits Allocated as
//! UN. `dicom-parser` keeps their values as raw bytes, so reading Rows as a
//! number would take its first byte. The standard's attributes keep their
//! dictionary VR whatever VR they were stored with (PS3.5 6.2.2): this pass
//! decodes their bytes by the dictionary VR in the file's byte order.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;

/// Gives every UN attribute of `ds` (and of the items of its sequences) that
/// the standard dictionary knows its dictionary VR, decoding the bytes in
/// the given byte order. Pixel Data and attributes whose dictionary VR is a
/// sequence are left as they are.
pub(super) fn reinterpret(ds: &mut InMemDicomObject, big_endian: bool) {
    let tags: Vec<Tag> = ds
        .iter()
        .filter(|e| {
            (e.vr() == VR::UN && dictionary_vr(e.tag()).is_some())
                || (e.vr() == VR::SQ && holds_un(e.items()))
        })
        .map(|e| e.tag())
        .collect();
    for tag in tags {
        let Some(mut element) = ds.take(tag) else {
            continue;
        };
        if element.vr() == VR::SQ {
            if let Some(items) = element.items_mut() {
                // The pre-scan bounds nesting, so this recursion is shallow.
                for item in items.iter_mut() {
                    reinterpret(item, big_endian);
                }
            }
            ds.put(element);
            continue;
        }
        let replaced = match element.value() {
            Value::Primitive(PrimitiveValue::U8(bytes)) if tag != tags::PIXEL_DATA => {
                dictionary_vr(tag).and_then(|vr| {
                    decode(bytes, vr, big_endian).map(|v| DataElement::new(tag, vr, v))
                })
            }
            _ => None,
        };
        ds.put(replaced.unwrap_or(element));
    }
}

/// True when an item of `items` holds a UN element at any depth (sequences
/// without one are left untouched, lengths and all).
fn holds_un(items: Option<&[InMemDicomObject]>) -> bool {
    items.unwrap_or_default().iter().any(|item| {
        item.iter()
            .any(|e| e.vr() == VR::UN || (e.vr() == VR::SQ && holds_un(e.items())))
    })
}

/// The VR the standard dictionary gives `tag`, when it is one value
/// representation that this pass can decode from bytes.
fn dictionary_vr(tag: Tag) -> Option<VR> {
    let entry = StandardDataDictionary.by_tag(tag)?;
    let vr = match entry.vr() {
        VirtualVr::Exact(vr) => vr,
        // US or SS by Pixel Representation: read as US, which the pixel
        // pipeline reinterprets where the sign matters (LUT descriptors).
        VirtualVr::Xs => VR::US,
        VirtualVr::Lt => VR::US,
        _ => return None,
    };
    (!matches!(vr, VR::SQ | VR::UN | VR::OB | VR::OW)).then_some(vr)
}

/// Decodes `bytes` as values of `vr`; `None` when the length does not fit
/// the VR (the bytes then stay as they are).
fn decode(bytes: &[u8], vr: VR, big_endian: bool) -> Option<PrimitiveValue> {
    fn numbers<const N: usize, T>(
        bytes: &[u8],
        big_endian: bool,
        from_le: fn([u8; N]) -> T,
        from_be: fn([u8; N]) -> T,
    ) -> Option<Vec<T>> {
        if !bytes.len().is_multiple_of(N) {
            return None;
        }
        let convert = if big_endian { from_be } else { from_le };
        Some(
            bytes
                .chunks_exact(N)
                .map(|c| convert(c.try_into().expect("chunks are N bytes")))
                .collect(),
        )
    }
    let b = big_endian;
    Some(match vr {
        VR::US | VR::OW => {
            PrimitiveValue::U16(numbers(bytes, b, u16::from_le_bytes, u16::from_be_bytes)?.into())
        }
        VR::SS => {
            PrimitiveValue::I16(numbers(bytes, b, i16::from_le_bytes, i16::from_be_bytes)?.into())
        }
        VR::UL | VR::OL => {
            PrimitiveValue::U32(numbers(bytes, b, u32::from_le_bytes, u32::from_be_bytes)?.into())
        }
        VR::SL => {
            PrimitiveValue::I32(numbers(bytes, b, i32::from_le_bytes, i32::from_be_bytes)?.into())
        }
        VR::UV | VR::OV => {
            PrimitiveValue::U64(numbers(bytes, b, u64::from_le_bytes, u64::from_be_bytes)?.into())
        }
        VR::SV => {
            PrimitiveValue::I64(numbers(bytes, b, i64::from_le_bytes, i64::from_be_bytes)?.into())
        }
        VR::FL | VR::OF => {
            PrimitiveValue::F32(numbers(bytes, b, f32::from_le_bytes, f32::from_be_bytes)?.into())
        }
        VR::FD | VR::OD => {
            PrimitiveValue::F64(numbers(bytes, b, f64::from_le_bytes, f64::from_be_bytes)?.into())
        }
        VR::AT => {
            let words = numbers(bytes, b, u16::from_le_bytes, u16::from_be_bytes)?;
            if !words.len().is_multiple_of(2) {
                return None;
            }
            PrimitiveValue::Tags(words.chunks_exact(2).map(|w| Tag(w[0], w[1])).collect())
        }
        // Text: trailing padding (space or NUL) is not part of the value.
        VR::LT | VR::ST | VR::UT | VR::UR => PrimitiveValue::Str(text(bytes)),
        _ => PrimitiveValue::Strs(text(bytes).split('\\').map(str::to_string).collect()),
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\0', ' '])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_numbers_and_text_get_their_dictionary_vr() {
        let mut ds = InMemDicomObject::new_empty();
        let raw = |tag, bytes: &[u8]| {
            DataElement::new(tag, VR::UN, PrimitiveValue::U8(bytes.to_vec().into()))
        };
        ds.put(raw(tags::ROWS, &[0x00, 0x02]));
        ds.put(raw(tags::WINDOW_CENTER, b"40\\400 "));
        ds.put(raw(tags::PHOTOMETRIC_INTERPRETATION, b"RGB "));
        reinterpret(&mut ds, false);
        assert_eq!(ds.get(tags::ROWS).unwrap().to_int::<u16>().unwrap(), 512);
        assert_eq!(ds.get(tags::ROWS).unwrap().vr(), VR::US);
        let centers = ds
            .get(tags::WINDOW_CENTER)
            .unwrap()
            .to_multi_float64()
            .unwrap();
        assert_eq!(centers, vec![40.0, 400.0]);
        assert_eq!(
            ds.get(tags::PHOTOMETRIC_INTERPRETATION)
                .unwrap()
                .to_str()
                .unwrap(),
            "RGB"
        );
        // Big endian: the same bytes are 2.
        let mut ds = InMemDicomObject::new_empty();
        ds.put(raw(tags::ROWS, &[0x00, 0x02]));
        reinterpret(&mut ds, true);
        assert_eq!(ds.get(tags::ROWS).unwrap().to_int::<u16>().unwrap(), 2);
    }

    #[test]
    fn a_length_that_does_not_fit_the_vr_stays_raw() {
        let mut ds = InMemDicomObject::new_empty();
        ds.put(DataElement::new(
            tags::ROWS,
            VR::UN,
            PrimitiveValue::U8(vec![1, 2, 3].into()),
        ));
        reinterpret(&mut ds, false);
        assert_eq!(ds.get(tags::ROWS).unwrap().vr(), VR::UN);
    }
}
