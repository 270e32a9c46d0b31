//! Decoding pixel data to native frames: native (uncompressed) layouts,
//! bit extraction and sign extension, planar and YBR colour, and the frame
//! count and size bounds checked before anything is allocated. Compressed
//! frames are handed to [`super::codecs`].

use std::borrow::Cow;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;

use super::open::Parsed;
use super::{FrameSelection, Kind, codecs};
use crate::imaging::color;
use crate::imaging::guard::PixelExtent;
use crate::imaging::image::{Photometric, PixelDescription};
use crate::imaging::pixels::{Frame, FrameKind, Samples};

/// Bytes one frame's stored samples take in a native (uncompressed) encoding.
pub(super) fn native_frame_bytes(desc: &PixelDescription) -> u64 {
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

/// What each frame costs in memory besides its samples (the frame record,
/// its buffer's bookkeeping): counted against the pixel budget so that a
/// million one-pixel frames cannot cost a gigabyte of overhead unnoticed.
pub(super) const FRAME_OVERHEAD_BYTES: u64 = 128;

/// Bytes the decoded frames will take in memory, with their bookkeeping;
/// `None` when the product overflows 64 bits.
pub(super) fn decoded_bytes(desc: &PixelDescription) -> Option<u64> {
    let per_sample = (desc.bits_allocated as u64).div_ceil(8).max(1);
    (desc.rows as u64)
        .checked_mul(desc.columns as u64)?
        .checked_mul(desc.samples_per_pixel as u64)?
        .checked_mul(per_sample)?
        .checked_add(FRAME_OVERHEAD_BYTES)?
        .checked_mul(desc.frames as u64)
}

/// How many frames the top-level pixel data can hold: native, its length
/// divided by the frame size (rounded up); encapsulated, its fragment count (a frame
/// takes at least one fragment). Number of Frames beyond that is refused
/// before anything is allocated per frame.
pub(super) fn check_frame_count(desc: &PixelDescription, extent: &PixelExtent) -> Result<(), Kind> {
    let capacity = match extent {
        PixelExtent::Absent => 1,
        // A frame whose first byte is present counts: a truncated last
        // frame is reported as truncated when it is decoded, and the frames
        // before it still load.
        PixelExtent::Native { bytes } if desc.bits_allocated == 1 => {
            let pixels = desc.rows as u64 * desc.columns as u64;
            bytes.saturating_mul(8).div_ceil(pixels.max(1))
        }
        PixelExtent::Native { bytes } => bytes.div_ceil(native_frame_bytes(desc).max(1)),
        PixelExtent::Encapsulated { fragments, .. } => *fragments as u64,
    };
    if desc.frames as u64 <= capacity.max(1) {
        return Ok(());
    }
    let holds = match extent {
        PixelExtent::Absent => "the file has no Pixel Data".to_string(),
        PixelExtent::Native { bytes } => format!(
            "the Pixel Data ({bytes} bytes) holds at most {capacity} frame(s) of {} bytes",
            native_frame_bytes(desc)
        ),
        PixelExtent::Encapsulated { fragments, .. } => {
            format!("the Pixel Data has {fragments} fragment(s)")
        }
    };
    Err(Kind::InvalidAttribute {
        name: "NumberOfFrames",
        reason: format!("{} frames declared, but {holds}", desc.frames),
    })
}

/// Where Bits Stored sit in a stored word (below High Bit) and how to read
/// them: shared by native data and by codecs that hand back whole words, so
/// both mask and sign-extend the same way.
#[derive(Clone, Copy)]
pub(super) struct BitLayout {
    shift: u32,
    stored: u32,
    mask: u32,
}

impl BitLayout {
    /// The layout of `desc` (Bits Stored and High Bit, at most 32 bits).
    pub(super) fn of(desc: &PixelDescription) -> Self {
        let stored = desc.bits_stored as u32;
        let mask = if stored >= 32 {
            u32::MAX
        } else {
            (1u32 << stored) - 1
        };
        BitLayout {
            shift: (desc.high_bit as u32 + 1).saturating_sub(stored),
            stored,
            mask,
        }
    }

    /// Whether a `bits`-bit word is its own unsigned value (nothing to
    /// shift away or mask off).
    #[inline]
    pub(super) fn keeps_all_bits(self, bits: u32) -> bool {
        self.shift == 0 && self.stored >= bits
    }

    /// The stored bits of `word`, unsigned.
    #[inline]
    pub(super) fn unsigned(self, word: u32) -> u32 {
        (word >> self.shift) & self.mask
    }

    /// The stored bits of `word`, sign-extended from Bits Stored.
    #[inline]
    pub(super) fn signed(self, word: u32) -> i32 {
        (((word >> self.shift) << (32 - self.stored)) as i32) >> (32 - self.stored)
    }
}

/// Interprets raw little-endian sample bytes: extracts Bits Stored from
/// below High Bit and sign-extends when the data is signed.
pub(super) fn samples_from_bytes(bytes: &[u8], count: usize, desc: &PixelDescription) -> Samples {
    let layout = BitLayout::of(desc);
    match desc.bits_allocated {
        8 => {
            let raw = &bytes[..count];
            if desc.signed {
                Samples::I8(raw.iter().map(|&b| layout.signed(b as u32) as i8).collect())
            } else if layout.keeps_all_bits(8) {
                Samples::U8(raw.to_vec())
            } else {
                Samples::U8(
                    raw.iter()
                        .map(|&b| layout.unsigned(b as u32) as u8)
                        .collect(),
                )
            }
        }
        16 => {
            let words = bytes[..count * 2]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32);
            if desc.signed {
                Samples::I16(words.map(|w| layout.signed(w) as i16).collect())
            } else {
                Samples::U16(words.map(|w| layout.unsigned(w) as u16).collect())
            }
        }
        _ => {
            let words = bytes[..count * 4]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            if desc.signed {
                Samples::I32(words.map(|w| layout.signed(w)).collect())
            } else {
                Samples::U32(words.map(|w| layout.unsigned(w)).collect())
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

pub(super) fn finish_frame(
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

pub(super) fn decode_frames(
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
                        expected: desc.frames.saturating_mul(frame_bytes),
                    })?;
                    finish_frame(bytes, desc, planar, &desc.photometric_name)?
                };
                frames[n] = Some(frame);
            }
        }
        Value::PixelSequence(seq) => {
            let Parsed::File(file) = parsed else {
                return Err(Kind::MalformedDicom(
                    "encapsulated pixel data without a transfer syntax".into(),
                ));
            };
            codecs::decode_encapsulated(
                file,
                seq.fragments(),
                seq.offset_table(),
                desc,
                &wanted,
                &ts_uid,
                &mut frames,
            )?;
        }
        Value::Sequence(_) => {
            return Err(Kind::MalformedDicom("Pixel Data is a sequence".into()));
        }
    }
    Ok(frames)
}
