//! The Table E.1-1 probe: one file carrying every attribute of the
//! generated table (one concrete tag for each range), private attributes
//! and attributes the table does not list, each with a unique marker,
//! de-identified through `hilum anonymize`. No marker may survive the
//! default profile; each option keeps exactly the markers of the
//! attributes it retains.

use std::path::{Path, PathBuf};

use dicom_core::header::Header as _;
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use hilum::imaging::dicom::read_dataset;
use hilum::reports::deid::rules::{Action, Column, Entry, entries, lookup};

use crate::common;

/// One value put into the probe.
#[derive(Debug, Clone)]
pub struct Marker {
    /// The top-level attribute holding it.
    pub tag: Tag,
    /// Its row of the table (`None`: an attribute the table does not list).
    pub entry: Option<&'static Entry>,
    /// Bytes that must not appear in the output when the value is gone
    /// (`None` for binary numbers, checked on the parsed value instead).
    pub needle: Option<String>,
    /// The binary number put in, for VRs whose bytes cannot be searched.
    pub number: Option<u32>,
    /// Whether the marker is inside a sequence item of the attribute.
    pub in_item: bool,
    /// For a marker inside an item: the row of the attribute holding it
    /// there (`None`: not in the table).
    pub inner: Option<&'static Entry>,
}

/// The probe file and its markers.
pub struct Probe {
    /// The probe file.
    pub path: PathBuf,
    /// Every marker put in.
    pub markers: Vec<Marker>,
    /// The Pixel Data put in.
    pub pixels: Vec<u16>,
    /// Markers in table attributes and free text nested two levels deep
    /// in sequences the table does not list: none may survive the default
    /// profile.
    pub nested: Vec<String>,
}

/// Tags of the probe for a row: one concrete attribute per range.
fn probe_tags(entry: &Entry) -> Vec<(Tag, VR)> {
    match (entry.tag, entry.mask) {
        // Private attributes: see `private_markers`.
        (_, 0x0001_0000) => vec![],
        // Curves: Curve Description and Curve Data of two groups.
        (0x5000_0000, _) => vec![(Tag(0x5000, 0x0022), VR::LO), (Tag(0x5002, 0x3000), VR::OB)],
        (tag, mask) if mask != 0xFFFF_FFFF => vec![(
            Tag(((tag >> 16) as u16) | 0x0002, tag as u16),
            entry.vr.unwrap_or(VR::OB),
        )],
        // The file meta's SOP Instance UID is written from the data set's.
        (0x0002_0003, _) => vec![],
        (tag, _) => vec![(
            Tag((tag >> 16) as u16, tag as u16),
            entry.vr.unwrap_or(VR::UN),
        )],
    }
}

/// A marker text valid for `vr` (None for binary numbers), unique by `i`.
fn marker_text(vr: VR, i: usize) -> Option<String> {
    // 41 days apart: no date shifted by a month lands on another marker.
    let date = |i: usize| {
        let d = chrono::NaiveDate::from_ymd_opt(1931, 1, 1).unwrap()
            + chrono::TimeDelta::try_days(41 * i as i64).unwrap();
        d.format("%Y%m%d").to_string()
    };
    Some(match vr {
        VR::DA => date(i),
        VR::TM => format!("13{:02}{:02}.{:06}", (i / 60) % 60, i % 60, 400_000 + i),
        VR::DT => format!("{}101010.{:06}", date(i), 500_000 + i),
        VR::AS => format!("{:03}W", 100 + i % 900),
        VR::IS => format!("{}", 1_900_000_000 + i),
        VR::DS => format!("7.{:08}", 31_000_000 + i),
        VR::UI => format!("1.2.826.0.1.3680043.9.7433.77.{i:04}"),
        VR::US | VR::SS | VR::UL | VR::SL | VR::FL | VR::FD | VR::AT | VR::SV | VR::UV => {
            return None;
        }
        _ => format!("QZ{i:04}X"),
    })
}

/// An element of `vr` holding the marker `i`, and the marker.
fn element(tag: Tag, vr: VR, i: usize) -> (InMemElement, Option<String>, Option<u32>) {
    let text = marker_text(vr, i);
    let number = 40_000 + i as u32;
    let value = match vr {
        VR::US | VR::SS => PrimitiveValue::from(number as u16),
        VR::UL | VR::SL | VR::AT | VR::SV | VR::UV => PrimitiveValue::from(number),
        VR::FL => PrimitiveValue::from(number as f32),
        VR::FD => PrimitiveValue::from(f64::from(number)),
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => {
            let mut bytes = text.clone().unwrap().into_bytes();
            bytes.resize(bytes.len().next_multiple_of(8), b' ');
            PrimitiveValue::from(bytes)
        }
        _ => PrimitiveValue::from(text.clone().unwrap()),
    };
    let vr = match vr {
        VR::AT | VR::SV | VR::UV => VR::UL,
        VR::OW | VR::OF | VR::OD | VR::OL | VR::OV => VR::OB,
        other => other,
    };
    (
        DataElement::new(tag, vr, value),
        text,
        matches!(vr, VR::US | VR::SS | VR::UL | VR::SL | VR::FL | VR::FD).then_some(number),
    )
}

