//! Reading DICOM files: parsing (with or without preamble or File Meta
//! Information), attribute extraction, and pixel decoding to native frames.
//!
//! Compressed frames go through the `dicom-pixeldata` codecs; everything
//! after the codec (bit masking, sign extension, planar layout, YBR to RGB,
//! palettes) is done here, because the codecs' own post-processing has gaps
//! (palettes returned as gray, planar configuration, high bit).

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::guard::{Encoding, check_lengths, scan_meta_group};
use super::image::{Image, Photometric, PixelDescription, SourceFormat};
use super::metadata::Metadata;
use super::modality::{LookupTable, ModalityLut};
use super::palette::{Palette, expand_segmented};
use super::pixels::{Frame, FrameKind, Samples};
use super::voi::{Voi, VoiFunction, Window};
use super::{color, rle};
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

type Kind = ImagingErrorKind;
type Element = dicom_object::mem::InMemElement;

/// The most decoded pixel bytes one object may claim (4 GiB). Larger
/// headers are refused before anything is allocated.
pub const MAX_PIXEL_BYTES: u64 = 4 << 30;

/// Which frames to decode when loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameSelection {
    /// Every frame.
    #[default]
    All,
    /// One frame (0-based); the others stay `None`.
    Only(usize),
    /// No pixels: header and pipeline parameters only.
    None,
}

/// Options for [`load_dicom`].
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Which frames to decode.
    pub frames: FrameSelection,
    /// Refuse objects whose decoded pixels would exceed this many bytes.
    pub max_pixel_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            frames: FrameSelection::All,
            max_pixel_bytes: MAX_PIXEL_BYTES,
        }
    }
}

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED_EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1.99";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

fn is_jpeg2000(ts_uid: &str) -> bool {
    matches!(
        ts_uid,
        "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.92"
            | "1.2.840.10008.1.2.4.93"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203"
    )
}

/// Width, height and component count from a JPEG 2000 codestream's SIZ
/// segment (ITU-T T.800 A.5.1), found after the SOC marker (also inside a
/// JP2 wrapper). `None` when there is no SIZ to read.
fn jpeg2000_size(stream: &[u8]) -> Option<(u32, u32, u16)> {
    let start = stream
        .windows(4)
        .take(4096)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    let siz = stream.get(start + 4..start + 4 + 38)?;
    let be32 = |o: usize| u32::from_be_bytes([siz[o], siz[o + 1], siz[o + 2], siz[o + 3]]);
    // Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2)
    let (x, y, xo, yo) = (be32(4), be32(8), be32(12), be32(16));
    let components = u16::from_be_bytes([siz[36], siz[37]]);
    Some((x.checked_sub(xo)?, y.checked_sub(yo)?, components))
}

/// The compressed stream of frame `n`: one fragment per frame, or all
/// fragments of a single-frame object.
fn frame_fragments(fragments: &[Vec<u8>], n: usize, frames: usize) -> Result<Vec<u8>, Kind> {
    if fragments.len() == frames {
        Ok(fragments[n].clone())
    } else if frames == 1 {
        Ok(fragments.concat())
    } else {
        Err(Kind::MalformedDicom(format!(
            "{} fragments for {frames} frames: cannot locate frame {n}",
            fragments.len()
        )))
    }
}

/// A parsed data set: either a proper Part 10 file or a bare data set whose
/// transfer syntax was inferred.
enum Parsed {
    File(Box<FileDicomObject<InMemDicomObject>>),
    Bare(InMemDicomObject, &'static str),
}

impl Parsed {
    fn dataset(&self) -> &InMemDicomObject {
        match self {
            Parsed::File(f) => f,
            Parsed::Bare(d, _) => d,
        }
    }

    fn transfer_syntax(&self) -> &str {
        match self {
            Parsed::File(f) => f.meta().transfer_syntax(),
            Parsed::Bare(_, ts) => ts,
        }
    }
}

/// What the first bytes of a file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// "DICM" at byte 128 (preamble) or byte 0 (no preamble).
    Part10,
    /// No magic, but the bytes start like a data set element.
    BareDataset,
    /// Not DICOM.
    NotDicom,
}

/// Classifies a file from its first bytes without parsing it.
pub fn sniff(head: &[u8]) -> Sniff {
    if head.len() >= 132 && &head[128..132] == b"DICM" || head.starts_with(b"DICM") {
        Sniff::Part10
    } else if infer_dataset_syntax(head).is_some() {
        Sniff::BareDataset
    } else {
        Sniff::NotDicom
    }
}

/// Reads the first bytes of a file for [`sniff`].
pub fn sniff_path(path: &Path) -> std::io::Result<Sniff> {
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)?
        .take(132)
        .read_to_end(&mut head)?;
    Ok(sniff(&head))
}

const VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

fn is_vr(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && VRS.iter().any(|vr| vr[..] == bytes[..2])
}

/// Infers the transfer syntax of a data set with no File Meta Information
/// from its first element: the group must be one a data set starts with,
/// read in either byte order, and an explicit VR shows in bytes 4..6.
fn infer_dataset_syntax(data: &[u8]) -> Option<&'static str> {
    if data.len() < 8 {
        return None;
    }
    let plausible = |g: u16| (0x0008..=0x0028).contains(&g) && g.is_multiple_of(2);
    let le = u16::from_le_bytes([data[0], data[1]]);
    let be = u16::from_be_bytes([data[0], data[1]]);
    let explicit = is_vr(&data[4..6]);
    if plausible(le) {
        Some(if explicit {
            EXPLICIT_VR_LE
        } else {
            IMPLICIT_VR_LE
        })
    } else if plausible(be) && explicit {
        Some(EXPLICIT_VR_BE)
    } else {
        None
    }
}

