//! Opening a DICOM file: sniffing, File Meta Information, transfer syntax
//! inference, inflating deflated data sets, and the structural pre-scan
//! (see [`crate::imaging::guard`]) before the parser sees any byte.

use std::io::Read;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::{Codec, Endianness, TransferSyntaxIndex};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::{
    DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE, Kind, MAX_PIXEL_BYTES,
    error_chain, un,
};
use crate::error::{ImagingError, ImagingResult};
use crate::imaging::guard::{Encoding, PixelExtent, Scan, scan, scan_meta_group};

/// Bytes a file may have beyond the pixel budget (headers, overlays, icon
/// images): larger files are refused before they are read into memory.
const FILE_SLACK: u64 = 256 << 20;

/// The most bytes of the first fragment kept for a header-only load (enough
/// for a JPEG stream's markers before its first scan).
const FIRST_FRAGMENT_KEPT: usize = 1 << 20;

/// A parsed data set: either a proper Part 10 file or a bare data set whose
/// transfer syntax was inferred.
pub(super) enum Parsed {
    File(Box<FileDicomObject<InMemDicomObject>>),
    Bare(InMemDicomObject, &'static str),
}

impl Parsed {
    pub(super) fn dataset(&self) -> &InMemDicomObject {
        match self {
            Parsed::File(f) => f,
            Parsed::Bare(d, _) => d,
        }
    }

    fn dataset_mut(&mut self) -> &mut InMemDicomObject {
        match self {
            Parsed::File(f) => f,
            Parsed::Bare(d, _) => d,
        }
    }

    pub(super) fn transfer_syntax(&self) -> &str {
        match self {
            Parsed::File(f) => f.meta().transfer_syntax(),
            Parsed::Bare(_, ts) => ts,
        }
    }
}

/// An opened file: the parsed data set and what the pre-scan measured.
pub(super) struct Opened {
    /// The data set.
    pub parsed: Parsed,
    /// True when the transfer syntax was inferred.
    pub inferred: bool,
    /// The top-level pixel data as the pre-scan measured it (also for a
    /// header-only read, which stops before it).
    pub pixel_extent: PixelExtent,
    /// The start of the first pixel data fragment (encapsulated only), for
    /// checks a header-only read still makes (JPEG colour markers).
    pub first_fragment: Option<Vec<u8>>,
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
        big_endian: ts.endianness() == Endianness::Big,
    })
}

/// Runs the pre-scan over `data`, turning its refusal into an error.
fn prescan(data: &[u8], encoding: Encoding) -> Result<Scan, Kind> {
    scan(data, encoding).map_err(Kind::MalformedDicom)
}

/// The first fragment's bytes (at most [`FIRST_FRAGMENT_KEPT`]).
fn first_fragment(data: &[u8], scan: &Scan) -> Option<Vec<u8>> {
    match &scan.pixel_data {
        PixelExtent::Encapsulated {
            first_fragment: Some(range),
            ..
        } => {
            let end = range.end.min(range.start + FIRST_FRAGMENT_KEPT);
            data.get(range.start..end).map(<[u8]>::to_vec)
        }
        _ => None,
    }
}

fn parse_bare(data: &[u8]) -> Result<Opened, Kind> {
    let ts_uid = infer_dataset_syntax(data).ok_or(Kind::NotAnImage)?;
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| Kind::MalformedDicom(format!("unknown transfer syntax {ts_uid}")))?;
    // Inferred syntaxes are always native, so the bytes can be walked.
    let encoding = encoding_of(ts_uid)
        .ok_or_else(|| Kind::MalformedDicom(format!("cannot walk transfer syntax {ts_uid}")))?;
    let scan = prescan(data, encoding)?;
    let obj = InMemDicomObject::read_dataset_with_ts(data, ts)
        .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
    Ok(Opened {
        parsed: Parsed::Bare(obj, ts_uid),
        inferred: true,
        first_fragment: first_fragment(data, &scan),
        pixel_extent: scan.pixel_data,
    })
}

