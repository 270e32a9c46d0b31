//! PACS: Hilum against a real Orthanc over DICOMweb and DIMSE (echo, find,
//! get by WADO-RS, C-GET and C-MOVE, send by STOW-RS and C-STORE), with
//! authentication on; TLS with an unknown and a configured CA; and peers
//! that break the protocol (a fake HTTP server); `hilum pacs serve` fed by
//! dcmtk's `storescu`. Retrieved instances must
//! decode to exactly the pixels of the originals and keep their transfer
//! syntax, compressed ones included.

#[path = "../common/mod.rs"]
mod common;

mod dicomweb;
mod dimse_orthanc;
mod faults;
mod orthanc;
mod serve;
mod triage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_dictionary_std::tags;

/// Corpus files loaded into the PACS, each its own study and instance,
/// in six transfer syntaxes: explicit VR little endian, JPEG 2000 lossy and
/// lossless, JPEG lossless (SV1), RLE, JPEG baseline (YBR).
pub const CORPUS_FILES: [&str; 6] = [
    "CT_small.dcm",
    "693_J2KI.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
    "OBXXXX1A_rle.dcm",
    "examples_ybr_color.dcm",
];

/// The corpus files above, plus the corpus's JPEG-LS MR given new UIDs
/// (its UIDs are shared with seven other encodings of the same image, so a
/// PACS would keep only one of them), written into `dir`.
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = CORPUS_FILES
        .iter()
        .map(|name| common::corpus_dir().join(name))
        .collect();
    let relabelled = dir.join("MR_small_jpeg_ls_lossless-relabelled.dcm");
    if !relabelled.is_file() {
        std::fs::create_dir_all(dir).unwrap();
        let script = r#"
import sys
import pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as(sys.argv[2], enforce_file_format=True)
"#;
        let source = common::corpus_dir().join("MR_small_jpeg_ls_lossless.dcm");
        common::python(
            script,
            &[source.to_str().unwrap(), relabelled.to_str().unwrap()],
        );
    }
    files.push(relabelled);
    files
}

/// Writes a CT series of `slices` 64×64 slices (pydicom, patient
/// "Müller^Jürgen" in ISO_IR 100) into `dir`; returns its Study UID.
pub fn make_ct_series(dir: &Path, slices: usize, patient_id: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"
import sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, CTImageStorage, generate_uid
out, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
study, series, frame = generate_uid(), generate_uid(), generate_uid()
for i in range(n):
    ds = Dataset()
    ds.SpecificCharacterSet = 'ISO_IR 100'
    ds.PatientName = 'Müller^Jürgen'
    ds.PatientID = pid
    ds.PatientBirthDate = '19600101'
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.Modality = 'CT'
    ds.StudyDate, ds.StudyTime = '20260115', '101500'
    ds.StudyDescription, ds.SeriesDescription = 'CT chest', 'Axial 2.5 mm'
    ds.AccessionNumber, ds.StudyID = 'ACC-' + pid, '1'
    ds.SeriesNumber, ds.InstanceNumber = 3, i + 1
    ds.FrameOfReferenceUID = frame
    ds.ImagePositionPatient = [-22.4, -22.4, -100.0 + 2.5 * i]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 2.5
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    pixels = ((np.arange(64 * 64).reshape(64, 64) * (i + 7)) % 3000 - 1000).astype(np.int16)
    ds.PixelData = pixels.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(f'{out}/ct{i:03}.dcm', enforce_file_format=True)
print(study)
"#;
    let dir_text = dir.to_string_lossy().into_owned();
    common::python(script, &[&dir_text, &slices.to_string(), patient_id])
        .trim()
        .to_string()
}

/// Runs `hilum` with the PACS credentials in its environment (and a data
/// folder with no saved nodes and no cache).
pub fn hilum_pacs(args: &[&str], password: &str) -> Output {
    hilum_pacs_with_data(
        args,
        password,
        &std::env::temp_dir().join("hilum-pacs-test-no-data"),
    )
}

/// Runs `hilum` with the PACS credentials and `data` as its data folder.
pub fn hilum_pacs_with_data(args: &[&str], password: &str, data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .env("HILUM_PACS_USER", orthanc::USER)
        .env("HILUM_PACS_PASSWORD", password)
        .env_remove("HILUM_PACS_TOKEN")
        .env("HILUM_DATA_DIR", data)
        .output()
        .expect("hilum runs")
}

/// stdout, stderr.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts success and that the password is nowhere in the output.
pub fn ok(out: &Output, what: &str) -> String {
    let (stdout, stderr) = texts(out);
    assert!(out.status.success(), "{what} failed: {stderr}\n{stdout}");
    assert!(
        !stdout.contains(orthanc::PASSWORD) && !stderr.contains(orthanc::PASSWORD),
        "{what}: the password appears in the output"
    );
    stdout
}

/// (SOP Instance UID → (transfer syntax, decoded frames)) of the DICOM
/// files in `paths`.
pub fn decoded(
    paths: &[PathBuf],
) -> BTreeMap<String, (String, Vec<Option<hilum::imaging::pixels::Frame>>)> {
    paths
        .iter()
        .map(|path| {
            let file = dicom_object::OpenFileOptions::new()
                .read_until(tags::PIXEL_DATA)
                .open_file(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let sop = file.meta().media_storage_sop_instance_uid().to_string();
            let ts = file.meta().transfer_syntax().to_string();
            let image = hilum::imaging::load_path(path, &hilum::imaging::LoadOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            (sop, (ts, image.frames))
        })
        .collect()
}

/// The `.dcm` files in `dir`, and fails if anything else (a partial file,
/// an `.incomplete` marker) is there but a cached study's `.last-used`.
pub fn retrieved(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|name| name == ".last-used") {
            continue;
        }
        assert!(
            path.extension().is_some_and(|x| x == "dcm"),
            "unexpected file left in {}: {}",
            dir.display(),
            path.display()
        );
        files.push(path);
    }
    files.sort();
    files
}

/// Asserts the files in `dir` are exactly `originals`: same instances, same
/// transfer syntaxes, identical decoded pixels.
pub fn assert_same_instances(dir: &Path, originals: &[PathBuf]) {
    let got = decoded(&retrieved(dir));
    let want = decoded(originals);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the instances retrieved into {}",
        dir.display()
    );
    for (sop, (ts, frames)) in &want {
        let (got_ts, got_frames) = &got[sop];
        assert_eq!(got_ts, ts, "{sop}: transfer syntax changed");
        assert!(got_frames == frames, "{sop}: decoded pixels differ");
    }
}

/// The Study Instance UID of a file.
pub fn study_of(path: &Path) -> String {
    let file = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .unwrap();
    file.element(tags::STUDY_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string()
}

/// `hilum pacs find NODE FILTERS... --json` against the test Orthanc: its
/// rows (the command must succeed and never show the password).
pub fn find(node: &str, filters: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["pacs", "find", node];
    args.extend_from_slice(filters);
    args.push("--json");
    rows(&ok(
        &hilum_pacs(&args, orthanc::PASSWORD),
        &format!("find {filters:?}"),
    ))
}

/// The rows of a `--json` find.
pub fn rows(stdout: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(stdout)
        .unwrap_or_else(|e| panic!("find --json printed no JSON array ({e}): {stdout}"))
        .as_array()
        .cloned()
        .expect("a JSON array")
}
