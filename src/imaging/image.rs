//! The loaded image: description, pixel pipeline parameters and frames.

use std::path::PathBuf;

use super::metadata::Metadata;
use super::modality::ModalityLut;
use super::palette::Palette;
use super::pixels::Frame;
use super::voi::Voi;
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

/// Photometric Interpretation, as far as this program distinguishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photometric {
    /// Dark is low (the usual).
    Monochrome2,
    /// Dark is high (many CR/DX): inverted for display.
    Monochrome1,
    /// Indices into a palette.
    PaletteColor,
    /// Colour; the original name is kept (RGB, YBR_FULL, ...), the frames
    /// hold RGB.
    Color(String),
}

impl Photometric {
    /// Parses the DICOM attribute value.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase();
        match t.as_str() {
            "MONOCHROME2" => Some(Photometric::Monochrome2),
            "MONOCHROME1" => Some(Photometric::Monochrome1),
            "PALETTE COLOR" => Some(Photometric::PaletteColor),
            "RGB" | "YBR_FULL" | "YBR_FULL_422" | "YBR_PARTIAL_422" | "YBR_PARTIAL_420"
            | "YBR_ICT" | "YBR_RCT" => Some(Photometric::Color(t)),
            _ => None,
        }
    }

    /// True for gray images (MONOCHROME1/2).
    pub fn is_monochrome(&self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

/// Where the image came from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceFormat {
    /// A DICOM file.
    Dicom {
        /// Transfer Syntax UID (inferred when the file had none).
        transfer_syntax_uid: String,
        /// Its name.
        transfer_syntax_name: String,
        /// True when the file had no File Meta Information or no Transfer
        /// Syntax UID in it and the syntax was inferred.
        transfer_syntax_inferred: bool,
    },
    /// A PNG, JPEG or TIFF file.
    Raster {
        /// Format name (PNG, JPEG, TIFF).
        format: String,
    },
}

/// How the stored pixel values are laid out and interpreted.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelDescription {
    /// Rows (height).
    pub rows: u32,
    /// Columns (width).
    pub columns: u32,
    /// Number of frames.
    pub frames: usize,
    /// Samples per pixel (1 or 3).
    pub samples_per_pixel: u16,
    /// Bits Allocated.
    pub bits_allocated: u16,
    /// Bits Stored.
    pub bits_stored: u16,
    /// High Bit.
    pub high_bit: u16,
    /// Pixel Representation: true for two's complement.
    pub signed: bool,
    /// Planar Configuration as stored (0 interleaved, 1 planar).
    pub planar_configuration: Option<u16>,
    /// Photometric Interpretation as stored.
    pub photometric_name: String,
    /// Photometric Interpretation as interpreted.
    pub photometric: Photometric,
    /// Doubts about how the pixels are to be read (a JPEG stream whose
    /// colour coding the header contradicts or does not state, say): the
    /// pixels are decoded by the stated rule and the doubt is shown, never
    /// kept silent.
    pub warnings: Vec<String>,
}

impl PixelDescription {
    /// The smallest and largest stored value the bit depth allows.
    pub fn stored_range(&self) -> (i64, i64) {
        let bits = self.bits_stored.clamp(1, 32) as u32;
        if self.signed {
            (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
        } else {
            (0, (1i64 << bits) - 1)
        }
    }
}

/// A loaded image: everything the pixel pipeline needs.
#[derive(Debug, Clone)]
pub struct Image {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// DICOM or raster, with the transfer syntax.
    pub source: SourceFormat,
    /// Descriptive metadata.
    pub metadata: Metadata,
    /// Pixel layout.
    pub pixels: PixelDescription,
    /// Modality LUT per frame: one entry shared by all frames, or one per
    /// frame (enhanced multi-frame objects).
    pub modality_luts: Vec<ModalityLut>,
    /// Whether the file itself carries Rescale Slope/Intercept (or a
    /// Modality LUT Sequence), as opposed to the identity default.
    pub rescale_present: (Option<f64>, Option<f64>),
    /// VOI choices per frame from the file (windows then VOI LUTs): one list
    /// shared by all frames, or one per frame.
    pub vois: Vec<Vec<Voi>>,
    /// Explanations of the file's windows (Window Center & Width Explanation).
    pub voi_explanations: Vec<String>,
    /// The palette of a PALETTE COLOR image.
    pub palette: Option<Palette>,
    /// Presentation LUT Shape as stored.
    pub presentation_lut_shape: Option<String>,
    /// Decoded frames; `None` for frames not asked for at load time.
    pub frames: Vec<Option<Frame>>,
}

impl Image {
    /// True when display inverts gray values (MONOCHROME1, or a Presentation
    /// LUT Shape of INVERSE). Applied exactly once, at the end of the pipeline.
    pub fn inverts(&self) -> bool {
        let inverse_shape = self
            .presentation_lut_shape
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("INVERSE"));
        match self.pixels.photometric {
            // For MONOCHROME1 an INVERSE shape restates the same inversion.
            Photometric::Monochrome1 => true,
            Photometric::Monochrome2 => inverse_shape,
            _ => false,
        }
    }

    /// The Modality LUT of `frame`.
    pub fn modality_lut(&self, frame: usize) -> &ModalityLut {
        static IDENTITY: ModalityLut = ModalityLut::Rescale {
            slope: 1.0,
            intercept: 0.0,
        };
        self.modality_luts
            .get(frame)
            .or(self.modality_luts.first())
            .unwrap_or(&IDENTITY)
    }

    /// The file's VOI choices for `frame` (may be empty).
    pub fn file_vois(&self, frame: usize) -> &[Voi] {
        self.vois
            .get(frame)
            .or(self.vois.first())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The decoded frame `index`, or an error when it is out of range or was
    /// not decoded.
    pub fn frame(&self, index: usize) -> ImagingResult<&Frame> {
        match self.frames.get(index) {
            Some(Some(f)) => Ok(f),
            Some(None) => Err(ImagingError::new(
                &self.path,
                ImagingErrorKind::Codec {
                    codec: "frame".into(),
                    reason: format!("frame {index} was not decoded"),
                },
            )),
            None => Err(ImagingError::new(
                &self.path,
                ImagingErrorKind::FrameOutOfRange {
                    requested: index,
                    available: self.frames.len(),
                },
            )),
        }
    }

    /// Bytes held by decoded frames.
    pub fn pixel_bytes(&self) -> usize {
        self.frames
            .iter()
            .flatten()
            .map(|f| f.samples.byte_len())
            .sum()
    }
}
