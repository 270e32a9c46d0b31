//! Shared helpers for the integration tests: where the reference corpus is
//! and how to run the `hilum` binary.

#![allow(dead_code)]

pub mod onnx;
pub mod peers;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The reference DICOM corpus: `$HILUM_CORPUS`, else `../shared/corpus/dicom`
/// beside the repository. A missing corpus fails the test: it never skips.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("HILUM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dicom")
        });
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

/// The field names of JSON object `v`, in the order printed (the crate's
/// `serde_json` keeps insertion order), for checking the CLI's contracts.
pub fn json_keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Runs the `hilum` binary with `args`.
pub fn hilum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .output()
        .expect("hilum binary runs")
}

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// A string element.
pub fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A US element.
pub fn us(tag: Tag, value: u16) -> InMemElement {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

/// A sequence element.
pub fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// An item made of `elements`.
pub fn item(elements: Vec<InMemElement>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// The attributes of a MONOCHROME2 16-bit image of `rows` × `columns` ×
/// `frames` with the given Pixel Representation, without Pixel Data.
pub fn gray16_header(rows: u16, columns: u16, frames: u32, signed: bool) -> Vec<InMemElement> {
    vec![
        text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7"),
        text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.9.7433.1.1",
        ),
        text(tags::MODALITY, VR::CS, "OT"),
        us(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, columns),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 16),
        us(tags::HIGH_BIT, 15),
        us(tags::PIXEL_REPRESENTATION, u16::from(signed)),
    ]
}

/// 16-bit Pixel Data.
pub fn pixel_data_u16(values: Vec<u16>) -> InMemElement {
    DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(values.into()))
}

/// Writes a Part 10 file (explicit VR little endian) with `elements`,
/// replacing any element of the same tag already in the list order.
pub fn write_dicom(path: &std::path::Path, elements: Vec<InMemElement>) {
    let mut obj = InMemDicomObject::new_empty();
    for e in elements {
        obj.put(e);
    }
    let sop_class = obj
        .get(tags::SOP_CLASS_UID)
        .map(|e| e.to_str().unwrap().to_string())
        .unwrap_or_else(|| "1.2.840.10008.5.1.4.1.1.7".into());
    let sop_instance = obj
        .get(tags::SOP_INSTANCE_UID)
        .map(|e| e.to_str().unwrap().to_string())
        .unwrap_or_else(|| "1.2.826.0.1.3680043.9.7433.1.2".into());
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop_instance),
        )
        .unwrap();
    file.write_to_file(path).unwrap();
}

/// A command-line tool the tests need (from a Debian package installed by
/// `.ci/run`); a missing tool fails the test with the package to install.
pub fn tool(name: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` not found: install the Debian package `{package}` (see .ci/run)"
    );
    Command::new(name)
}

/// Runs a tool and returns (exit status success, stdout, stderr).
pub fn run_tool(mut command: Command) -> (bool, String, String) {
    let out = command.output().expect("tool runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the `hilum` binary with `args` and extra environment variables.
pub fn hilum_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hilum"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("hilum binary runs")
}

/// The Python of the test venv (`$HILUM_VENV`, else `~/.cache/hilum-venv`),
/// which `scripts/test.sh` provisions with pydicom, numpy and Pillow.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("HILUM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/hilum-venv")
        });
    venv.join("bin/python")
}

/// Runs `script` with the venv's Python; fails the test (naming what to
/// provision) when it does not succeed.
pub fn python(script: &str, args: &[&str]) -> String {
    let python = venv_python();
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/test.sh, which provisions pydicom, numpy and Pillow",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{} failed (pydicom, numpy and Pillow are provisioned by scripts/test.sh): {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