/// How a data set in `ts_uid` is laid out, for the length pre-scan; `None`
/// when the bytes cannot be walked as they are (deflated, unknown syntax).
fn encoding_of(ts_uid: &str) -> Option<Encoding> {
    let ts = TransferSyntaxRegistry.get(ts_uid)?;
    if matches!(ts.codec(), Codec::Dataset(_)) {
        return None;
    }
    Some(Encoding {
        explicit_vr: ts_uid != IMPLICIT_VR_LE,
        big_endian: ts.endianness() == dicom_encoding::transfer_syntax::Endianness::Big,
    })
}

fn parse_bare(data: &[u8]) -> Result<Parsed, Kind> {
    let ts_uid = infer_dataset_syntax(data).ok_or(Kind::NotAnImage)?;
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| Kind::MalformedDicom(format!("unknown transfer syntax {ts_uid}")))?;
    if let Some(encoding) = encoding_of(ts_uid) {
        check_lengths(data, encoding).map_err(Kind::MalformedDicom)?;
    }
    let obj = InMemDicomObject::read_dataset_with_ts(data, ts)
        .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
    Ok(Parsed::Bare(obj, ts_uid))
}

/// Inflates a Deflated Explicit VR Little Endian data set (at most
/// `max_bytes`), so that its lengths can be checked before parsing.
fn inflate_dataset(deflated: &[u8], max_bytes: u64) -> Result<Parsed, Kind> {
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(max_bytes + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| Kind::MalformedDicom(format!("cannot inflate the data set: {e}")))?;
    if inflated.len() as u64 > max_bytes {
        return Err(Kind::TooLarge(format!(
            "the deflated data set inflates past {max_bytes} bytes"
        )));
    }
    let explicit = Encoding {
        explicit_vr: true,
        big_endian: false,
    };
    check_lengths(&inflated, explicit).map_err(Kind::MalformedDicom)?;
    let ts = TransferSyntaxRegistry
        .get(EXPLICIT_VR_LE)
        .expect("explicit VR little endian is always registered");
    let obj = InMemDicomObject::read_dataset_with_ts(&inflated[..], ts)
        .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
    Ok(Parsed::Bare(obj, DEFLATED_EXPLICIT_VR_LE))
}

fn open(path: &Path, header_only: bool, max_bytes: u64) -> Result<(Parsed, bool), Kind> {
    let data = std::fs::read(path).map_err(|e| Kind::Io(e.to_string()))?;
    match sniff(&data) {
        Sniff::NotDicom => Err(Kind::NotAnImage),
        Sniff::BareDataset => Ok((parse_bare(&data)?, true)),
        Sniff::Part10 => {
            let magic = if data.len() >= 132 && &data[128..132] == b"DICM" {
                128
            } else {
                0
            };
            let (dataset_start, ts) =
                scan_meta_group(&data, magic + 4).map_err(Kind::MalformedDicom)?;
            let Some(ts) = ts else {
                // A File Meta group without a Transfer Syntax UID: infer the
                // syntax from the data set.
                let rest = &data[dataset_start..];
                if infer_dataset_syntax(rest).is_none() {
                    return Err(Kind::MalformedDicom(
                        "File Meta Information has no Transfer Syntax UID and the data set's \
                         encoding cannot be inferred"
                            .into(),
                    ));
                }
                return Ok((parse_bare(rest)?, true));
            };
            if ts == DEFLATED_EXPLICIT_VR_LE {
                return Ok((inflate_dataset(&data[dataset_start..], max_bytes)?, false));
            }
            if let Some(encoding) = encoding_of(&ts) {
                check_lengths(&data[dataset_start..], encoding).map_err(Kind::MalformedDicom)?;
            } else if TransferSyntaxRegistry.get(&ts).is_none() {
                return Err(Kind::UnsupportedTransferSyntax {
                    name: "unknown transfer syntax".into(),
                    uid: ts,
                });
            }
            let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
            if header_only {
                options = options.read_until(tags::PIXEL_DATA);
            }
            let obj = options
                .from_reader(&data[magic..])
                .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
            Ok((Parsed::File(Box::new(obj)), false))
        }
    }
}

// ---------------------------------------------------------------- attributes

fn element(ds: &InMemDicomObject, tag: Tag) -> Option<&Element> {
    ds.get(tag).filter(|e| {
        !e.value()
            .primitive()
            .is_some_and(|p| matches!(p, PrimitiveValue::Empty))
    })
}