/// A sequence whose item holds a text marker and a UID marker.
fn sequence(tag: Tag, i: usize) -> (InMemElement, [String; 2]) {
    let code = format!("QZ{i:04}S");
    let uid = format!("1.2.826.0.1.3680043.9.7433.78.{i:04}");
    let item = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::CODE_VALUE,
            VR::SH,
            PrimitiveValue::from(code.as_str()),
        ),
        DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid.as_str()),
        ),
    ]);
    (
        DataElement::new(tag, VR::SQ, DataSetSequence::from(vec![item])),
        [code, uid],
    )
}

/// Attributes the table does not list, with markers: free text of several
/// VRs that are neither identifying by name nor needed to show the image.
const UNLISTED: &[(Tag, VR)] = &[
    (tags::MANUFACTURER, VR::LO),
    (tags::POSITION_REFERENCE_INDICATOR, VR::LO),
    (tags::BODY_PART_EXAMINED, VR::CS),
    (tags::SCAN_OPTIONS, VR::CS),
    (tags::TEXT_VALUE, VR::UT),
    (tags::EXPIRY_DATE, VR::DA),
    (tags::SECONDARY_REVIEW_TIME, VR::TM),
    (tags::STUDY_UPDATE_DATE_TIME, VR::DT),
    (tags::CODING_SCHEME_NAME, VR::ST),
    (tags::CODE_MEANING, VR::LO),
    (tags::URN_CODE_VALUE, VR::UR),
];

