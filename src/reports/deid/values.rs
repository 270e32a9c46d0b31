//! Values the de-identifier writes or removes: dummy values of each VR
//! (action D), date shifts (Modified Dates), and the scrubbing of known
//! identifying values out of kept free text (action C).

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_object::mem::InMemElement;

/// Shortest identifying value scrubbed out of free text: shorter ones
/// (a sex, an initial) match ordinary words by chance. Names in scripts
/// such as Chinese are often two characters, so non-ASCII values count
/// from two.
const MIN_IDENTIFIER_CHARS: usize = 3;
const MIN_NON_ASCII_IDENTIFIER_CHARS: usize = 2;

/// What replaces an identifying value found in kept free text.
pub const SCRUBBED: &str = "*";

/// Whether values of `vr` are text a person can type identity into.
pub fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DT
            | VR::TM
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::UT
            | VR::UC
            | VR::UR
    )
}

/// Whether values of `vr` are opaque bytes (anything may be inside).
pub fn is_opaque(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
    )
}

/// A dummy (action D) element of `vr`: a value derived from nothing in the
/// source. UIDs and sequences are not handled here (they are replaced
/// consistently and walked by the caller).
pub fn dummy(tag: dicom_core::Tag, vr: VR) -> InMemElement {
    let text = |v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    match vr {
        VR::DA => text("19000101"),
        VR::TM => text("000000"),
        VR::DT => text("19000101000000"),
        VR::AS => text("000Y"),
        VR::IS | VR::DS => text("0"),
        VR::US => DataElement::new(tag, vr, PrimitiveValue::from(0u16)),
        VR::SS => DataElement::new(tag, vr, PrimitiveValue::from(0i16)),
        VR::UL => DataElement::new(tag, vr, PrimitiveValue::from(0u32)),
        VR::SL => DataElement::new(tag, vr, PrimitiveValue::from(0i32)),
        VR::FL => DataElement::new(tag, vr, PrimitiveValue::from(0f32)),
        VR::FD => DataElement::new(tag, vr, PrimitiveValue::from(0f64)),
        _ if is_text(vr) => text(super::DUMMY_TEXT),
        // Binary values: zero-length (no byte of the source is kept).
        _ => DataElement::empty(tag, vr),
    }
}

/// Shifts the `YYYYMMDD` at the start of a DA or DT value by `days`,
/// keeping the rest (a DT's time); `None` when it is not a date.
pub fn shift_date(value: &str, days: i64) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()?;
    let moved = date.checked_add_signed(chrono::TimeDelta::try_days(days)?)?;
    Some(format!("{}{}", moved.format("%Y%m%d"), &value[8..]))
}

/// The identifying strings one value contributes: the whole value, each
/// of its values (VM > 1) and, for person names, each name component.
pub fn identifiers_of(value: &str, vr: VR, out: &mut Vec<String>) {
    let mut push = |s: &str| {
        let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        let min = if s.is_ascii() {
            MIN_IDENTIFIER_CHARS
        } else {
            MIN_NON_ASCII_IDENTIFIER_CHARS
        };
        if s.chars().count() >= min {
            out.push(s.to_string());
        }
    };
    push(value);
    for part in value.split('\\') {
        push(part);
        if vr == VR::PN {
            for component in part.split(['^', '=']) {
                push(component);
                for word in component.split_whitespace() {
                    push(word);
                }
            }
        }
    }
}

/// `text` with every (ASCII case-insensitive) occurrence of the
/// `identifiers` (longest first) replaced by [`SCRUBBED`].
pub fn scrub(text: &str, identifiers: &[String]) -> String {
    let mut out = text.to_string();
    for id in identifiers {
        let needle = id.to_ascii_lowercase();
        let mut start = 0;
        loop {
            let hay = out.to_ascii_lowercase();
            let Some(found) = hay[start..].find(&needle) else {
                break;
            };
            let at = start + found;
            out.replace_range(at..at + needle.len(), SCRUBBED);
            start = at + SCRUBBED.len();
        }
    }
    out
}

/// Sorts identifiers longest first and drops duplicates, so that a whole
/// name is scrubbed before its parts.
pub fn order_identifiers(identifiers: &mut Vec<String>) {
    identifiers.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    identifiers.dedup();
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
    fn scrubbing_removes_names_and_ids_whatever_their_case() {
        let mut ids = Vec::new();
        identifiers_of("Quux^Zebediah", VR::PN, &mut ids);
        identifiers_of("QX12345", VR::LO, &mut ids);
        identifiers_of("M", VR::CS, &mut ids);
        order_identifiers(&mut ids);
        assert_eq!(
            scrub("CT for ZEBEDIAH quux, MRN QX12345 (M)", &ids),
            "CT for * *, MRN * (M)"
        );
    }
}
