//! The vocabulary of PS3.15 Table E.1-1 (action codes, option columns,
//! rows) and the lookup of the action the profile and the chosen options
//! give one attribute. The rows themselves are in the generated
//! [`super::table`].

use dicom_core::{Tag, VR};

use super::table::{EXACT, PATTERNS};

/// An action code of Table E.1-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Replace with a non-zero-length dummy value of the attribute's VR.
    D,
    /// Replace with a zero-length value (or a dummy).
    Z,
    /// Remove.
    X,
    /// Keep (unchanged, for non-sequences; sequences are walked).
    K,
    /// Clean: keep a value of similar meaning known to carry no identity.
    C,
    /// Replace the UID(s) with others, consistently within the export.
    U,
    /// `Z/D`: Z unless D is needed for the IOD.
    ZD,
    /// `X/Z`: X unless Z is needed for the IOD.
    XZ,
    /// `X/D`: X unless D is needed for the IOD.
    XD,
    /// `X/Z/D`: X unless Z or D is needed for the IOD.
    XZD,
    /// `X/Z/U*`: X unless Z, or replacing the UIDs the sequence holds, is
    /// needed for the IOD.
    XZU,
}

impl Action {
    /// The action taken for a compound code. Which member the IOD needs
    /// depends on the IOD and the attribute's type there, which a
    /// de-identifier of arbitrary objects does not know; the member that
    /// keeps every IOD valid is taken: `X/Z` → Z, `Z/D`, `X/D`, `X/Z/D` → D
    /// (a dummy value that comes from no source value), `X/Z/U*` → the
    /// sequence is kept with its items de-identified (UIDs replaced).
    pub fn resolved(self) -> Action {
        match self {
            Action::XZ => Action::Z,
            Action::ZD | Action::XD | Action::XZD => Action::D,
            Action::XZU => Action::XZU,
            other => other,
        }
    }
}

/// An option column of Table E.1-1, in the generated table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Retain Safe Private Option.
    RetainSafePrivate = 0,
    /// Retain UIDs Option.
    RetainUids = 1,
    /// Retain Device Identity Option.
    RetainDeviceIdentity = 2,
    /// Retain Institution Identity Option.
    RetainInstitutionIdentity = 3,
    /// Retain Patient Characteristics Option.
    RetainPatientCharacteristics = 4,
    /// Retain Longitudinal Temporal Information with Full Dates Option.
    RetainFullDates = 5,
    /// Retain Longitudinal Temporal Information with Modified Dates Option.
    RetainModifiedDates = 6,
    /// Clean Descriptors Option.
    CleanDescriptors = 7,
    /// Clean Structured Content Option.
    CleanStructuredContent = 8,
    /// Clean Graphics Option.
    CleanGraphics = 9,
}

/// No action in an option column (the Basic Profile's action applies).
pub const N: Option<Action> = None;

/// One row of Table E.1-1.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The tag (group << 16 | element); for ranges, the fixed digits.
    pub tag: u32,
    /// Which bits of a tag must equal `tag` (all of them for one tag).
    pub mask: u32,
    /// The attribute's name in the table.
    pub name: &'static str,
    /// The attribute's VR in the data dictionary (the first of several);
    /// `None` for ranges without one.
    pub vr: Option<VR>,
    /// The Basic Profile's action.
    pub basic: Action,
    /// The action of each option column ([`Column`] order), if any.
    pub options: [Option<Action>; 10],
}

impl Entry {
    /// Whether `tag` is this row's attribute.
    pub fn matches(&self, tag: Tag) -> bool {
        (tag_number(tag) & self.mask) == self.tag
    }

    /// The action for this attribute with the option columns `options`:
    /// a K of any option wins, then a C, then the Basic Profile's action
    /// (an option without an entry for this attribute changes nothing).
    pub fn action(&self, options: &[Column]) -> Action {
        let chosen: Vec<Action> = options
            .iter()
            .filter_map(|c| self.options[*c as usize])
            .collect();
        if chosen.contains(&Action::K) {
            Action::K
        } else if chosen.contains(&Action::C) {
            Action::C
        } else {
            self.basic.resolved()
        }
    }
}

/// The tag as one number, group in the high half.
fn tag_number(tag: Tag) -> u32 {
    (u32::from(tag.group()) << 16) | u32::from(tag.element())
}

/// The row of Table E.1-1 for `tag`, if the table lists it: private
/// attributes (odd groups) first, then the exact tags, then the ranges.
pub fn lookup(tag: Tag) -> Option<&'static Entry> {
    let number = tag_number(tag);
    if tag.group() % 2 == 1 {
        return PATTERNS.iter().find(|e| e.mask == 0x0001_0000);
    }
    if let Ok(i) = EXACT.binary_search_by_key(&number, |e| e.tag) {
        return Some(&EXACT[i]);
    }
    PATTERNS.iter().find(|e| e.matches(tag))
}

/// Every row: the exact tags, then the ranges.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    EXACT.iter().chain(PATTERNS.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;

    #[test]
    fn table_is_sorted_and_lookups_find_ranges_and_private_tags() {
        assert!(EXACT.windows(2).all(|w| w[0].tag < w[1].tag));
        assert!(EXACT.len() > 600, "{} rows", EXACT.len());
        assert_eq!(lookup(tags::PATIENT_NAME).unwrap().basic, Action::Z);
        assert_eq!(lookup(Tag(0x5002, 0x0022)).unwrap().name, "Curve Data");
        assert_eq!(lookup(Tag(0x601E, 0x3000)).unwrap().name, "Overlay Data");
        assert!(
            lookup(Tag(0x6000, 0x0010)).is_none(),
            "overlay rows: not listed"
        );
        assert_eq!(
            lookup(Tag(0x0029, 0x1010)).unwrap().name,
            "Private Attributes"
        );
        assert!(lookup(tags::ROWS).is_none());
    }

    #[test]
    fn options_override_the_basic_action() {
        let study_date = lookup(tags::STUDY_DATE).unwrap();
        assert_eq!(study_date.action(&[]), Action::Z);
        assert_eq!(study_date.action(&[Column::RetainFullDates]), Action::K);
        assert_eq!(study_date.action(&[Column::RetainModifiedDates]), Action::C);
        let device_uid = lookup(tags::DEVICE_UID).unwrap();
        assert_eq!(device_uid.action(&[]), Action::U);
        assert_eq!(
            device_uid.action(&[Column::RetainDeviceIdentity]),
            Action::K
        );
        assert_eq!(
            lookup(tags::INSTITUTION_NAME).unwrap().action(&[]),
            Action::D
        );
    }
}
