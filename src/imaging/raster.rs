//! Plain X-ray images: PNG (8/16-bit), JPEG and TIFF, through the `image`
//! crate, loaded into the same [`Image`] model as DICOM.

use std::path::Path;

use image::{ColorType, DynamicImage, ImageDecoder, ImageReader, Limits};

use super::dicom::{FrameSelection, LoadOptions};
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

/// Bytes a raster file may have beyond the pixel budget (metadata, poor
/// compression): larger files are refused before they are read.
const FILE_SLACK: u64 = 256 << 20;

/// How a decoded picture is kept: gray or RGB, 8 or 16 bits.
fn layout(color: ColorType) -> (FrameKind, u16) {
    match color {
        ColorType::L8 | ColorType::La8 => (FrameKind::Gray, 8),
        ColorType::L16 | ColorType::La16 => (FrameKind::Gray, 16),
        ColorType::Rgb16 | ColorType::Rgba16 => (FrameKind::Rgb, 16),
        _ => (FrameKind::Rgb, 8),
    }
}

/// Loads a PNG, JPEG or TIFF file as a single-frame image, within
/// `options`: the declared dimensions are checked against
/// `max_pixel_bytes` before anything is decoded, and the frame selection is
/// honoured (`FrameSelection::None` reads the header only).
///
/// Gray images keep their bit depth (8 or 16); colour images become 8- or
/// 16-bit RGB; an alpha channel is dropped.
pub fn load_raster(path: &Path, options: &LoadOptions) -> ImagingResult<Image> {
    let err = |kind| ImagingError::new(path, kind);
    let size = std::fs::metadata(path)
        .map_err(|e| err(ImagingErrorKind::Io(e.to_string())))?
        .len();
    if size > options.max_pixel_bytes.saturating_add(FILE_SLACK) {
        return Err(err(ImagingErrorKind::TooLarge(format!(
            "the file is {size} bytes (limit {} for pixels plus {FILE_SLACK})",
            options.max_pixel_bytes
        ))));
    }
    match options.frames {
        FrameSelection::Only(n) if n > 0 => {
            return Err(err(ImagingErrorKind::FrameOutOfRange {
                requested: n,
                available: 1,
            }));
        }
        _ => {}
    }
    // Read the file once; the header check and the decode share the bytes.
    let bytes = std::fs::read(path).map_err(|e| err(ImagingErrorKind::Io(e.to_string())))?;
    let mut reader = ImageReader::new(std::io::Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| err(ImagingErrorKind::Io(e.to_string())))?;
    let format = reader
        .format()
        .ok_or_else(|| err(ImagingErrorKind::NotAnImage))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(options.max_pixel_bytes);
    reader.limits(limits);
    let codec_error = |e: image::ImageError| ImagingErrorKind::Codec {
        codec: format!("{format:?}"),
        reason: e.to_string(),
    };
    let decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(l) => err(ImagingErrorKind::TooLarge(l.to_string())),
        other => err(codec_error(other)),
    })?;
    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    let declared = u64::from(width) * u64::from(height) * color.bytes_per_pixel() as u64;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(err(ImagingErrorKind::TooLarge(format!(
            "{width}x{height} pixels"
        ))));
    }
    if declared > options.max_pixel_bytes {
        return Err(err(ImagingErrorKind::TooLarge(format!(
            "{width}x{height} pixels of {color:?} = {declared} bytes (limit {})",
            options.max_pixel_bytes
        ))));
    }
    let (kind, bits) = layout(color);
    let (rows, columns) = (height, width);
    let samples = if options.frames == FrameSelection::None {
        None
    } else {
        let decoded = crate::imaging::contain_panics(|| {
            DynamicImage::from_decoder(decoder).map_err(codec_error)
        })
        .map_err(err)?;
        Some(match (kind, bits) {
            (FrameKind::Gray, 8) => Samples::U8(decoded.into_luma8().into_raw()),
            (FrameKind::Gray, _) => Samples::U16(decoded.into_luma16().into_raw()),
            (FrameKind::Rgb, 16) => Samples::U16(decoded.into_rgb16().into_raw()),
            (FrameKind::Rgb, _) => Samples::U8(decoded.into_rgb8().into_raw()),
        })
    };
    let photometric = (kind == FrameKind::Rgb).then_some("RGB");
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
            warnings: Vec::new(),
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
        frames: vec![samples.map(|samples| Frame {
            rows,
            columns,
            kind,
            samples,
        })],
    })
}
