//! Plain X-ray images: PNG (8/16-bit), JPEG and TIFF, through the `image`
//! crate, loaded into the same [`Image`] model as DICOM.

use std::path::Path;

use image::{DynamicImage, ImageReader};

use super::image::{Image, Photometric, PixelDescription, SourceFormat};
use super::metadata::Metadata;
use super::modality::ModalityLut;
use super::pixels::{Frame, FrameKind, Samples};
use super::voi::{Voi, Window};
use crate::error::{ImagingError, ImagingErrorKind, ImagingResult};

/// File extensions loaded as raster images.
pub const RASTER_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff"];

/// True when the path has a raster image extension.
pub fn has_raster_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| RASTER_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Dimensions larger than this are refused before decoding.
const MAX_SIDE: u32 = 65535;

/// Loads a PNG, JPEG or TIFF file as a single-frame image.
///
/// Gray images keep their bit depth (8 or 16); colour images become 8- or
/// 16-bit RGB; an alpha channel is dropped.
pub fn load_raster(path: &Path) -> ImagingResult<Image> {
    let err = |kind| ImagingError::new(path, kind);
    // Read the file once; the header check and the decode share the bytes.
    let bytes = std::fs::read(path).map_err(|e| err(ImagingErrorKind::Io(e.to_string())))?;
    let reader = || {
        ImageReader::new(std::io::Cursor::new(&bytes[..]))
            .with_guessed_format()
            .map_err(|e| ImagingErrorKind::Io(e.to_string()))
    };
    let format = reader()
        .map_err(err)?
        .format()
        .ok_or_else(|| err(ImagingErrorKind::NotAnImage))?;
    let codec_error = |e: image::ImageError| ImagingErrorKind::Codec {
        codec: format!("{format:?}"),
        reason: e.to_string(),
    };
    let (width, height) = reader()
        .map_err(err)?
        .into_dimensions()
        .map_err(|e| err(codec_error(e)))?;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(err(ImagingErrorKind::TooLarge(format!(
            "{width}x{height} pixels"
        ))));
    }
    let decoded =
        crate::imaging::contain_panics(|| reader()?.decode().map_err(codec_error)).map_err(err)?;
    let (rows, columns) = (decoded.height(), decoded.width());
    let (kind, samples, bits, photometric) = match decoded {
        DynamicImage::ImageLuma8(g) => (FrameKind::Gray, Samples::U8(g.into_raw()), 8, None),
        DynamicImage::ImageLumaA8(_) => {
            let g = decoded.to_luma8();
            (FrameKind::Gray, Samples::U8(g.into_raw()), 8, None)
        }
        DynamicImage::ImageLuma16(g) => (FrameKind::Gray, Samples::U16(g.into_raw()), 16, None),
        DynamicImage::ImageLumaA16(_) => {
            let g = decoded.to_luma16();
            (FrameKind::Gray, Samples::U16(g.into_raw()), 16, None)
        }
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) => {
            let c = decoded.to_rgb16();
            (FrameKind::Rgb, Samples::U16(c.into_raw()), 16, Some("RGB"))
        }
        other => {
            let c = other.to_rgb8();
            (FrameKind::Rgb, Samples::U8(c.into_raw()), 8, Some("RGB"))
        }
    };
    let spp = if kind == FrameKind::Rgb { 3 } else { 1 };
    let photometric_name = photometric.unwrap_or("MONOCHROME2").to_string();
    Ok(Image {
        path: path.to_path_buf(),
        source: SourceFormat::Raster {
            format: format!("{format:?}").to_uppercase(),
        },
        metadata: Metadata {
            modality: None,
            ..Metadata::default()
        },
        pixels: PixelDescription {
            rows,
            columns,
            frames: 1,
            samples_per_pixel: spp,
            bits_allocated: bits,
            bits_stored: bits,
            high_bit: bits - 1,
            signed: false,
            planar_configuration: None,
            photometric: Photometric::parse(&photometric_name).unwrap_or(Photometric::Monochrome2),
            photometric_name,
        },
        modality_luts: vec![ModalityLut::default()],
        rescale_present: (None, None),
        // An 8-bit gray picture is already display-ready: its default window
        // is the identity (0..255 in, 0..255 out). 16-bit pictures have no
        // such default and get the min-max window.
        vois: vec![if bits == 8 && spp == 1 {
            vec![Voi::Window(Window::linear(128.0, 256.0))]
        } else {
            Vec::new()
        }],
        voi_explanations: if bits == 8 && spp == 1 {
            vec!["8-bit image as stored".into()]
        } else {
            Vec::new()
        },
        palette: None,
        presentation_lut_shape: None,
        frames: vec![Some(Frame {
            rows,
            columns,
            kind,
            samples,
        })],
    })
}