fn text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = element(ds, tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

fn float(ds: &InMemDicomObject, tag: Tag) -> Option<f64> {
    element(ds, tag)?
        .to_float64()
        .ok()
        .filter(|v| v.is_finite())
}

fn floats(ds: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    element(ds, tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.is_finite())
        .collect()
}

fn int(ds: &InMemDicomObject, tag: Tag) -> Option<i64> {
    element(ds, tag)?.to_int::<i64>().ok()
}

fn fixed<const N: usize>(ds: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    floats(ds, tag).try_into().ok()
}

fn items(ds: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    ds.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The values of an element as 16-bit words, whatever VR it was read with.
fn words(e: &Element) -> Option<Vec<u16>> {
    match e.value() {
        Value::Primitive(PrimitiveValue::U16(v)) => Some(v.to_vec()),
        Value::Primitive(PrimitiveValue::I16(v)) => Some(v.iter().map(|&x| x as u16).collect()),
        Value::Primitive(PrimitiveValue::U8(v)) => Some(
            v.chunks(2)
                .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect(),
        ),
        Value::Primitive(p) => p
            .to_multi_int::<i64>()
            .ok()
            .map(|v| v.into_iter().map(|x| x as u16).collect()),
        _ => None,
    }
}

/// Reads a LUT Descriptor + LUT Data pair (Modality, VOI or palette LUT).
fn lookup_table(
    descriptor: Option<&Element>,
    data: Option<&Element>,
    signed_first: bool,
) -> Result<Option<LookupTable>, String> {
    let (Some(descriptor), Some(data)) = (descriptor, data) else {
        return Ok(None);
    };
    let d = words(descriptor).ok_or("LUT Descriptor is not numeric")?;
    if d.len() < 3 {
        return Err(format!("LUT Descriptor has {} values, expected 3", d.len()));
    }
    let entries = if d[0] == 0 { 65536 } else { d[0] as usize };
    let first_mapped = if signed_first {
        d[1] as i16 as i64
    } else {
        d[1] as i64
    };
    let bits = d[2];
    if !(1..=16).contains(&bits) {
        return Err(format!("LUT Descriptor declares {bits} bits per entry"));
    }
    let mut values = words(data).ok_or("LUT Data is not numeric")?;
    // 8-bit entries may be packed two to a word in OW data.
    if bits <= 8 && values.len() * 2 == entries {
        values = values.iter().flat_map(|w| [(w & 0xFF), (w >> 8)]).collect();
    }
    if values.is_empty() {
        return Err("LUT Data is empty".into());
    }
    values.truncate(entries);
    Ok(Some(LookupTable {
        first_mapped,
        bits,
        data: values,
    }))
}

fn read_metadata(ds: &InMemDicomObject) -> Metadata {
    Metadata {
        sop_class_uid: text(ds, tags::SOP_CLASS_UID),
        sop_instance_uid: text(ds, tags::SOP_INSTANCE_UID),
        modality: text(ds, tags::MODALITY),
        patient_name: text(ds, tags::PATIENT_NAME),
        patient_id: text(ds, tags::PATIENT_ID),
        patient_birth_date: text(ds, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(ds, tags::PATIENT_SEX),
        patient_age: text(ds, tags::PATIENT_AGE),
        study_instance_uid: text(ds, tags::STUDY_INSTANCE_UID),
        study_date: text(ds, tags::STUDY_DATE),
        study_description: text(ds, tags::STUDY_DESCRIPTION),
        accession_number: text(ds, tags::ACCESSION_NUMBER),
        institution_name: text(ds, tags::INSTITUTION_NAME),
        series_instance_uid: text(ds, tags::SERIES_INSTANCE_UID),
        series_number: int(ds, tags::SERIES_NUMBER),
        series_description: text(ds, tags::SERIES_DESCRIPTION),
        body_part_examined: text(ds, tags::BODY_PART_EXAMINED),
        view_position: text(ds, tags::VIEW_POSITION),
        instance_number: int(ds, tags::INSTANCE_NUMBER),
        image_position_patient: fixed(ds, tags::IMAGE_POSITION_PATIENT).or_else(|| {
            functional_group(ds, 0, tags::PLANE_POSITION_SEQUENCE, |i| {
                fixed(i, tags::IMAGE_POSITION_PATIENT)
            })
        }),
        image_orientation_patient: fixed(ds, tags::IMAGE_ORIENTATION_PATIENT).or_else(|| {
            functional_group(ds, 0, tags::PLANE_ORIENTATION_SEQUENCE, |i| {
                fixed(i, tags::IMAGE_ORIENTATION_PATIENT)
            })
        }),
        patient_orientation: text(ds, tags::PATIENT_ORIENTATION)
            .map(|s| s.split('\\').map(|p| p.trim().to_string()).collect()),
        pixel_spacing: fixed(ds, tags::PIXEL_SPACING).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_MEASURES_SEQUENCE, |i| {
                fixed(i, tags::PIXEL_SPACING)
            })
        }),
        imager_pixel_spacing: fixed(ds, tags::IMAGER_PIXEL_SPACING),
        slice_thickness: float(ds, tags::SLICE_THICKNESS).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_MEASURES_SEQUENCE, |i| {
                float(i, tags::SLICE_THICKNESS)
            })
        }),
        frame_of_reference_uid: text(ds, tags::FRAME_OF_REFERENCE_UID),
        burned_in_annotation: text(ds, tags::BURNED_IN_ANNOTATION),
    }
}