/// Display attributes of the probe: they must survive with their values.
pub fn display_attributes() -> Vec<InMemElement> {
    let mut e = common::gray16_header(8, 8, 1, false);
    e.retain(|e| e.tag() != tags::SOP_INSTANCE_UID);
    for (tag, vr, v) in [
        (tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        (tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY"),
        (tags::WINDOW_CENTER, VR::DS, "40"),
        (tags::WINDOW_WIDTH, VR::DS, "400"),
        (tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        (tags::RESCALE_SLOPE, VR::DS, "1"),
        (tags::PIXEL_SPACING, VR::DS, "0.5\\0.5"),
        (tags::IMAGE_POSITION_PATIENT, VR::DS, "0\\0\\0"),
        (tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
        (tags::PATIENT_ORIENTATION, VR::CS, "L\\P"),
        (tags::VOILUT_FUNCTION, VR::CS, "LINEAR"),
    ] {
        e.push(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    }
    e
}

/// Builds the probe in `dir`.
pub fn build(dir: &Path) -> Probe {
    let mut elements = display_attributes();
    let mut markers = Vec::new();
    let mut i = 0;
    let mut add = |markers: &mut Vec<Marker>, tag: Tag, vr: VR, entry: Option<&'static Entry>| {
        i += 1;
        if vr == VR::SQ {
            let (e, [code, uid]) = sequence(tag, i);
            elements.push(e);
            let uid_row = lookup(tags::REFERENCED_SOP_INSTANCE_UID);
            for (needle, inner) in [(code, None), (uid, uid_row)] {
                markers.push(Marker {
                    tag,
                    entry,
                    needle: Some(needle),
                    number: None,
                    in_item: true,
                    inner,
                });
            }
        } else {
            let (e, needle, number) = element(tag, vr, i);
            elements.push(e);
            markers.push(Marker {
                tag,
                entry,
                needle,
                number,
                in_item: false,
                inner: None,
            });
        }
    };
    for entry in entries() {
        for (tag, vr) in probe_tags(entry) {
            add(&mut markers, tag, vr, Some(entry));
        }
    }
    for &(tag, vr) in UNLISTED {
        assert!(lookup(tag).is_none(), "{tag} is in the table");
        add(&mut markers, tag, vr, None);
    }
    // Private attributes: creators, text, UN and a sequence.
    let private = lookup(Tag(0x0009, 0x1010));
    for (tag, vr) in [
        (Tag(0x0009, 0x0010), VR::LO),
        (Tag(0x0009, 0x1010), VR::LO),
        (Tag(0x0009, 0x1011), VR::UN),
        (Tag(0x0011, 0x0010), VR::LO),
        (Tag(0x0011, 0x1001), VR::SQ),
        (Tag(0x0011, 0x1002), VR::UL),
    ] {
        add(&mut markers, tag, vr, private);
    }
    // Table attributes inside items of sequences the table does not list,
    // two levels deep.
    let nested = vec![
        "QZNESTPN1".to_string(),
        "QZNESTINST".to_string(),
        "QZNESTTEXT".to_string(),
        "1.2.826.0.1.3680043.9.7433.79.1".to_string(),
        "QZNESTID2".to_string(),
    ];
    let inner = InMemDicomObject::from_element_iter([
        common::text(tags::PATIENT_ID, VR::LO, &nested[4]),
        common::text(tags::CODE_VALUE, VR::SH, "T-D3000"),
    ]);
    let outer = InMemDicomObject::from_element_iter([
        common::text(tags::PATIENT_NAME, VR::PN, &nested[0]),
        common::text(tags::INSTITUTION_NAME, VR::LO, &nested[1]),
        common::text(tags::CODE_MEANING, VR::LO, &nested[2]),
        common::text(tags::SOP_INSTANCE_UID, VR::UI, &nested[3]),
        common::seq(tags::ANATOMIC_REGION_MODIFIER_SEQUENCE, vec![inner]),
    ]);
    assert!(lookup(tags::ANATOMIC_REGION_SEQUENCE).is_none());
    elements.push(common::seq(tags::ANATOMIC_REGION_SEQUENCE, vec![outer]));
    let pixels: Vec<u16> = (0..64).map(|v| v * 3 + 1).collect();
    elements.push(common::pixel_data_u16(pixels.clone()));
    let path = dir.join("probe.dcm");
    common::write_dicom(&path, elements);
    Probe {
        path,
        markers,
        pixels,
        nested,
    }
}

/// Whether the marker must survive with the option columns `columns`.
pub fn expected(marker: &Marker, columns: &[Column]) -> bool {
    let Some(entry) = marker.entry else {
        // Not in the table: never kept.
        return false;
    };
    // In an item, a UID follows its own row (kept under Retain UIDs) when
    // the sequence is kept, cleaned or its items de-identified.
    let inner_kept = || marker.inner.is_some_and(|e| e.action(columns) == Action::K);
    match entry.action(columns) {
        Action::K if marker.in_item => marker.inner.is_none() || inner_kept(),
        Action::K => true,
        Action::D | Action::XZU if marker.in_item => inner_kept(),
        // Clean: graphics bitmaps (the ranges) cannot be cleaned and go;
        // dates move (Modified Dates), times stay; text keeps its words
        // with the file's identifying values scrubbed out, and a marker is
        // not one of them; a sequence keeps its items, cleaned likewise.
        Action::C if entry.mask != 0xFFFF_FFFF => false,
        Action::C if marker.in_item => marker.inner.is_none() || inner_kept(),
        Action::C => match entry.vr {
            Some(VR::DA | VR::DT | VR::PN) => false,
            Some(VR::TM) => true,
            Some(vr) => is_text(vr),
            None => false,
        },
        _ => false,
    }
}

/// Whether values of `vr` are text (kept, scrubbed, by action C).
fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE | VR::AS | VR::CS | VR::LO | VR::LT | VR::SH | VR::ST | VR::UT | VR::UC | VR::UR
    )
}

/// De-identifies `probe` with `flags` into `out`; the output path.
pub fn run(probe: &Probe, out: &Path, flags: &[&str]) -> PathBuf {
    anonymize(&probe.path, out, flags)
}

/// `hilum anonymize SOURCE --out OUT FLAGS...`, which must succeed; the
/// output path.
pub fn anonymize(source: &Path, out: &Path, flags: &[&str]) -> PathBuf {
    let mut args = vec![
        "anonymize",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let result = common::hilum(&args);
    assert!(
        result.status.success(),
        "hilum {args:?}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out.join(source.file_name().unwrap())
}

/// Whether the marker survived in `bytes` / the parsed output `ds`.
pub fn survived(marker: &Marker, bytes: &[u8], ds: &InMemDicomObject) -> bool {
    match (&marker.needle, marker.number) {
        (_, Some(n)) => ds
            .get(marker.tag)
            .and_then(|e| e.to_int::<u32>().ok())
            .is_some_and(|v| v == n),
        (Some(needle), None) => bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
        (None, None) => unreachable!("every marker has a needle or a number"),
    }
}

/// The description of a marker for failure messages.
pub fn describe(marker: &Marker) -> String {
    format!(
        "{} {} {:?}{}",
        marker.tag,
        marker.entry.map_or("(not in the table)", |e| e.name),
        marker.needle.as_deref().unwrap_or("<number>"),
        if marker.in_item { " (in its item)" } else { "" }
    )
}

/// Reads the output back: (raw bytes, data set).
pub fn read(output: &Path) -> (Vec<u8>, InMemDicomObject) {
    let bytes = std::fs::read(output).unwrap();
    let (ds, _) = read_dataset(output)
        .unwrap_or_else(|e| panic!("{}: output unreadable: {e}", output.display()));
    (bytes, ds)
}
