//! Property-based fuzzing of the loader, run in CI: corpus files with random
//! bytes flipped, inserted or cut off must load, or fail with an error naming
//! the file, never panic or abort.
//!
//! More cases: `PROPTEST_CASES=5000 cargo test --release --test fuzz_loader`.

mod common;

use common::corpus_dir;
use hilum::ImagingErrorKind;
use hilum::imaging::{self, LoadOptions, WindowChoice, frame_stats, render_frame};
use proptest::prelude::*;

/// Small corpus files covering every codec and the header paths.
const SEEDS: &[&str] = &[
    "CT_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "JPEG2000.dcm",
    "JPGExtended.dcm",
    "JPEGLSNearLossless_16.dcm",
    "SC_rgb_dcmtk_+eb+cy+np.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "image_dfl.dcm",
    "6154",
    "rtdose.dcm",
    "OBXXXX1A_rle.dcm",
    "liver_1frame.dcm",
];

fn seed() -> proptest::test_runner::RngSeed {
    let fixed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0048_494c_554d);
    proptest::test_runner::RngSeed::Fixed(fixed)
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Set(p, b) => {
                let i = p % bytes.len();
                bytes[i] = *b;
            }
            Mutation::Insert(p, b) => {
                let i = p % bytes.len();
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Truncate(p) => bytes.truncate(p % bytes.len()),
        }
    }
    bytes
}

proptest! {
    // A fixed seed keeps CI deterministic; explore with another one:
    // PROPTEST_RNG_SEED=N PROPTEST_CASES=20000 cargo test --release --test fuzz_loader
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        rng_seed: seed(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_files_load_or_fail_cleanly(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let original = std::fs::read(corpus_dir().join(SEEDS[seed])).unwrap();
        let bytes = apply(original, &mutations);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("fuzz-{}", SEEDS[seed]));
        std::fs::write(&path, &bytes).unwrap();
        // A mutated header can declare large (but allowed) images; a lower
        // cap keeps each case fast without changing what is exercised.
        let options = LoadOptions { max_pixel_bytes: 8 << 20, ..LoadOptions::default() };
        match imaging::load_path(&path, &options) {
            Ok(image) => {
                for frame in 0..image.frames.len().min(2) {
                    // Rendering and statistics of what loaded must not panic either.
                    let _ = render_frame(&image, frame, &WindowChoice::FileDefault);
                    let _ = render_frame(&image, frame, &WindowChoice::Percentile(1.0, 99.0));
                    let _ = frame_stats(&image, frame);
                }
            }
            Err(err) => {
                prop_assert!(err.to_string().contains("fuzz-"), "error does not name the file: {}", err);
                prop_assert!(
                    !matches!(err.kind, ImagingErrorKind::DecoderPanic(_)),
                    "a decoder panicked (contained, but it should be an error): {}", err
                );
            }
        }
    }
}