/// Looks a value up in an enhanced object's functional groups for `frame`:
/// the per-frame item first, then the shared item (PS3.3 C.7.6.16).
fn functional_group<T>(
    ds: &InMemDicomObject,
    frame: usize,
    macro_tag: Tag,
    get: impl Fn(&InMemDicomObject) -> Option<T>,
) -> Option<T> {
    let from = |group: Option<&InMemDicomObject>| {
        group
            .and_then(|g| items(g, macro_tag).first())
            .and_then(&get)
    };
    from(items(ds, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(frame))
        .or_else(|| from(items(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first()))
}

fn u16_attr(ds: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<u16>, Kind> {
    match int(ds, tag) {
        None => Ok(None),
        Some(v) if (0..=u16::MAX as i64).contains(&v) => Ok(Some(v as u16)),
        Some(v) => Err(Kind::InvalidAttribute {
            name,
            reason: format!("value {v} out of range"),
        }),
    }
}

fn required(v: Option<u16>, name: &'static str) -> Result<u16, Kind> {
    v.ok_or(Kind::InvalidAttribute {
        name,
        reason: "missing".into(),
    })
}

fn describe_pixels(ds: &InMemDicomObject) -> Result<PixelDescription, Kind> {
    let bad = |name: &'static str, reason: String| Kind::InvalidAttribute { name, reason };
    let rows = required(u16_attr(ds, tags::ROWS, "Rows")?, "Rows")?;
    let columns = required(u16_attr(ds, tags::COLUMNS, "Columns")?, "Columns")?;
    let bits_allocated = required(
        u16_attr(ds, tags::BITS_ALLOCATED, "BitsAllocated")?,
        "BitsAllocated",
    )?;
    let bits_stored = u16_attr(ds, tags::BITS_STORED, "BitsStored")?.unwrap_or(bits_allocated);
    let high_bit =
        u16_attr(ds, tags::HIGH_BIT, "HighBit")?.unwrap_or(bits_stored.saturating_sub(1));
    let samples_per_pixel = u16_attr(ds, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
    let pixel_representation =
        u16_attr(ds, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0);
    let planar_configuration = u16_attr(ds, tags::PLANAR_CONFIGURATION, "PlanarConfiguration")?;
    let frames = match int(ds, tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(n) if n >= 1 => n as usize,
        Some(0) => 1,
        Some(n) => return Err(bad("NumberOfFrames", format!("value {n}"))),
    };
    if rows == 0 || columns == 0 {
        return Err(bad(
            "Rows/Columns",
            format!("{rows}x{columns} has no pixels"),
        ));
    }
    if ![1, 8, 16, 32].contains(&bits_allocated) {
        return Err(bad(
            "BitsAllocated",
            format!("{bits_allocated} is not supported (1, 8, 16 or 32)"),
        ));
    }
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(bad(
            "BitsStored",
            format!("{bits_stored} with BitsAllocated {bits_allocated}"),
        ));
    }
    if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
        return Err(bad(
            "HighBit",
            format!("{high_bit} with BitsStored {bits_stored} and BitsAllocated {bits_allocated}"),
        ));
    }
    if pixel_representation > 1 {
        return Err(bad(
            "PixelRepresentation",
            format!("{pixel_representation}"),
        ));
    }
    let photometric_name = text(ds, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| {
        if samples_per_pixel == 3 {
            "RGB".into()
        } else {
            "MONOCHROME2".into()
        }
    });
    let photometric = Photometric::parse(&photometric_name).ok_or_else(|| {
        bad(
            "PhotometricInterpretation",
            format!("{photometric_name} is not supported"),
        )
    })?;
    let expected_spp = match photometric {
        Photometric::Color(_) => 3,
        _ => 1,
    };
    if samples_per_pixel != expected_spp {
        return Err(bad(
            "SamplesPerPixel",
            format!("{samples_per_pixel} with PhotometricInterpretation {photometric_name}"),
        ));
    }
    if expected_spp == 3 && bits_allocated > 16 {
        return Err(bad(
            "BitsAllocated",
            format!("{bits_allocated} for colour data"),
        ));
    }
    Ok(PixelDescription {
        rows: rows as u32,
        columns: columns as u32,
        frames,
        samples_per_pixel,
        bits_allocated,
        bits_stored,
        high_bit,
        signed: pixel_representation == 1,
        planar_configuration,
        photometric_name,
        photometric,
    })
}

fn modality_luts(ds: &InMemDicomObject, desc: &PixelDescription) -> Result<Vec<ModalityLut>, Kind> {
    if let Some(item) = items(ds, tags::MODALITY_LUT_SEQUENCE).first() {
        let lut = lookup_table(
            item.get(tags::LUT_DESCRIPTOR),
            item.get(tags::LUT_DATA),
            desc.signed,
        )
        .map_err(|reason| Kind::InvalidAttribute {
            name: "ModalityLUTSequence",
            reason,
        })?;
        if let Some(lut) = lut {
            return Ok(vec![ModalityLut::Table(lut)]);
        }
    }
    let rescale = |g: &InMemDicomObject| {
        let slope = float(g, tags::RESCALE_SLOPE);
        let intercept = float(g, tags::RESCALE_INTERCEPT);
        (slope.is_some() || intercept.is_some()).then(|| ModalityLut::Rescale {
            slope: slope.filter(|s| *s != 0.0).unwrap_or(1.0),
            intercept: intercept.unwrap_or(0.0),
        })
    };
    if let Some(lut) = rescale(ds) {
        return Ok(vec![lut]);
    }
    let per_frame: Vec<ModalityLut> = (0..desc.frames)
        .map(|f| {
            functional_group(ds, f, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, rescale)
                .unwrap_or_default()
        })
        .collect();
    if per_frame.iter().all(|l| l == &per_frame[0]) {
        Ok(vec![per_frame[0].clone()])
    } else {
        Ok(per_frame)
    }
}

fn windows_in(g: &InMemDicomObject) -> (Vec<Voi>, Vec<String>) {
    let centers = floats(g, tags::WINDOW_CENTER);
    let widths = floats(g, tags::WINDOW_WIDTH);
    let functions: Vec<VoiFunction> = text(g, tags::VOILUT_FUNCTION)
        .map(|s| s.split('\\').map(VoiFunction::parse).collect())
        .unwrap_or_default();
    let explanations: Vec<String> = text(g, tags::WINDOW_CENTER_WIDTH_EXPLANATION)
        .map(|s| s.split('\\').map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    let vois = centers
        .iter()
        .zip(&widths)
        .enumerate()
        .map(|(i, (&center, &width))| {
            Voi::Window(Window {
                center,
                width,
                function: functions
                    .get(i)
                    .or(functions.first())
                    .copied()
                    .unwrap_or_default(),
            })
        })
        .collect();
    (vois, explanations)
}

fn voi_luts(ds: &InMemDicomObject, desc: &PixelDescription) -> (Vec<Vec<Voi>>, Vec<String>) {
    let (mut top, explanations) = windows_in(ds);
    for item in items(ds, tags::VOILUT_SEQUENCE) {
        // The VOI LUT input is a modality value: signed when the modality
        // output can be negative, which for a plain rescale follows the
        // pixel representation.
        if let Ok(Some(lut)) = lookup_table(
            item.get(tags::LUT_DESCRIPTOR),
            item.get(tags::LUT_DATA),
            desc.signed,
        ) {
            top.push(Voi::Table(lut));
        }
    }
    if !top.is_empty() {
        return (vec![top], explanations);
    }
    let per_frame: Vec<Vec<Voi>> = (0..desc.frames)
        .map(|f| {
            functional_group(ds, f, tags::FRAME_VOILUT_SEQUENCE, |g| {
                let (v, _) = windows_in(g);
                (!v.is_empty()).then_some(v)
            })
            .unwrap_or_default()
        })
        .collect();
    if per_frame.iter().all(|v| v == &per_frame[0]) {
        (vec![per_frame[0].clone()], explanations)
    } else {
        (per_frame, explanations)
    }
}

fn palette(ds: &InMemDicomObject) -> Result<Option<Palette>, Kind> {
    let channel = |descriptor: Tag, data: Tag, segmented: Tag, name: &'static str| {
        let bad = |reason: String| Kind::InvalidAttribute { name, reason };
        let desc = ds
            .get(descriptor)
            .ok_or_else(|| bad("missing descriptor".into()))?;
        if let Some(seg) = ds.get(segmented) {
            let d = words(desc)
                .filter(|d| d.len() >= 3)
                .ok_or_else(|| bad("bad descriptor".into()))?;
            let entries = if d[0] == 0 { 65536 } else { d[0] as usize };
            let raw = words(seg).ok_or_else(|| bad("segmented data is not numeric".into()))?;
            let mut expanded = expand_segmented(&raw, 65536).map_err(bad)?;
            expanded.resize(entries.max(1), *expanded.last().unwrap_or(&0));
            let bits = d[2];
            if !(1..=16).contains(&bits) {
                return Err(bad(format!("{bits} bits per entry")));
            }
            return Ok(LookupTable {
                first_mapped: d[1] as i64,
                bits,
                data: expanded,
            });
        }
        lookup_table(Some(desc), ds.get(data), false)
            .map_err(bad)?
            .ok_or_else(|| bad("missing LUT data".into()))
    };
    Ok(Some(Palette {
        red: channel(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "RedPaletteColorLookupTable",
        )?,
        green: channel(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "GreenPaletteColorLookupTable",
        )?,
        blue: channel(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "BluePaletteColorLookupTable",
        )?,
    }))
}

// ------------------------------------------------------------------ decoding

/// Bytes one frame's stored samples take in a native (uncompressed) encoding.
fn native_frame_bytes(desc: &PixelDescription) -> u64 {
    let pixels = desc.rows as u64 * desc.columns as u64;
    let samples = match &desc.photometric {
        // YBR_FULL_422 stores two luma and one pair of chroma per two pixels.
        Photometric::Color(name) if name.contains("422") => pixels.div_ceil(2) * 4,
        _ => pixels * desc.samples_per_pixel as u64,
    };
    if desc.bits_allocated == 1 {
        samples.div_ceil(8)
    } else {
        samples * (desc.bits_allocated as u64 / 8)
    }
}

/// Bytes the decoded frames will take in memory.
fn decoded_bytes(desc: &PixelDescription) -> u64 {
    let per_sample = (desc.bits_allocated as u64).div_ceil(8).max(1);
    desc.rows as u64
        * desc.columns as u64
        * desc.samples_per_pixel as u64
        * per_sample
        * desc.frames as u64
}

/// Interprets raw little-endian sample bytes: extracts Bits Stored from
/// below High Bit and sign-extends when the data is signed.
fn samples_from_bytes(bytes: &[u8], count: usize, desc: &PixelDescription) -> Samples {
    let stored = desc.bits_stored as u32;
    let shift = (desc.high_bit as u32 + 1).saturating_sub(stored);
    match desc.bits_allocated {
        8 => {
            let raw = &bytes[..count];
            if desc.signed {
                Samples::I8(
                    raw.iter()
                        .map(|&b| {
                            (((b as u32 >> shift) << (32 - stored)) as i32 >> (32 - stored)) as i8
                        })
                        .collect(),
                )
            } else {
                let mask = if stored >= 8 {
                    0xFF
                } else {
                    (1u32 << stored) - 1
                };
                if shift == 0 && mask == 0xFF {
                    Samples::U8(raw.to_vec())
                } else {
                    Samples::U8(
                        raw.iter()
                            .map(|&b| ((b as u32 >> shift) & mask) as u8)
                            .collect(),
                    )
                }
            }
        }
        16 => {
            let words = bytes[..count * 2]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32 >> shift);
            if desc.signed {
                Samples::I16(
                    words
                        .map(|w| ((w << (32 - stored)) as i32 >> (32 - stored)) as i16)
                        .collect(),
                )
            } else {
                let mask = if stored >= 16 {
                    0xFFFF
                } else {
                    (1u32 << stored) - 1
                };
                Samples::U16(words.map(|w| (w & mask) as u16).collect())
            }
        }
        _ => {
            let words = bytes[..count * 4]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64 >> shift);
            if desc.signed {
                Samples::I32(
                    words
                        .map(|w| ((w << (64 - stored)) as i64 >> (64 - stored)) as i32)
                        .collect(),
                )
            } else {
                let mask = if stored >= 32 {
                    0xFFFF_FFFF
                } else {
                    (1u64 << stored) - 1
                };
                Samples::U32(words.map(|w| (w & mask) as u32).collect())
            }
        }
    }
}

