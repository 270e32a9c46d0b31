//! The properties the fuzz targets check, one function per target, shared
//! by the targets (`fuzz_targets/*.rs`) and by the regression test that
//! replays every crash found (`tests/fuzz_regressions.rs`), so both run
//! exactly the same code on an input. Each function returns normally for
//! every input; anything else (a panic, an abort, a stack overflow, memory
//! past the bound) is a finding.

use std::path::PathBuf;
use std::sync::OnceLock;

use dicom_core::VR;
use dicom_core::header::Header as _;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use hilum::imaging::dicom::read_attributes;
use hilum::imaging::guard::{Encoding, check_lengths, scan_meta_group};
use hilum::imaging::rle::decode_frame;
use hilum::imaging::{self, FrameSelection, LoadOptions, WindowChoice, frame_stats, render_frame};
use hilum::reports::deid::{DUMMY_TEXT, DateHandling, DeidOptions, Deidentifier};

/// A target's check: returns for every input, or the input is a finding.
pub type Check = fn(&[u8]);

/// The targets, by name, with their checks.
pub const TARGETS: [(&str, Check); 4] = [
    ("load", load),
    ("guard", guard),
    ("rle", rle),
    ("deid", deid),
];

/// The loader's scratch file (one per process), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn write(data: &[u8]) -> Self {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        let dir = DIR.get_or_init(|| {
            let shm = std::path::Path::new("/dev/shm");
            if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            }
        });
        // The loader picks the raster decoders by extension: inputs that
        // start like a PNG, JPEG or TIFF get one, so those paths are fuzzed too.
        let extension = match data {
            [0x89, b'P', b'N', b'G', ..] => "png",
            [0xFF, 0xD8, ..] => "jpg",
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => "tif",
            _ => "dcm",
        };
        let path = dir.join(format!(
            "hilum-fuzz-load-{}.{extension}",
            std::process::id()
        ));
        std::fs::write(&path, data).expect("the scratch file is writable");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `load`: the input as a file (DICOM, or PNG/JPEG/TIFF by its first
/// bytes): loaded (all frames, then the header alone),
/// its attributes listed, and what loaded rendered and measured. Every
/// error names the file; no panic, contained or not.
///
/// The loader reads from a path, so each input is written to a scratch
/// file first (a byte-slice entry point would save that write).
pub fn load(data: &[u8]) {
    let scratch = Scratch::write(data);
    let path = scratch.0.as_path();
    // A mutated header can declare large (allowed) images; a lower cap keeps
    // each run fast without changing what is exercised.
    let all = LoadOptions {
        max_pixel_bytes: 8 << 20,
        ..LoadOptions::default()
    };
    let name = path.display().to_string();
    match imaging::load_path(path, &all) {
        Ok(image) => {
            for frame in 0..image.frames.len().min(2) {
                let _ = render_frame(&image, frame, &WindowChoice::FileDefault);
                let _ = render_frame(&image, frame, &WindowChoice::Percentile(1.0, 99.0));
                let _ = frame_stats(&image, frame);
            }
        }
        Err(err) => assert!(
            err.to_string().contains(&name),
            "the error does not name the file: {err}"
        ),
    }
    let header = LoadOptions {
        frames: FrameSelection::None,
        ..all
    };
    if let Err(err) = imaging::load_path(path, &header) {
        assert!(
            err.to_string().contains(&name),
            "the error does not name the file: {err}"
        );
    }
    let _ = read_attributes(path, &header);
}

/// `guard`: the pre-parse length walk of a data set, and the File Meta
/// walk from the start and from behind a preamble.
///
/// Input: byte 0 picks the encoding (bit 0: explicit VR, bit 1: big
/// endian); the rest is the data set, also walked as a File Meta group.
pub fn guard(data: &[u8]) {
    let Some((&selector, dataset)) = data.split_first() else {
        return;
    };
    let encoding = Encoding {
        explicit_vr: selector & 1 == 1,
        big_endian: selector & 2 == 2,
    };
    let _ = check_lengths(dataset, encoding);
    if let Ok((start, _)) = scan_meta_group(dataset, 0) {
        assert!(start <= dataset.len(), "the data set starts past the end");
    }
    if dataset.len() >= 132 {
        let _ = scan_meta_group(dataset, 132);
    }
}

/// `rle`: one RLE Lossless frame (PS3.5 Annex G) decodes to exactly
/// pixels × samples × bytes per sample bytes, or fails with a reason.
///
/// Input: byte 0 picks the layout (bits 0-1: samples per pixel 1, 3 or 4;
/// bits 2-3: bytes per sample 1, 2 or 4), bytes 1-2 the pixel count (little
/// endian), the rest is the fragment.
pub fn rle(data: &[u8]) {
    let Some((head, fragment)) = data.split_first_chunk::<3>() else {
        return;
    };
    let samples_per_pixel = [1, 3, 4][usize::from(head[0] & 3) % 3];
    let bytes_per_sample = [1, 2, 4][usize::from((head[0] >> 2) & 3) % 3];
    let pixels = usize::from(u16::from_le_bytes([head[1], head[2]]));
    if let Ok(out) = decode_frame(fragment, pixels, samples_per_pixel, bytes_per_sample) {
        assert_eq!(out.len(), pixels * samples_per_pixel * bytes_per_sample);
    }
}

/// Asserts the de-identified properties of `dataset` and every item below:
/// no private attribute, no person name but an empty one or the dummy
/// (the table's action D).
fn check_clean(dataset: &InMemDicomObject) {
    for element in dataset {
        let tag = element.tag();
        assert!(tag.group() % 2 == 0, "private attribute {tag} survived");
        if element.vr() == VR::PN {
            let text = element.to_str().unwrap_or_default();
            let name = text.trim_matches(|c: char| c == '\0' || c == ' ' || c == '^');
            assert!(
                name.is_empty() || name == DUMMY_TEXT,
                "person name {tag} = {text:?} survived"
            );
        }
        if let Value::Sequence(seq) = element.value() {
            seq.items().iter().for_each(check_clean);
        }
    }
}

/// `deid`: a data set parsed from the input (after the loader's pre-parse
/// guard, as loading does; inputs that do not parse are the `load`
/// target's business and skipped), de-identified: marked so, with no
/// private attribute and no person name but an empty one or the dummy at any depth, and
/// written back in its syntax without a panic.
///
/// Input: byte 0 picks the options (bit 0: shift dates by byte 1 × 97 days
/// instead of removing them; bit 1: a generated report, whose Content
/// Sequence is kept; bit 2: implicit VR; bit 3: big endian), the rest is
/// the data set without File Meta Information.
pub fn deid(data: &[u8]) {
    let [selector, days, dataset @ ..] = data else {
        return;
    };
    // Big endian only with explicit VR, as the standard's syntaxes are: the
    // guard must walk the bytes in the encoding the parser reads them in
    // (an implicit "big endian" walk once let a 3.9 GB length through to
    // the little-endian parser; tests/fuzz_regressions/deid).
    let explicit_vr = selector & 4 == 0;
    let encoding = Encoding {
        explicit_vr,
        big_endian: explicit_vr && selector & 8 == 8,
    };
    let ts_uid = match (encoding.explicit_vr, encoding.big_endian) {
        (false, _) => "1.2.840.10008.1.2",
        (true, false) => "1.2.840.10008.1.2.1",
        (true, true) => "1.2.840.10008.1.2.2",
    };
    // Through the trait: the registry has an inherent `get` only in some
    // feature sets, and this file builds in two (fuzz crate, test suite).
    let ts = TransferSyntaxIndex::get(&TransferSyntaxRegistry, ts_uid)
        .expect("the uncompressed syntaxes are registered");
    if check_lengths(dataset, encoding).is_err() {
        return;
    }
    let Ok(mut object) = InMemDicomObject::read_dataset_with_ts(dataset, ts) else {
        return;
    };
    let dates = if selector & 1 == 1 {
        DateHandling::Shift {
            days: i64::from(*days as i8) * 97,
        }
    } else {
        DateHandling::Remove
    };
    let mut deidentifier = Deidentifier::new(DeidOptions {
        dates,
        ..DeidOptions::default()
    });
    if selector & 2 == 2 {
        deidentifier.apply_generated(&mut object);
    } else {
        deidentifier.apply(&mut object);
    }
    let marked = object
        .get(tags::PATIENT_IDENTITY_REMOVED)
        .and_then(|e| e.to_str().ok())
        .is_some_and(|v| v.trim() == "YES");
    assert!(marked, "Patient Identity Removed is not YES");
    check_clean(&object);
    // Writing may refuse a value (replaced UIDs can outgrow a 16-bit
    // length): an error the export reports, but never a panic.
    let _ = object.write_dataset_with_ts(&mut Vec::new(), ts);
}
