//! Encapsulated (compressed) pixel data: locating each frame's fragments,
//! checking the codestream against the header, and handing it to the right
//! codec (RLE here, JPEG through `openreadout-codecs` with the colour coding
//! decided explicitly, JPEG 2000 in [`super::jpeg2000`], the rest through
//! `dicom-pixeldata`).

use std::borrow::Cow;

use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use openreadout_codecs::{JpegColor, JpegMarkers};

use super::decode::finish_frame;
use super::jpeg2000::{decode_jpeg2000, is_jpeg2000};
use super::{Kind, RLE_LOSSLESS, error_chain};
use crate::imaging::image::PixelDescription;
use crate::imaging::pixels::Frame;
use crate::imaging::rle;

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// JPEG (ITU T.81) DCT processes, decoded here with the colour coding
/// decided from the stream's markers and the header (see [`jpeg_color`]).
fn is_jpeg(ts_uid: &str) -> bool {
    ts_uid == JPEG_BASELINE || ts_uid == JPEG_EXTENDED
}

/// The compressed stream of frame `n`: one fragment per frame, or all
/// fragments of a single-frame object, or the fragments the Basic Offset
/// Table assigns to it.
fn frame_fragments<'a>(
    fragments: &'a [Vec<u8>],
    offsets: &[u32],
    n: usize,
    frames: usize,
) -> Result<Cow<'a, [u8]>, Kind> {
    if fragments.len() == frames {
        Ok(Cow::Borrowed(&fragments[n]))
    } else if frames == 1 {
        Ok(Cow::Owned(fragments.concat()))
    } else if let Some(stream) = by_offset_table(fragments, offsets, n, frames) {
        Ok(Cow::Owned(stream))
    } else {
        Err(Kind::MalformedDicom(format!(
            "{} fragments for {frames} frames: cannot locate frame {n}",
            fragments.len()
        )))
    }
}

/// The fragments of frame `n` by the Basic Offset Table (offsets of each
/// frame's first fragment item, counted from the first fragment item).
fn by_offset_table(
    fragments: &[Vec<u8>],
    offsets: &[u32],
    n: usize,
    frames: usize,
) -> Option<Vec<u8>> {
    if offsets.len() != frames {
        return None;
    }
    let start = u64::from(offsets[n]);
    let end = offsets.get(n + 1).map_or(u64::MAX, |&o| u64::from(o));
    let mut position = 0u64;
    let mut stream = Vec::new();
    for fragment in fragments {
        if (start..end).contains(&position) {
            stream.extend_from_slice(fragment);
        }
        position += 8 + fragment.len() as u64;
    }
    (!stream.is_empty()).then_some(stream)
}

/// Is this a colour frame whose codec already converted it to RGB?
pub(super) fn codec_outputs_rgb(ts_uid: &str) -> bool {
    // JPEG (ITU T.81) and JPEG 2000 decoders undo their colour transforms;
    // RLE and JPEG-LS hand back the samples as encoded.
    ts_uid.starts_with("1.2.840.10008.1.2.4.5")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.6")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.7")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.9")
        || ts_uid.starts_with("1.2.840.10008.1.2.4.20")
}

/// Decoded bytes of one frame (samples only).
pub(super) fn frame_bytes(desc: &PixelDescription) -> u64 {
    desc.rows as u64
        * desc.columns as u64
        * desc.samples_per_pixel as u64
        * (desc.bits_allocated as u64).div_ceil(8)
}