/// Inflates a Deflated Explicit VR Little Endian data set (at most
/// `max_bytes`), so that its lengths can be checked before parsing.
fn inflate_dataset(deflated: &[u8], max_bytes: u64) -> Result<Opened, Kind> {
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
    let scan = prescan(&inflated, explicit)?;
    let ts = TransferSyntaxRegistry
        .get(EXPLICIT_VR_LE)
        .expect("explicit VR little endian is always registered");
    let obj = InMemDicomObject::read_dataset_with_ts(&inflated[..], ts)
        .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
    Ok(Opened {
        parsed: Parsed::Bare(obj, DEFLATED_EXPLICIT_VR_LE),
        inferred: false,
        first_fragment: first_fragment(&inflated, &scan),
        pixel_extent: scan.pixel_data,
    })
}

/// Reads, pre-scans and parses a DICOM file. `header_only` stops the parser
/// before Pixel Data (the pre-scan still measures it). Files larger than
/// `max_bytes` plus headroom are refused before they are read.
pub(super) fn open(path: &Path, header_only: bool, max_bytes: u64) -> Result<Opened, Kind> {
    let size = std::fs::metadata(path)
        .map_err(|e| Kind::Io(e.to_string()))?
        .len();
    if size > max_bytes.saturating_add(FILE_SLACK) {
        return Err(Kind::TooLarge(format!(
            "the file is {size} bytes (limit {} for pixels plus {FILE_SLACK} for headers)",
            max_bytes
        )));
    }
    let data = std::fs::read(path).map_err(|e| Kind::Io(e.to_string()))?;
    let mut opened = match sniff(&data) {
        Sniff::NotDicom => return Err(Kind::NotAnImage),
        Sniff::BareDataset => parse_bare(&data)?,
        Sniff::Part10 => open_part10(&data, header_only, max_bytes)?,
    };
    // PS3.5 6.2.2: attributes stored as UN in an explicit VR file keep
    // their dictionary meaning; give them their dictionary VR back.
    let big_endian = opened.parsed.transfer_syntax().trim_end_matches('\0') == EXPLICIT_VR_BE;
    un::reinterpret(opened.parsed.dataset_mut(), big_endian);
    Ok(opened)
}

fn open_part10(data: &[u8], header_only: bool, max_bytes: u64) -> Result<Opened, Kind> {
    let magic = if data.len() >= 132 && &data[128..132] == b"DICM" {
        128
    } else {
        0
    };
    let (dataset_start, ts) = scan_meta_group(data, magic + 4).map_err(Kind::MalformedDicom)?;
    let rest = &data[dataset_start..];
    let Some(ts) = ts else {
        // A File Meta group without a Transfer Syntax UID: infer the
        // syntax from the data set.
        if infer_dataset_syntax(rest).is_none() {
            return Err(Kind::MalformedDicom(
                "File Meta Information has no Transfer Syntax UID and the data set's \
                 encoding cannot be inferred"
                    .into(),
            ));
        }
        return parse_bare(rest);
    };
    if ts == DEFLATED_EXPLICIT_VR_LE {
        return inflate_dataset(rest, max_bytes);
    }
    let Some(encoding) = encoding_of(&ts) else {
        return Err(Kind::UnsupportedTransferSyntax {
            name: "unknown transfer syntax".into(),
            uid: ts,
        });
    };
    let scan = prescan(rest, encoding)?;
    let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
    if header_only {
        options = options.read_until(tags::PIXEL_DATA);
    }
    let obj = options
        .from_reader(&data[magic..])
        .map_err(|e| Kind::MalformedDicom(error_chain(&e)))?;
    Ok(Opened {
        parsed: Parsed::File(Box::new(obj)),
        inferred: false,
        first_fragment: first_fragment(rest, &scan),
        pixel_extent: scan.pixel_data,
    })
}

/// A DICOM file's whole data set, parsed exactly as loading parses it
/// (preamble or not, File Meta or not, inferred syntax, deflate inflated,
/// lengths, nesting and element count checked first, UN attributes given
/// their dictionary VR), with the transfer syntax UID its pixel data is
/// encoded in: for tools that rewrite a data set (de-identification).
pub fn read_dataset(path: &Path) -> ImagingResult<(InMemDicomObject, String)> {
    let run = || -> Result<(InMemDicomObject, String), Kind> {
        let opened = open(path, false, MAX_PIXEL_BYTES)?;
        let ts = opened.parsed.transfer_syntax().to_string();
        let dataset = match opened.parsed {
            Parsed::File(file) => file.into_inner(),
            Parsed::Bare(dataset, _) => dataset,
        };
        Ok((dataset, ts))
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}
