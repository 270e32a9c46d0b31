//! The vendored OpenJPEG, called directly: a JPEG 2000 stream decoded from
//! memory with a thread count chosen per image.
//!
//! Hand-written over `openjpeg-sys` because the `jpeg2k` wrapper decides the
//! thread count at build time (its `threads` feature starts one OpenJPEG
//! thread per CPU for every image, or none), and threads cost more than they
//! save on small frames (README, "Imaging" benchmarks). Everything unsafe in
//! the imaging layer is in this file.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;

use openjpeg_sys as opj;

/// One decoded component plane: row-major values, `width` × `height`.
pub(super) struct Plane<'a> {
    /// Samples per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// The decoded values, as OpenJPEG returns them (sign already applied).
    pub data: &'a [i32],
}

/// A decoded image owned by OpenJPEG, freed on drop.
pub(super) struct Decoded {
    image: *mut opj::opj_image_t,
}

impl Decoded {
    /// The component planes, in codestream order (three components are R, G,
    /// B: OpenJPEG has undone the ICT/RCT colour transform).
    pub fn planes(&self) -> Vec<Plane<'_>> {
        // SAFETY: `image` is a non-null image returned by a successful
        // `opj_decode`; `comps` points to `numcomps` components whose `data`
        // holds `w * h` values each (or is null when not decoded), and it
        // lives until `opj_image_destroy` in `drop`, which the returned
        // borrows cannot outlive.
        unsafe {
            let image = &*self.image;
            if image.comps.is_null() {
                return Vec::new();
            }
            std::slice::from_raw_parts(image.comps, image.numcomps as usize)
                .iter()
                .map(|c| {
                    let len = c.w as usize * c.h as usize;
                    let data = if c.data.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(c.data, len)
                    };
                    Plane {
                        width: c.w,
                        height: c.h,
                        data,
                    }
                })
                .collect()
        }
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        // SAFETY: the image came from `opj_read_header` and is destroyed
        // exactly once, here.
        unsafe { opj::opj_image_destroy(self.image) }
    }
}

/// The memory a stream reads from, and how far it has read.
struct Source<'a> {
    bytes: &'a [u8],
    position: usize,
}

/// OpenJPEG's read callback: copies up to `n` bytes; `(size_t)-1` at the end.
unsafe extern "C" fn read(buffer: *mut c_void, n: usize, user: *mut c_void) -> usize {
    // SAFETY: `user` is the `Source` set in `decode`, alive for the whole
    // decode; OpenJPEG's buffer holds at least `n` bytes.
    let source = unsafe { &mut *(user as *mut Source) };
    let left = source.bytes.len() - source.position;
    if left == 0 {
        return usize::MAX;
    }
    let count = n.min(left);
    unsafe {
        std::ptr::copy_nonoverlapping(
            source.bytes.as_ptr().add(source.position),
            buffer as *mut u8,
            count,
        );
    }
    source.position += count;
    count
}

/// OpenJPEG's skip callback: moves by `n` (possibly backwards) within the
/// stream, clamped to it; returns the distance moved.
unsafe extern "C" fn skip(n: i64, user: *mut c_void) -> i64 {
    // SAFETY: as in `read`.
    let source = unsafe { &mut *(user as *mut Source) };
    let target = (source.position as i64)
        .saturating_add(n)
        .clamp(0, source.bytes.len() as i64);
    let moved = target - source.position as i64;
    source.position = target as usize;
    moved
}

/// OpenJPEG's seek callback: to an absolute offset within the stream.
unsafe extern "C" fn seek(offset: i64, user: *mut c_void) -> i32 {
    // SAFETY: as in `read`.
    let source = unsafe { &mut *(user as *mut Source) };
    if offset < 0 || offset as u64 > source.bytes.len() as u64 {
        return 0;
    }
    source.position = offset as usize;
    1
}

/// OpenJPEG's error callback: keeps the last message for the error returned.
/// It may run on OpenJPEG's worker threads, hence the mutex; it never panics.
unsafe extern "C" fn on_error(message: *const c_char, user: *mut c_void) {
    if message.is_null() || user.is_null() {
        return;
    }
    // SAFETY: `user` is the `Mutex<String>` set in `decode`, alive for the
    // whole decode; `message` is a NUL-terminated string from OpenJPEG.
    let (last, text) = unsafe { (&*(user as *const Mutex<String>), CStr::from_ptr(message)) };
    if let Ok(mut last) = last.lock() {
        *last = text.to_string_lossy().trim().to_string();
    }
}

