//! Reading DICOM files: parsing (with or without preamble or File Meta
//! Information), attribute extraction, and pixel decoding to native frames.
//!
//! Compressed frames go through the `dicom-pixeldata` codecs (JPEG through
//! `openreadout-codecs`); everything after the codec (bit masking, sign
//! extension, planar layout, YBR to RGB, palettes) is done here, because the
//! codecs' own post-processing has gaps (palettes returned as gray, planar
//! configuration, high bit).
//!
//! Layout: `open` (sniffing, File Meta, pre-scan, parsing, UN attributes),
//! `attributes` (metadata and pipeline parameters), `decode` and `codecs`
//! (pixels), `listing` (the tag browser's attribute list).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use self::attributes::{
    describe_pixels, float, functional_group, modality_luts, palette, read_metadata, text, voi_luts,
};
use self::decode::{check_frame_count, decode_frames, decoded_bytes};
use self::open::{Opened, open};
use super::image::{Image, Photometric, SourceFormat};
use super::modality::ModalityLut;
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

pub(crate) mod attributes;
mod codecs;
mod decode;
mod jpeg2000;
mod listing;
mod open;
// The crate's only unsafe code: the FFI calls into OpenJPEG.
#[allow(unsafe_code)]
mod openjpeg;
mod un;

pub use self::listing::{ATTRIBUTE_TEXT_LIMIT, Attribute, read_attributes};
pub use self::open::{Sniff, read_dataset, sniff, sniff_path};

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
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// An error and its sources in one line.
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

fn build_image(path: &Path, opened: &Opened, options: &LoadOptions) -> Result<Image, Kind> {
    let parsed = &opened.parsed;
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
    let mut pixels = describe_pixels(ds)?;
    // Checked before anything is allocated per frame: the size product
    // cannot wrap, and Number of Frames cannot exceed what the pixel data
    // holds.
    let total = decoded_bytes(&pixels).ok_or_else(|| {
        Kind::TooLarge(format!(
            "{}x{} x {} frames x {} samples of {} bits overflows 64 bits",
            pixels.columns,
            pixels.rows,
            pixels.frames,
            pixels.samples_per_pixel,
            pixels.bits_allocated
        ))
    })?;
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
    check_frame_count(&pixels, &opened.pixel_extent)?;
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
    pixels.warnings.extend(codecs::color_warning(
        &ts_uid,
        &pixels,
        opened.first_fragment.as_deref(),
    ));
    let frames = decode_frames(parsed, &pixels, options.frames)?;
    Ok(Image {
        path: path.to_path_buf(),
        source: SourceFormat::Dicom {
            transfer_syntax_uid: ts_uid,
            transfer_syntax_name: ts_name,
            transfer_syntax_inferred: opened.inferred,
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
        let opened = open(path, header_only, options.max_pixel_bytes)?;
        build_image(path, &opened, options)
    };
    crate::imaging::contain_panics(run).map_err(|kind| ImagingError::new(path, kind))
}