/// Unpacks 1-bit data: pixel `i` of the object is bit `i % 8` of byte `i / 8`,
/// continuing across frame boundaries.
fn unpack_bits(all: &[u8], first_pixel: usize, count: usize) -> Samples {
    Samples::U8(
        (first_pixel..first_pixel + count)
            .map(|i| (all[i / 8] >> (i % 8)) & 1)
            .collect(),
    )
}

/// Is this a colour frame whose codec already converted it to RGB?
fn codec_outputs_rgb(ts_uid: &str) -> bool {
    // JPEG (ITU T.81) and JPEG 2000 decoders undo their colour transforms;
    // RLE and JPEG-LS hand back the samples as encoded.
    ts_uid.starts_with("1.2.840.10008.1.2.4.5")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.6")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.7")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.9")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.20")
}

fn finish_frame(
    bytes: &[u8],
    desc: &PixelDescription,
    planar: bool,
    photometric: &str,
) -> Result<Frame, Kind> {
    let pixels = desc.rows as usize * desc.columns as usize;
    let (rows, columns) = (desc.rows, desc.columns);
    if desc.samples_per_pixel == 1 {
        let need = pixels * (desc.bits_allocated as usize / 8);
        if bytes.len() < need {
            return Err(Kind::Truncated {
                found: bytes.len(),
                expected: need,
            });
        }
        return Ok(Frame {
            rows,
            columns,
            kind: FrameKind::Gray,
            samples: samples_from_bytes(bytes, pixels, desc),
        });
    }
    let bytes_per_sample = desc.bits_allocated as usize / 8;
    if photometric == "YBR_FULL_422" || photometric == "YBR_PARTIAL_422" {
        let need = pixels.div_ceil(2) * 4 * bytes_per_sample;
        if bytes.len() < need || bytes_per_sample != 1 {
            return Err(Kind::Truncated {
                found: bytes.len(),
                expected: need,
            });
        }
        let ybr = color::expand_422(&bytes[..need], desc.columns as usize, desc.rows as usize);
        return Ok(Frame {
            rows,
            columns,
            kind: FrameKind::Rgb,
            samples: Samples::U8(color::ybr_full_to_rgb(&ybr)),
        });
    }
    let need = pixels * 3 * bytes_per_sample;
    if bytes.len() < need {
        return Err(Kind::Truncated {
            found: bytes.len(),
            expected: need,
        });
    }
    let interleaved: Cow<[u8]> = if planar {
        Cow::Owned(color::planar_to_interleaved(
            &bytes[..need],
            pixels,
            bytes_per_sample,
        ))
    } else {
        Cow::Borrowed(&bytes[..need])
    };
    let mut samples = samples_from_bytes(&interleaved, pixels * 3, desc);
    if photometric == "YBR_FULL"
        && let Samples::U8(v) = &samples
    {
        samples = Samples::U8(color::ybr_full_to_rgb(v));
    }
    Ok(Frame {
        rows,
        columns,
        kind: FrameKind::Rgb,
        samples,
    })
}

