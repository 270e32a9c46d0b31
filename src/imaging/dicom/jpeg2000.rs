//! JPEG 2000 frames: the codestream checked against the header, decoded by
//! OpenJPEG ([`super::openjpeg`]) and converted once into native samples.

use super::Kind;
use super::codecs::frame_bytes;
use super::decode::BitLayout;
use super::openjpeg;
use crate::imaging::image::PixelDescription;
use crate::imaging::pixels::{Frame, FrameKind, Samples};

/// JPEG 2000 transfer syntaxes (Part 1 and High-Throughput), all decoded by
/// OpenJPEG.
pub(super) fn is_jpeg2000(ts_uid: &str) -> bool {
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

/// What a JPEG 2000 codestream's SIZ segment (ITU-T T.800 A.5.1) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Siz {
    /// Image width and height (reference grid less its offset).
    width: u32,
    height: u32,
    /// Nominal tile width and height.
    tile_width: u32,
    tile_height: u32,
    /// Number of components.
    components: u16,
}

/// The SIZ segment found after the SOC marker (also inside a JP2 wrapper).
/// `None` when there is no SIZ to read.
fn read_siz(stream: &[u8]) -> Option<Siz> {
    let start = stream
        .windows(4)
        .take(4096)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    let siz = stream.get(start + 4..start + 4 + 38)?;
    let be32 = |o: usize| u32::from_be_bytes([siz[o], siz[o + 1], siz[o + 2], siz[o + 3]]);
    // Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2)
    let (x, y, xo, yo) = (be32(4), be32(8), be32(12), be32(16));
    Some(Siz {
        width: x.checked_sub(xo)?,
        height: y.checked_sub(yo)?,
        tile_width: be32(20),
        tile_height: be32(24),
        components: u16::from_be_bytes([siz[36], siz[37]]),
    })
}

/// Tiles at least this large (in pixels) may be decoded on OpenJPEG's
/// threads: it shares one tile's code-blocks among them and waits at the
/// end of every tile, so small tiles leave little to share.
const THREADED_TILE_PIXELS: u64 = 256 * 256;
/// Codestreams at least this long (per frame) may be decoded on OpenJPEG's
/// threads: the entropy decoding they share grows with the coded bytes, and
/// a nearly empty stream decodes faster on one thread than it takes to
/// start the others.
const THREADED_STREAM_BYTES: usize = 32 << 10;

