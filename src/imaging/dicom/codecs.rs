//! Encapsulated (compressed) pixel data: locating each frame's fragments,
//! checking the codestream against the header, and handing it to the right
//! codec (RLE here, JPEG through `openreadout-codecs` with the colour coding
//! decided explicitly, JPEG 2000 through OpenJPEG (`jpeg2k`) on its own
//! threads straight into native samples, the rest through `dicom-pixeldata`).

use std::borrow::Cow;

use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use openreadout_codecs::{JpegColor, JpegMarkers};

use super::decode::{BitLayout, finish_frame};
use super::{Kind, RLE_LOSSLESS, error_chain};
use crate::imaging::image::PixelDescription;
use crate::imaging::pixels::{Frame, FrameKind, Samples};
use crate::imaging::rle;

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// JPEG (ITU T.81) DCT processes, decoded here with the colour coding
/// decided from the stream's markers and the header (see [`jpeg_color`]).
fn is_jpeg(ts_uid: &str) -> bool {
    ts_uid == JPEG_BASELINE || ts_uid == JPEG_EXTENDED
}

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
fn frame_bytes(desc: &PixelDescription) -> u64 {
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

/// Decoded frames at least this large must come from a codestream of at
/// least 1/[`JPEG2000_MAX_RATIO`] of their size: a tiny stream declaring a
/// huge image is refused before OpenJPEG allocates for it (the bound
/// `dicom-pixeldata`'s adapter applied, kept).
const JPEG2000_GUARDED_BYTES: u64 = 16 << 20;
/// See [`JPEG2000_GUARDED_BYTES`].
const JPEG2000_MAX_RATIO: u64 = 64;

/// Decodes one JPEG 2000 frame with OpenJPEG, on OpenJPEG's own threads,
/// straight into native samples: the low Bits Allocated bits of each
/// decoded value, read through the header's Bits Stored / High Bit and
/// sign, colour components interleaved (OpenJPEG has already undone the
/// ICT/RCT colour transform, so three components are R, G, B).
fn decode_jpeg2000(stream: &[u8], desc: &PixelDescription, ts_name: &str) -> Result<Frame, Kind> {
    let codec_error = |reason: String| Kind::Codec {
        codec: ts_name.to_string(),
        reason,
    };
    if desc.bits_allocated != 8 && desc.bits_allocated != 16 {
        return Err(codec_error(format!(
            "Bits Allocated {} is not supported with JPEG 2000 (8 or 16)",
            desc.bits_allocated
        )));
    }
    if desc.samples_per_pixel != 1 && desc.samples_per_pixel != 3 {
        return Err(codec_error(format!(
            "{} samples per pixel is not supported with JPEG 2000 (1 or 3)",
            desc.samples_per_pixel
        )));
    }
    // Compare the codestream with the header before decoding: a mismatch
    // would otherwise surface as pixels placed by the wrong geometry.
    if let Some((width, height, components)) = jpeg2000_size(stream)
        && (width != desc.columns || height != desc.rows || components != desc.samples_per_pixel)
    {
        return Err(codec_error(format!(
            "the stream is {width}x{height} with {components} components, \
             the header says {}x{} with {}",
            desc.columns, desc.rows, desc.samples_per_pixel
        )));
    }
    let out_bytes = frame_bytes(desc);
    if out_bytes >= JPEG2000_GUARDED_BYTES && (stream.len() as u64) < out_bytes / JPEG2000_MAX_RATIO
    {
        return Err(codec_error(format!(
            "a {}-byte codestream cannot hold a {out_bytes}-byte frame",
            stream.len()
        )));
    }
    let image = jpeg2k::Image::from_bytes(stream).map_err(|e| codec_error(e.to_string()))?;
    let components = image.components();
    if components.len() != desc.samples_per_pixel as usize {
        return Err(codec_error(format!(
            "the stream decoded to {} components, the header says {}",
            components.len(),
            desc.samples_per_pixel
        )));
    }
    if let Some(c) = components
        .iter()
        .find(|c| c.width() != desc.columns || c.height() != desc.rows)
    {
        return Err(codec_error(format!(
            "a component decoded to {}x{} (subsampled?), the header says {}x{}",
            c.width(),
            c.height(),
            desc.columns,
            desc.rows
        )));
    }
    let planes: Vec<&[i32]> = components.iter().map(|c| c.data()).collect();
    Ok(Frame {
        rows: desc.rows,
        columns: desc.columns,
        kind: if planes.len() == 3 {
            FrameKind::Rgb
        } else {
            FrameKind::Gray
        },
        samples: jpeg2000_samples(&planes, desc),
    })
}

/// Native samples from decoded JPEG 2000 component planes: each value's
/// low Bits Allocated bits (as the little-endian stored word would hold
/// them) read through the header's bit layout, planes interleaved.
fn jpeg2000_samples(planes: &[&[i32]], desc: &PixelDescription) -> Samples {
    let layout = BitLayout::of(desc);
    let word = if desc.bits_allocated == 8 {
        0xFF
    } else {
        0xFFFF
    };
    let raw = move |v: i32| v as u32 & word;
    match (desc.bits_allocated, desc.signed) {
        (8, false) => Samples::U8(interleave(planes, |v| layout.unsigned(raw(v)) as u8)),
        (8, true) => Samples::I8(interleave(planes, |v| layout.signed(raw(v)) as i8)),
        (_, false) => Samples::U16(interleave(planes, |v| layout.unsigned(raw(v)) as u16)),
        (_, true) => Samples::I16(interleave(planes, |v| layout.signed(raw(v)) as i16)),
    }
}

/// One plane mapped, or three planes mapped and interleaved pixel by pixel.
fn interleave<T>(planes: &[&[i32]], f: impl Fn(i32) -> T) -> Vec<T> {
    match planes {
        [r, g, b] => {
            let mut out = Vec::with_capacity(r.len() * 3);
            for ((&r, &g), &b) in r.iter().zip(g.iter()).zip(b.iter()) {
                out.push(f(r));
                out.push(f(g));
                out.push(f(b));
            }
            out
        }
        _ => planes
            .first()
            .map_or_else(Vec::new, |p| p.iter().map(|&v| f(v)).collect()),
    }
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

    fn description(
        bits: u16,
        stored: u16,
        high_bit: u16,
        signed: bool,
        spp: u16,
    ) -> PixelDescription {
        PixelDescription {
            rows: 1,
            columns: 4,
            frames: 1,
            samples_per_pixel: spp,
            bits_allocated: bits,
            bits_stored: stored,
            high_bit,
            signed,
            planar_configuration: None,
            photometric: crate::imaging::image::Photometric::Monochrome2,
            photometric_name: "MONOCHROME2".into(),
            warnings: Vec::new(),
        }
    }

    /// The direct JPEG 2000 conversion reads each decoded value exactly as
    /// the native path reads the same value stored as a little-endian word:
    /// truncated to Bits Allocated, shifted below High Bit, masked or
    /// sign-extended from Bits Stored.
    #[test]
    fn jpeg2000_samples_match_the_native_reading_of_the_same_words() {
        let values: [i32; 8] = [0, 1, 2047, -2048, -1, 4095, 70_000, -70_000];
        for (bits, stored, high_bit) in [
            (16, 12, 11),
            (16, 12, 13),
            (16, 16, 15),
            (8, 8, 7),
            (8, 5, 6),
        ] {
            for signed in [false, true] {
                let desc = description(bits, stored, high_bit, signed, 1);
                let bytes: Vec<u8> = values
                    .iter()
                    .flat_map(|v| v.to_le_bytes()[..bits as usize / 8].to_vec())
                    .collect();
                let native = super::super::decode::samples_from_bytes(&bytes, values.len(), &desc);
                assert_eq!(
                    jpeg2000_samples(&[&values], &desc),
                    native,
                    "{bits}/{stored}/{high_bit} signed {signed}"
                );
            }
        }
    }

    #[test]
    fn jpeg2000_colour_planes_are_interleaved() {
        let desc = description(8, 8, 7, false, 3);
        let (r, g, b) = ([1, 2], [10, 20], [100, 200]);
        assert_eq!(
            jpeg2000_samples(&[&r, &g, &b], &desc),
            Samples::U8(vec![1, 10, 100, 2, 20, 200])
        );
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