fn decode_frames(
    parsed: &Parsed,
    desc: &PixelDescription,
    selection: FrameSelection,
) -> Result<Vec<Option<Frame>>, Kind> {
    let mut frames: Vec<Option<Frame>> = vec![None; desc.frames];
    let wanted: Vec<usize> = match selection {
        FrameSelection::None => return Ok(frames),
        FrameSelection::All => (0..desc.frames).collect(),
        FrameSelection::Only(n) if n < desc.frames => vec![n],
        FrameSelection::Only(n) => {
            return Err(Kind::FrameOutOfRange {
                requested: n,
                available: desc.frames,
            });
        }
    };
    let ds = parsed.dataset();
    let pixel_data = match ds.get(tags::PIXEL_DATA) {
        Some(e) => e,
        None if ds.get(tags::FLOAT_PIXEL_DATA).is_some()
            || ds.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some() =>
        {
            return Err(Kind::InvalidAttribute {
                name: "FloatPixelData",
                reason: "floating-point pixel data is not supported".into(),
            });
        }
        None => return Err(Kind::NoPixelData),
    };
    let ts_uid = parsed.transfer_syntax().trim_end_matches('\0').to_string();
    match pixel_data.value() {
        Value::Primitive(p) => {
            let all = p.to_bytes();
            let frame_bytes = native_frame_bytes(desc) as usize;
            let planar = desc.planar_configuration == Some(1);
            for n in wanted {
                let frame = if desc.bits_allocated == 1 {
                    let pixels = desc.rows as usize * desc.columns as usize;
                    let need = (n + 1) * pixels;
                    if all.len() * 8 < need {
                        return Err(Kind::Truncated {
                            found: all.len(),
                            expected: need.div_ceil(8),
                        });
                    }
                    Frame {
                        rows: desc.rows,
                        columns: desc.columns,
                        kind: FrameKind::Gray,
                        samples: unpack_bits(&all, n * pixels, pixels),
                    }
                } else {
                    let start = n * frame_bytes;
                    let bytes = all.get(start..start + frame_bytes).ok_or(Kind::Truncated {
                        found: all.len(),
                        expected: desc.frames * frame_bytes,
                    })?;
                    finish_frame(bytes, desc, planar, &desc.photometric_name)?
                };
                frames[n] = Some(frame);
            }
        }
        Value::PixelSequence(_) => {
            let Parsed::File(file) = parsed else {
                return Err(Kind::MalformedDicom(
                    "encapsulated pixel data without a transfer syntax".into(),
                ));
            };
            let ts = TransferSyntaxRegistry.get(&ts_uid);
            let ts_name = ts
                .map(|t| t.name().to_string())
                .unwrap_or_else(|| ts_uid.clone());
            let decodable = ts.is_some_and(|t| {
                t.can_decode_all() && matches!(t.codec(), Codec::EncapsulatedPixelData(Some(_), _))
            });
            if !decodable {
                return Err(Kind::UnsupportedTransferSyntax {
                    uid: ts_uid.clone(),
                    name: ts_name,
                });
            }
            let photometric = if desc.samples_per_pixel == 3 && codec_outputs_rgb(&ts_uid) {
                "RGB".to_string()
            } else {
                desc.photometric_name.clone()
            };
            let fragments = match pixel_data.value() {
                Value::PixelSequence(seq) => seq.fragments(),
                _ => &[],
            };
            for n in wanted {
                if ts_uid == RLE_LOSSLESS {
                    let stream = frame_fragments(fragments, n, desc.frames)?;
                    let bytes_per_sample = desc.bits_allocated.div_ceil(8) as usize;
                    let pixels = desc.rows as usize * desc.columns as usize;
                    if desc.bits_allocated == 1 {
                        return Err(Kind::UnsupportedTransferSyntax {
                            uid: ts_uid.clone(),
                            name: format!("{ts_name} with 1-bit pixels"),
                        });
                    }
                    let data = rle::decode_frame(
                        &stream,
                        pixels,
                        desc.samples_per_pixel as usize,
                        bytes_per_sample,
                    )
                    .map_err(|reason| Kind::Codec {
                        codec: ts_name.clone(),
                        reason,
                    })?;
                    frames[n] = Some(finish_frame(&data, desc, false, &desc.photometric_name)?);
                    continue;
                }
                if is_jpeg2000(&ts_uid) {
                    // The J2K adapter writes the codestream's samples into a
                    // buffer sized from the DICOM header and indexes past it
                    // when the two disagree: compare them first.
                    let stream = frame_fragments(fragments, n, desc.frames)?;
                    if let Some((width, height, components)) = jpeg2000_size(&stream)
                        && (width != desc.columns
                            || height != desc.rows
                            || components != desc.samples_per_pixel)
                    {
                        return Err(Kind::Codec {
                            codec: ts_name.clone(),
                            reason: format!(
                                "the stream is {width}x{height} with {components} components, \
                                 the header says {}x{} with {}",
                                desc.columns, desc.rows, desc.samples_per_pixel
                            ),
                        });
                    }
                }
                if ts_uid == JPEG_EXTENDED {
                    // jpeg-decoder (behind dicom-pixeldata) stops at 8-bit
                    // DCT samples; 12-bit extended streams take this path.
                    let stream = frame_fragments(fragments, n, desc.frames)?;
                    let limit = decoded_bytes(desc) as usize / desc.frames + 1;
                    let raster =
                        openreadout_codecs::jpeg_decode_limited(&stream, limit).map_err(|e| {
                            Kind::Codec {
                                codec: ts_name.clone(),
                                reason: e.to_string(),
                            }
                        })?;
                    if raster.width != desc.columns || raster.height != desc.rows {
                        return Err(Kind::Codec {
                            codec: ts_name.clone(),
                            reason: format!(
                                "stream is {}x{}, the header says {}x{}",
                                raster.width, raster.height, desc.columns, desc.rows
                            ),
                        });
                    }
                    let mut frame_desc = desc.clone();
                    frame_desc.bits_allocated = if raster.bits_per_sample > 8 { 16 } else { 8 };
                    frames[n] = Some(finish_frame(
                        &raster.data,
                        &frame_desc,
                        false,
                        &photometric,
                    )?);
                    continue;
                }
                let decoded = file
                    .decode_pixel_data_frame(n as u32)
                    .map_err(|e| Kind::Codec {
                        codec: ts_name.clone(),
                        reason: error_chain(&e),
                    })?;
                let mut frame_desc = desc.clone();
                frame_desc.bits_allocated = decoded.bits_allocated();
                let frame = finish_frame(decoded.data(), &frame_desc, false, &photometric)
                    .map_err(|e| match e {
                        Kind::Truncated { found, expected } => Kind::Codec {
                            codec: ts_name.clone(),
                            reason: format!(
                                "decoder returned {found} bytes, the header needs {expected}"
                            ),
                        },
                        other => other,
                    })?;
                frames[n] = Some(frame);
            }
        }
        Value::Sequence(_) => {
            return Err(Kind::MalformedDicom("Pixel Data is a sequence".into()));
        }
    }
    Ok(frames)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn build_image(
    path: &Path,
    parsed: &Parsed,
    inferred: bool,
    options: &LoadOptions,
) -> Result<Image, Kind> {
    let ds = parsed.dataset();
    let ts_uid = parsed.transfer_syntax().trim_end_matches('\0').to_string();
    let ts_name = TransferSyntaxRegistry
        .get(&ts_uid)
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("unknown ({ts_uid})"));
    let metadata = read_metadata(ds);
    let has_pixel_data = ds.get(tags::PIXEL_DATA).is_some()
        || ds.get(tags::FLOAT_PIXEL_DATA).is_some()
        || ds.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some();
    // A header-only read stops before Pixel Data; an object without any
    // image attributes (a structured report, say) is not an image either.
    let has_image_attributes = [tags::ROWS, tags::COLUMNS, tags::BITS_ALLOCATED]
        .iter()
        .any(|t| ds.get(*t).is_some());
    let header_only = options.frames == FrameSelection::None;
    if (!header_only && !has_pixel_data) || (header_only && !has_image_attributes) {
        return Err(Kind::NoPixelData);
    }
    let pixels = describe_pixels(ds)?;
    let total = decoded_bytes(&pixels);
    if total > options.max_pixel_bytes {
        return Err(Kind::TooLarge(format!(
            "{}x{} x {} frames x {} samples of {} bits = {} bytes (limit {})",
            pixels.columns,
            pixels.rows,
            pixels.frames,
            pixels.samples_per_pixel,
            pixels.bits_allocated,
            total,
            options.max_pixel_bytes
        )));
    }
    let modality_luts = if pixels.photometric.is_monochrome() {
        modality_luts(ds, &pixels)?
    } else {
        vec![ModalityLut::default()]
    };
    let (vois, voi_explanations) = voi_luts(ds, &pixels);
    let palette = if pixels.photometric == Photometric::PaletteColor {
        palette(ds)?
    } else {
        None
    };
    let rescale_present = (
        float(ds, tags::RESCALE_SLOPE).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, |g| {
                float(g, tags::RESCALE_SLOPE)
            })
        }),
        float(ds, tags::RESCALE_INTERCEPT).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, |g| {
                float(g, tags::RESCALE_INTERCEPT)
            })
        }),
    );
    let frames = decode_frames(parsed, &pixels, options.frames)?;
    Ok(Image {
        path: path.to_path_buf(),
        source: SourceFormat::Dicom {
            transfer_syntax_uid: ts_uid,
            transfer_syntax_name: ts_name,
            transfer_syntax_inferred: inferred,
        },
        metadata,
        pixels,
        modality_luts,
        rescale_present,
        vois,
        voi_explanations,
        palette,
        presentation_lut_shape: text(ds, tags::PRESENTATION_LUT_SHAPE),
        frames,
    })
}