/// How many OpenJPEG threads decode a frame: one per CPU for large tiles
/// with enough coded data, else the calling thread alone. Chosen from the
/// corpus benchmark (README, "Imaging"): threads halve the time on the
/// 512×512 lossless MR, the 640×480 ultrasound and the large CRs, and
/// slow down the nearly empty and the 128×128-tiled streams.
fn decode_threads(siz: Option<Siz>, stream_bytes: usize) -> usize {
    let Some(siz) = siz else { return 1 };
    let tile =
        u64::from(siz.tile_width.min(siz.width)) * u64::from(siz.tile_height.min(siz.height));
    if tile < THREADED_TILE_PIXELS || stream_bytes < THREADED_STREAM_BYTES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Decoded frames at least this large must come from a codestream of at
/// least 1/[`JPEG2000_MAX_RATIO`] of their size: a tiny stream declaring a
/// huge image is refused before OpenJPEG allocates for it (the bound
/// `dicom-pixeldata`'s adapter applied, kept).
const JPEG2000_GUARDED_BYTES: u64 = 16 << 20;
/// See [`JPEG2000_GUARDED_BYTES`].
const JPEG2000_MAX_RATIO: u64 = 64;

/// Decodes one JPEG 2000 frame with OpenJPEG (on [`decode_threads`] of its
/// threads), straight into native samples: the low Bits Allocated bits of each
/// decoded value, read through the header's Bits Stored / High Bit and
/// sign, colour components interleaved (OpenJPEG has already undone the
/// ICT/RCT colour transform, so three components are R, G, B).
pub(super) fn decode_jpeg2000(
    stream: &[u8],
    desc: &PixelDescription,
    ts_name: &str,
) -> Result<Frame, Kind> {
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
    let siz = read_siz(stream);
    if let Some(Siz {
        width,
        height,
        components,
        ..
    }) = siz
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
    let threads = decode_threads(siz, stream.len());
    let image = openjpeg::decode(stream, threads).map_err(codec_error)?;
    let components = image.planes();
    if components.len() != desc.samples_per_pixel as usize {
        return Err(codec_error(format!(
            "the stream decoded to {} components, the header says {}",
            components.len(),
            desc.samples_per_pixel
        )));
    }
    if let Some(c) = components
        .iter()
        .find(|c| c.width != desc.columns || c.height != desc.rows)
    {
        return Err(codec_error(format!(
            "a component decoded to {}x{} (subsampled?), the header says {}x{}",
            c.width, c.height, desc.columns, desc.rows
        )));
    }
    let planes: Vec<&[i32]> = components.iter().map(|c| c.data).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The single-frame codestream of a corpus file.
    fn corpus_codestream(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/dicom")
            .join(name);
        let file =
            dicom_object::open_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let pixel_data = file
            .element(dicom_dictionary_std::tags::PIXEL_DATA)
            .expect("Pixel Data");
        match pixel_data.value() {
            dicom_core::DicomValue::PixelSequence(s) => s.fragments().concat(),
            _ => panic!("{name} is not encapsulated"),
        }
    }

    /// OpenJPEG's threads change the time, never a value: the 1760×1760 CR
    /// decodes identically on one thread and on four.
    #[test]
    fn threaded_and_single_threaded_decodes_are_identical() {
        let stream = corpus_codestream("RG3_J2KI.dcm");
        let one = openjpeg::decode(&stream, 1).expect("decodes on one thread");
        let four = openjpeg::decode(&stream, 4).expect("decodes on four threads");
        let (one, four) = (one.planes(), four.planes());
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].width, one[0].height), (1760, 1760));
        assert!(one.iter().zip(&four).all(|(a, b)| a.data == b.data));
    }

    /// A cut or corrupted codestream is an error with OpenJPEG's reason, or
    /// (when the damage is in code-block data) an image; never a panic.
    #[test]
    fn damaged_codestreams_are_errors_not_crashes() {
        let stream = corpus_codestream("MR_small_jp2klossless.dcm");
        // Cut inside the main header: nothing to decode.
        for cut in [0, 2, 20, 60] {
            assert!(openjpeg::decode(&stream[..cut], 2).is_err(), "cut at {cut}");
        }
        // Cut inside the tile data: OpenJPEG may return what it decoded.
        if let Ok(image) = openjpeg::decode(&stream[..stream.len() / 2], 2) {
            assert!(image.planes().iter().all(|p| p.data.len() == 64 * 64));
        }
        let err = openjpeg::decode(b"not a codestream", 1)
            .err()
            .expect("refused");
        assert!(err.contains("OpenJPEG could not"), "{err}");
        let mut damaged = stream.clone();
        for (i, byte) in damaged.iter_mut().enumerate().skip(200).step_by(97) {
            *byte ^= (i % 251) as u8;
        }
        for threads in [1, 2] {
            if let Ok(image) = openjpeg::decode(&damaged, threads) {
                assert!(image.planes().iter().all(|p| p.data.len() == 64 * 64));
            }
        }
    }

    #[test]
    fn the_siz_segment_gives_size_tiles_and_components() {
        let siz = read_siz(&corpus_codestream("GDCMJ2K_TextGBR.dcm")).expect("SIZ");
        assert_eq!(
            siz,
            Siz {
                width: 400,
                height: 400,
                tile_width: 128,
                tile_height: 128,
                components: 3
            }
        );
        assert_eq!(read_siz(b"\xFF\x4F\xFF\x51 short"), None);
    }

    #[test]
    fn threads_only_for_large_tiles_with_enough_coded_data() {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let siz = |side, tile| Siz {
            width: side,
            height: side,
            tile_width: tile,
            tile_height: tile,
            components: 1,
        };
        assert_eq!(decode_threads(Some(siz(1760, 1760)), 200_000), cpus);
        // A tile larger than the image counts as the image.
        assert_eq!(decode_threads(Some(siz(512, u32::MAX)), 100_000), cpus);
        assert_eq!(decode_threads(Some(siz(400, 128)), 1 << 20), 1);
        assert_eq!(decode_threads(Some(siz(1024, 1024)), 250), 1);
        assert_eq!(decode_threads(None, 1 << 20), 1);
    }
}
