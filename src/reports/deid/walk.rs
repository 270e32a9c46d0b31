//! The walk over a data set and every item of its sequences: each
//! attribute gets the action Table E.1-1 and the chosen options give it;
//! an attribute the table does not list keeps its value only when it
//! cannot carry identity (numbers, the display keep-list, class UIDs), so
//! that what the table forgets is emptied or removed rather than kept
//! (safe by default).

use dicom_core::header::Header as _;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use super::rules::{self, Action};
use super::values::{self, dummy, is_opaque, is_text, scrub, shift_date};
use super::{DateHandling, Deidentifier};

/// What happens to the attributes the table does not list, in one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unlisted {
    /// Free text, names, dates and times are emptied, opaque bytes and
    /// unknown VRs removed (the default everywhere).
    Remove,
    /// Free text is kept with the data set's identifying values scrubbed
    /// out (inside sequences an option cleans, action C; and the report
    /// objects this program writes).
    Scrub,
    /// Kept (inside sequences an option retains, action K).
    Keep,
}

/// Attributes the table does not list that are kept although their VR is
/// text or bytes: what is needed to show the image and to read the object
/// (pixel description, LUTs, the de-identification marks, SR structure).
/// Each is a defined term (CS) or pixel and LUT data, never free text;
/// free-text labels such as Rescale Type or window explanations are not
/// needed to show the pixels and are emptied.
const KEEP: &[Tag] = &[
    tags::SPECIFIC_CHARACTER_SET,
    tags::IMAGE_TYPE,
    tags::MODALITY,
    tags::CONVERSION_TYPE,
    tags::PATIENT_ORIENTATION,
    tags::LATERALITY,
    tags::IMAGE_LATERALITY,
    tags::VIEW_POSITION,
    tags::PATIENT_POSITION,
    tags::PHOTOMETRIC_INTERPRETATION,
    tags::PIXEL_INTENSITY_RELATIONSHIP,
    tags::PRESENTATION_LUT_SHAPE,
    tags::VOILUT_FUNCTION,
    tags::LOSSY_IMAGE_COMPRESSION,
    tags::LOSSY_IMAGE_COMPRESSION_METHOD,
    tags::BURNED_IN_ANNOTATION,
    tags::RECOGNIZABLE_VISUAL_FEATURES,
    tags::PRESENTATION_INTENT_TYPE,
    tags::COLOR_SPACE,
    tags::ICC_PROFILE,
    tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::ALPHA_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::LUT_DATA,
    tags::EXTENDED_OFFSET_TABLE,
    tags::EXTENDED_OFFSET_TABLE_LENGTHS,
    tags::FLOAT_PIXEL_DATA,
    tags::DOUBLE_FLOAT_PIXEL_DATA,
    tags::PIXEL_DATA,
    tags::PATIENT_IDENTITY_REMOVED,
    tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
    tags::QUALITY_CONTROL_IMAGE,
    tags::VALUE_TYPE,
    tags::RELATIONSHIP_TYPE,
    tags::CONTINUITY_OF_CONTENT,
    tags::COMPLETION_FLAG,
    tags::VERIFICATION_FLAG,
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

/// Overlays (60xx) and curves (50xx): bitmaps and vectors that can carry
/// burned-in text no program can read back. The table removes their data
/// (and Clean Graphics cannot clean a bitmap), so the whole group goes:
/// an overlay's description without its data is not a valid overlay.
fn is_graphics_group(tag: Tag) -> bool {
    let g = tag.group();
    (0x5000..=0x50FF).contains(&g) || (0x6000..=0x60FF).contains(&g)
}

impl Deidentifier {
    /// De-identifies every attribute of `dataset`.
    pub(super) fn walk(&mut self, dataset: InMemDicomObject, mode: Unlisted) -> InMemDicomObject {
        let mut out = Vec::new();
        for element in dataset {
            if let Some(e) = self.element(element, mode) {
                out.push(e);
            }
        }
        InMemDicomObject::from_element_iter(out)
    }

    fn element(&mut self, element: InMemElement, mode: Unlisted) -> Option<InMemElement> {
        let tag = element.tag();
        // Private attributes (odd groups): the table's X. The Retain Safe
        // Private Option is not supported: no private attribute is known
        // to be safe here.
        if tag.group() % 2 == 1 || is_graphics_group(tag) {
            return None;
        }
        if self.generating && tag == tags::CONTENT_SEQUENCE {
            // The report this program wrote: its content is kept, cleaned.
            return self.sequence(element, Unlisted::Scrub);
        }
        match rules::lookup(tag) {
            Some(row) => {
                let vr = match (element.vr(), row.vr) {
                    (VR::UN, Some(vr)) => vr,
                    (vr, _) => vr,
                };
                self.act(element, vr, row.action(&self.columns))
            }
            None => self.unlisted(element, mode),
        }
    }

    /// Applies a table action to an attribute (of dictionary VR `vr`).
    fn act(&mut self, element: InMemElement, vr: VR, action: Action) -> Option<InMemElement> {
        let tag = element.tag();
        match (action.resolved(), vr) {
            (Action::X, _) => None,
            (Action::K, VR::SQ) => self.sequence(element, Unlisted::Keep),
            (Action::K, _) => Some(element),
            (Action::Z, VR::SQ) => Some(DataElement::new(
                tag,
                VR::SQ,
                DataSetSequence::new(Vec::<InMemDicomObject>::new(), Length::UNDEFINED),
            )),
            (Action::Z, _) => Some(DataElement::empty(tag, vr)),
            // A sequence's dummy is its items de-identified; X/Z/U* keeps
            // the references a sequence holds, with their UIDs replaced.
            (Action::D | Action::XZU, VR::SQ) => self.sequence(element, Unlisted::Remove),
            (Action::D | Action::U | Action::XZU, VR::UI) => self.replace_uids(element),
            (Action::U | Action::XZU, _) => None,
            (Action::D, _) => Some(dummy(tag, vr)),
            (Action::C, _) => self.clean(element, vr),
            // `resolved` leaves no other compound code.
            (Action::ZD | Action::XZ | Action::XD | Action::XZD, _) => None,
        }
    }

    /// Action C: a value of similar meaning without identity. Dates move
    /// by the Modified Dates shift (times stay); free text keeps its words
    /// with the data set's identifying values scrubbed out; sequences keep
    /// their items, cleaned the same way; opaque bytes cannot be cleaned
    /// and are removed.
    fn clean(&mut self, element: InMemElement, vr: VR) -> Option<InMemElement> {
        match vr {
            VR::SQ => self.sequence(element, Unlisted::Scrub),
            VR::DA | VR::DT | VR::TM => self.temporal(element, vr),
            vr if is_text(vr) && vr != VR::PN => self.scrubbed(element, vr),
            _ => None,
        }
    }

    /// An attribute the table does not list.
    fn unlisted(&mut self, element: InMemElement, mode: Unlisted) -> Option<InMemElement> {
        let (tag, vr) = (element.tag(), element.vr());
        if KEEP.contains(&tag) {
            return Some(element);
        }
        match vr {
            VR::SQ => self.sequence(element, mode),
            VR::UI if CLASS_UIDS.contains(&tag) || self.retain_uids() => Some(element),
            VR::UI => self.replace_uids(element),
            _ if mode == Unlisted::Keep => Some(element),
            // Emptied rather than removed: no value survives, and an IOD
            // that requires the attribute (Type 2, such as Manufacturer)
            // stays valid.
            VR::PN | VR::DA | VR::DT | VR::TM => Some(DataElement::empty(tag, vr)),
            vr if is_text(vr) && mode == Unlisted::Scrub => self.scrubbed(element, vr),
            vr if is_text(vr) => Some(DataElement::empty(tag, vr)),
            vr if is_opaque(vr) => None,
            // Numbers (US, SS, UL, SL, FL, FD, IS, DS, AT, SV, UV).
            _ => Some(element),
        }
    }

    fn retain_uids(&self) -> bool {
        self.columns.contains(&rules::Column::RetainUids)
    }

    /// A sequence with every item walked.
    fn sequence(&mut self, element: InMemElement, mode: Unlisted) -> Option<InMemElement> {
        let tag = element.tag();
        let Value::Sequence(seq) = element.into_value() else {
            // Not a sequence after all (a damaged file): nothing to keep.
            return None;
        };
        let items: Vec<InMemDicomObject> = seq
            .into_items()
            .into_iter()
            .map(|i| self.walk(i, mode))
            .collect();
        Some(DataElement::new(
            tag,
            VR::SQ,
            DataSetSequence::new(items, Length::UNDEFINED),
        ))
    }

    /// Every UID of the attribute replaced consistently (U, and D of UIs).
    fn replace_uids(&mut self, element: InMemElement) -> Option<InMemElement> {
        let tag = element.tag();
        let values = element.to_multi_str().ok()?.into_owned();
        let mapped: Vec<String> = values.iter().map(|u| self.uid(u)).collect();
        Some(DataElement::new(
            tag,
            VR::UI,
            PrimitiveValue::Strs(mapped.into()),
        ))
    }

    /// Free text with the identifying values scrubbed out.
    fn scrubbed(&mut self, element: InMemElement, vr: VR) -> Option<InMemElement> {
        let tag = element.tag();
        let values = element.to_multi_str().ok()?.into_owned();
        let cleaned: Vec<String> = values.iter().map(|v| scrub(v, &self.identifiers)).collect();
        Some(DataElement::new(
            tag,
            vr,
            PrimitiveValue::Strs(cleaned.into()),
        ))
    }

    /// A date, time or date-time under action C (the Modified Dates
    /// Option): dates shift, times stay. Without a shift (no Modified Dates
    /// option chosen) nothing of it is kept.
    fn temporal(&mut self, element: InMemElement, vr: VR) -> Option<InMemElement> {
        let tag = element.tag();
        let DateHandling::Shift { days } = self.options.dates else {
            return None;
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

    /// The identifying values of `dataset` (recursively): the values of
    /// every attribute whose action neither keeps nor cleans it, and every
    /// person name. They are scrubbed out of the free text that is kept.
    pub(super) fn collect_identifiers(&self, dataset: &InMemDicomObject, out: &mut Vec<String>) {
        for element in dataset.iter() {
            let tag = element.tag();
            if let Value::Sequence(seq) = element.value() {
                for item in seq.items() {
                    self.collect_identifiers(item, out);
                }
                continue;
            }
            let vr = element.vr();
            let identifying = match rules::lookup(tag) {
                Some(row) => !matches!(row.action(&self.columns), Action::K | Action::C),
                None => vr == VR::PN || tag.group() % 2 == 1,
            };
            if !identifying || !(is_text(vr) || vr == VR::UI || vr == VR::UN) {
                continue;
            }
            if let Ok(text) = element.to_str() {
                values::identifiers_of(&text, vr, out);
            }
        }
    }
}
