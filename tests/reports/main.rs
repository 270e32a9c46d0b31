//! Reports end to end on corpus images with the bundled model: the PDF
//! read back with `pdftotext`, the SR and SC read back with dicom-object
//! and validated with dcmtk and dicom3tools, references between them, the
//! key image with a heatmap and annotations, and the safety of outputs.
//! Here: the shared helpers; `readback`: the CLI report read back and
//! validated, plain and de-identified; `key_image`: heatmaps, annotations
//! and inversion in the key image; `outputs`: never overwriting, clear
//! write errors and cancellation.

#[path = "../common/mod.rs"]
mod common;

mod key_image;
mod outputs;
mod pmap;
mod readback;

use std::path::{Path, PathBuf};

use common::{run_tool, tool};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, open_file};
use hilum::imaging::{self, LoadOptions};

const CHINESE: &str = "王^小明";
const ARABIC: &str = "محمد علي";

fn corpus(name: &str) -> PathBuf {
    common::corpus_dir().join(name)
}

/// CT_small with a Chinese patient name (UTF-8), in `dir`.
fn ct_with_chinese_name(dir: &Path) -> PathBuf {
    let mut file = open_file(corpus("CT_small.dcm")).unwrap();
    file.put(DataElement::new(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
    file.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from(CHINESE),
    ));
    let path = dir.join("ct-chinese.dcm");
    file.write_to_file(&path).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pdf_text(pdf: &Path) -> String {
    let mut c = tool("pdftotext", "poppler-utils");
    c.args(["-layout", s(pdf), "-"]);
    let (ok, out, err) = run_tool(c);
    assert!(ok, "pdftotext failed: {err}");
    out
}

fn text_of(ds: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    ds.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .trim()
        .to_string()
}

/// Every item of `ContentSequence`, depth first.
fn content_items(ds: &InMemDicomObject, out: &mut Vec<InMemDicomObject>) {
    if let Some(seq) = ds.get(tags::CONTENT_SEQUENCE) {
        for item in seq.items().unwrap() {
            out.push(item.clone());
            content_items(item, out);
        }
    }
}

fn concept_meaning(item: &InMemDicomObject) -> String {
    let code = &item
        .get(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    text_of(code, tags::CODE_MEANING)
}

fn referenced_instance(item: &InMemDicomObject) -> String {
    let r = &item
        .get(tags::REFERENCED_SOP_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    text_of(r, tags::REFERENCED_SOP_INSTANCE_UID)
}

fn load(path: &Path) -> hilum::imaging::Image {
    imaging::load_path(path, &LoadOptions::default()).unwrap()
}