/// Loads a DICOM file: parses it, reads the pixel pipeline parameters and
/// decodes the selected frames.
///
/// Never panics on bad input: a panic inside a third-party codec is caught
/// and reported as [`ImagingErrorKind::DecoderPanic`].
pub fn load_dicom(path: &Path, options: &LoadOptions) -> ImagingResult<Image> {
    let run = || -> Result<Image, Kind> {
        let header_only = options.frames == FrameSelection::None;
        let (parsed, inferred) = open(path, header_only, options.max_pixel_bytes)?;
        build_image(path, &parsed, inferred, options)
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}

// ---------------------------------------------------------------- attribute listing

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
/// guards as [`load_dicom`]; never panics.
pub fn read_attributes(path: &Path, options: &LoadOptions) -> ImagingResult<Vec<Attribute>> {
    let run = || -> Result<Vec<Attribute>, Kind> {
        let (parsed, _) = open(path, true, options.max_pixel_bytes)?;
        let mut out = Vec::new();
        list_attributes(parsed.dataset(), 0, &mut out);
        Ok(out)
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}

/// A DICOM file's whole data set, parsed exactly as loading parses it
/// (preamble or not, File Meta or not, inferred syntax, deflate inflated,
/// lengths checked first), with the transfer syntax UID its pixel data is
/// encoded in: for tools that rewrite a data set (de-identification).
pub fn read_dataset(path: &Path) -> ImagingResult<(InMemDicomObject, String)> {
    let run = || -> Result<(InMemDicomObject, String), Kind> {
        let (parsed, _) = open(path, false, MAX_PIXEL_BYTES)?;
        let ts = parsed.transfer_syntax().to_string();
        let dataset = match parsed {
            Parsed::File(file) => file.into_inner(),
            Parsed::Bare(dataset, _) => dataset,
        };
        Ok((dataset, ts))
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}