/// Discards OpenJPEG's warnings and information messages (it prints them
/// on stdout otherwise).
unsafe extern "C" fn ignore(_message: *const c_char, _user: *mut c_void) {}

/// Frees the codec and the stream however `decode` returns.
struct Handles {
    codec: *mut opj::opj_codec_t,
    stream: *mut opj::opj_stream_t,
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: each handle is null or was created once in `decode` and is
        // destroyed once, here.
        unsafe {
            if !self.stream.is_null() {
                opj::opj_stream_destroy(self.stream);
            }
            if !self.codec.is_null() {
                opj::opj_destroy_codec(self.codec);
            }
        }
    }
}

/// The JP2 file signature box (ITU-T T.800 I.5.1); anything else is taken
/// as a raw codestream, as DICOM normally stores it.
const JP2_SIGNATURE: [u8; 12] = [0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];

/// Decodes a JPEG 2000 codestream (or JP2 file) from memory on `threads`
/// OpenJPEG threads (1: the calling thread only). The error is OpenJPEG's
/// last message, or the step that failed.
pub(super) fn decode(bytes: &[u8], threads: usize) -> Result<Decoded, String> {
    let format = if bytes.starts_with(&JP2_SIGNATURE) {
        opj::CODEC_FORMAT::OPJ_CODEC_JP2
    } else {
        opj::CODEC_FORMAT::OPJ_CODEC_J2K
    };
    let mut source = Source { bytes, position: 0 };
    let last_error = Mutex::new(String::new());
    let failed = |step: &str| {
        let message = last_error.lock().map(|m| m.clone()).unwrap_or_default();
        if message.is_empty() {
            format!("OpenJPEG could not {step}")
        } else {
            format!("OpenJPEG could not {step}: {message}")
        }
    };
    // SAFETY: every pointer handed to OpenJPEG outlives its use: `source`
    // and `last_error` live until this function returns, after `handles`
    // (declared later, so dropped first) has destroyed the codec and the
    // stream. No user-data free function is set, so OpenJPEG never frees
    // `source`. The image is owned by `Decoded` once read.
    unsafe {
        let handles = Handles {
            codec: opj::opj_create_decompress(format),
            stream: opj::opj_stream_create(1 << 20, 1),
        };
        if handles.codec.is_null() || handles.stream.is_null() {
            return Err("OpenJPEG could not create a decoder".into());
        }
        let codec = handles.codec;
        let error_sink = &last_error as *const Mutex<String> as *mut c_void;
        opj::opj_set_error_handler(codec, Some(on_error), error_sink);
        opj::opj_set_warning_handler(codec, Some(ignore), std::ptr::null_mut());
        opj::opj_set_info_handler(codec, Some(ignore), std::ptr::null_mut());

        let stream = handles.stream;
        opj::opj_stream_set_user_data(stream, &mut source as *mut Source as *mut c_void, None);
        opj::opj_stream_set_user_data_length(stream, bytes.len() as u64);
        opj::opj_stream_set_read_function(stream, Some(read));
        opj::opj_stream_set_skip_function(stream, Some(skip));
        opj::opj_stream_set_seek_function(stream, Some(seek));

        let mut parameters = std::mem::zeroed::<opj::opj_dparameters_t>();
        opj::opj_set_default_decoder_parameters(&mut parameters);
        if opj::opj_setup_decoder(codec, &mut parameters) != 1 {
            return Err(failed("set up the decoder"));
        }
        if threads > 1 && opj::opj_has_thread_support() == 1 {
            // A refusal only means decoding on this thread.
            opj::opj_codec_set_threads(codec, threads.min(64) as i32);
        }
        let mut image: *mut opj::opj_image_t = std::ptr::null_mut();
        if opj::opj_read_header(stream, codec, &mut image) != 1 || image.is_null() {
            if !image.is_null() {
                opj::opj_image_destroy(image);
            }
            return Err(failed("read the codestream header"));
        }
        let decoded = Decoded { image };
        if opj::opj_decode(codec, stream, image) != 1 {
            return Err(failed("decode the codestream"));
        }
        if opj::opj_end_decompress(codec, stream) != 1 {
            return Err(failed("finish the codestream"));
        }
        drop(handles);
        Ok(decoded)
    }
}