/// Decodes the `wanted` frames of encapsulated pixel data into `frames`.
pub(super) fn decode_encapsulated(
    file: &FileDicomObject<InMemDicomObject>,
    fragments: &[Vec<u8>],
    offsets: &[u32],
    desc: &PixelDescription,
    wanted: &[usize],
    ts_uid: &str,
    frames: &mut [Option<Frame>],
) -> Result<(), Kind> {
    let ts = TransferSyntaxRegistry.get(ts_uid);
    let ts_name = ts
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| ts_uid.to_string());
    let decodable = ts.is_some_and(|t| {
        t.can_decode_all() && matches!(t.codec(), Codec::EncapsulatedPixelData(Some(_), _))
    });
    if !decodable {
        return Err(Kind::UnsupportedTransferSyntax {
            uid: ts_uid.to_string(),
            name: ts_name,
        });
    }
    let photometric = if desc.samples_per_pixel == 3 && codec_outputs_rgb(ts_uid) {
        "RGB".to_string()
    } else {
        desc.photometric_name.clone()
    };
    for &n in wanted {
        if ts_uid == RLE_LOSSLESS {
            let stream = frame_fragments(fragments, offsets, n, desc.frames)?;
            let bytes_per_sample = desc.bits_allocated.div_ceil(8) as usize;
            let pixels = desc.rows as usize * desc.columns as usize;
            if desc.bits_allocated == 1 {
                return Err(Kind::UnsupportedTransferSyntax {
                    uid: ts_uid.to_string(),
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
        if is_jpeg2000(ts_uid) {
            let stream = frame_fragments(fragments, offsets, n, desc.frames)?;
            frames[n] = Some(decode_jpeg2000(&stream, desc, &ts_name)?);
            continue;
        }
        // A multi-frame JPEG object whose frames span several fragments
        // and has no offset table falls through to `dicom-pixeldata`,
        // which finds each frame by its SOI marker.
        if is_jpeg(ts_uid)
            && let Ok(stream) = frame_fragments(fragments, offsets, n, desc.frames)
        {
            frames[n] = Some(decode_jpeg(&stream, desc, &ts_name)?);
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
        let frame = finish_frame(decoded.data(), &frame_desc, false, &photometric).map_err(
            |e| match e {
                Kind::Truncated { found, expected } => Kind::Codec {
                    codec: ts_name.clone(),
                    reason: format!("decoder returned {found} bytes, the header needs {expected}"),
                },
                other => other,
            },
        )?;
        frames[n] = Some(frame);
    }
    Ok(())
}

/// How a three-component JPEG stream's components are coded, and a warning
/// when the stream and the header disagree or the stream says nothing.
///
/// An Adobe APP14 marker states the coding (transform 0: the components are
/// R, G, B; 1: Y, Cb, Cr); it is followed, as libjpeg and pydicom follow it.
/// Without one, Photometric Interpretation decides (PS3.5 8.2.1: RGB means
/// the components were not transformed), as pydicom decides; a JFIF header
/// or component identifiers that say otherwise are reported, not followed
/// silently.
pub(super) fn jpeg_color(markers: &JpegMarkers, photometric: &str) -> (JpegColor, Option<String>) {
    let declared_ybr = photometric.trim().to_ascii_uppercase().starts_with("YBR");
    let coding = |c: &JpegColor| match c {
        JpegColor::AsCoded => "R, G, B",
        _ => "Y, Cb, Cr",
    };
    if let Some(transform) = markers.adobe_transform {
        let color = markers.coded_color().unwrap_or(JpegColor::ToRgb);
        let stream_ybr = !matches!(color, JpegColor::AsCoded);
        let warning = (stream_ybr != declared_ybr).then(|| {
            format!(
                "the JPEG stream's Adobe marker (transform {transform}) says its components are {}, \
                 Photometric Interpretation says {photometric}: decoded as the stream says",
                coding(&color)
            )
        });
        return (color, warning);
    }
    let color = if declared_ybr {
        JpegColor::ToRgb
    } else {
        JpegColor::AsCoded
    };
    let ids = &markers.component_ids;
    let stream_says = if markers.jfif {
        Some("a JFIF header, which means Y, Cb, Cr")
    } else if ids.as_slice() == b"RGB" {
        Some("component identifiers R, G, B")
    } else {
        None
    };
    let warning = match (stream_says, declared_ybr) {
        (Some(says), _) if (ids.as_slice() == b"RGB" && !markers.jfif) == declared_ybr => {
            Some(format!(
                "the JPEG stream has {says}, Photometric Interpretation says {photometric}: \
             decoded as Photometric Interpretation says ({})",
                coding(&color)
            ))
        }
        (None, false) => Some(format!(
            "the JPEG stream carries no colour-space marker (no JFIF or Adobe header, component \
             identifiers {ids:?}; libjpeg would assume Y, Cb, Cr): decoded as R, G, B as \
             Photometric Interpretation {photometric} says"
        )),
        _ => None,
    };
    (color, warning)
}

/// The colour warning for a JPEG-coded object, from its first fragment
/// (also available to a header-only load).
pub(super) fn color_warning(
    ts_uid: &str,
    desc: &PixelDescription,
    first: Option<&[u8]>,
) -> Option<String> {
    if !is_jpeg(ts_uid) || desc.samples_per_pixel != 3 {
        return None;
    }
    let markers = openreadout_codecs::jpeg_markers(first?, None).ok()?;
    if markers.component_ids.len() != 3 {
        return None;
    }
    jpeg_color(&markers, &desc.photometric_name).1
}

/// Decodes one JPEG frame (8-bit baseline or 8/12-bit extended), choosing
/// the colour coding of three-component streams explicitly.
fn decode_jpeg(stream: &[u8], desc: &PixelDescription, ts_name: &str) -> Result<Frame, Kind> {
    let codec_error = |reason: String| Kind::Codec {
        codec: ts_name.to_string(),
        reason,
    };
    let limit = frame_bytes(desc) as usize + 1;
    let markers =
        openreadout_codecs::jpeg_markers(stream, None).map_err(|e| codec_error(e.to_string()))?;
    let raster = if markers.component_ids.len() == 3 {
        let (color, _) = jpeg_color(&markers, &desc.photometric_name);
        openreadout_codecs::jpeg_decode_tiff_limited(stream, None, color, limit)
    } else {
        openreadout_codecs::jpeg_decode_limited(stream, limit)
    }
    .map_err(|e| codec_error(e.to_string()))?;
    if raster.width != desc.columns
        || raster.height != desc.rows
        || raster.channels != u32::from(desc.samples_per_pixel)
    {
        return Err(codec_error(format!(
            "stream is {}x{} with {} components, the header says {}x{} with {}",
            raster.width,
            raster.height,
            raster.channels,
            desc.columns,
            desc.rows,
            desc.samples_per_pixel
        )));
    }
    let mut frame_desc = desc.clone();
    frame_desc.bits_allocated = if raster.bits_per_sample > 8 { 16 } else { 8 };
    let photometric = if desc.samples_per_pixel == 3 {
        "RGB"
    } else {
        desc.photometric_name.as_str()
    };
    finish_frame(&raster.data, &frame_desc, false, photometric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(jfif: bool, adobe: Option<u8>, ids: &[u8]) -> JpegMarkers {
        let mut m = JpegMarkers::default();
        m.jfif = jfif;
        m.adobe_transform = adobe;
        m.component_ids = ids.to_vec();
        m
    }

    fn as_coded(c: &JpegColor) -> bool {
        matches!(c, JpegColor::AsCoded)
    }

    #[test]
    fn the_adobe_marker_decides_and_a_contradicting_header_is_reported() {
        let (c, w) = jpeg_color(&markers(false, Some(0), &[1, 2, 3]), "RGB");
        assert!(as_coded(&c) && w.is_none());
        let (c, w) = jpeg_color(&markers(false, Some(1), &[1, 2, 3]), "YBR_FULL_422");
        assert!(!as_coded(&c) && w.is_none());
        let (c, w) = jpeg_color(&markers(false, Some(0), b"RGB"), "YBR_FULL_422");
        assert!(as_coded(&c));
        assert!(w.unwrap().contains("Adobe marker"));
    }

    #[test]
    fn without_an_adobe_marker_the_header_decides_and_doubts_are_reported() {
        // Component ids R, G, B agree with RGB: no doubt.
        let (c, w) = jpeg_color(&markers(false, None, b"RGB"), "RGB");
        assert!(as_coded(&c) && w.is_none());
        // JFIF agrees with YBR: converted, no doubt.
        let (c, w) = jpeg_color(&markers(true, None, &[1, 2, 3]), "YBR_FULL_422");
        assert!(!as_coded(&c) && w.is_none());
        // JFIF against RGB: decoded as the header says, reported.
        let (c, w) = jpeg_color(&markers(true, None, &[1, 2, 3]), "RGB");
        assert!(as_coded(&c));
        assert!(w.unwrap().contains("JFIF"));
        // Nothing in the stream, header RGB: reported.
        let (c, w) = jpeg_color(&markers(false, None, &[1, 2, 3]), "RGB");
        assert!(as_coded(&c));
        assert!(w.unwrap().contains("no colour-space marker"));
        // Ids R, G, B against YBR: converted as the header says, reported.
        let (c, w) = jpeg_color(&markers(false, None, b"RGB"), "YBR_FULL");
        assert!(!as_coded(&c));
        assert!(w.unwrap().contains("R, G, B"));
    }
}
