//! Shared helpers for the integration tests: where the reference corpus is
//! and how to run the `hilum` binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The reference DICOM corpus: `$HILUM_CORPUS`, else `../shared/corpus/dicom`
/// beside the repository. A missing corpus fails the test: it never skips.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("HILUM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dicom"));
    assert!(
        dir.join("reference.json").is_file(),
        "reference corpus not found at {} (set HILUM_CORPUS)",
        dir.display()
    );
    dir
}

/// The parsed `reference.json`.
pub fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(corpus_dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs the `hilum` binary with `args`.
pub fn hilum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .output()
        .expect("hilum binary runs")
}
