//! De-identifying DICOM files into a folder (`hilum anonymize`): each file
//! read as loading reads it, de-identified, and written atomically under
//! its own name (new SOP Instance UID in the File Meta too), in the same
//! transfer syntax so the pixel data is byte for byte the source's.

use std::path::{Path, PathBuf};

use super::ReportError;
use super::deid::Deidentifier;
use super::dicom_out::write_part10;
use super::output::check_target;
use crate::imaging::dicom::read_dataset;

/// Deflated Explicit VR Little Endian: written back as plain explicit VR
/// little endian (same values, no deflate encoder in this build).
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// De-identifies one DICOM file `input` into `output`.
pub fn anonymize_file(
    deid: &mut Deidentifier,
    input: &Path,
    output: &Path,
    overwrite: bool,
) -> Result<(), ReportError> {
    check_target(output, &[input.to_path_buf()], overwrite)?;
    let (mut dataset, ts) = read_dataset(input)?;
    deid.check_burned_in(&dataset, input)?;
    deid.apply(&mut dataset);
    // Deflated files are written back inflated: this build has no deflate
    // encoder, and the values are the same.
    let ts = if ts == DEFLATED {
        EXPLICIT_VR_LE
    } else {
        ts.as_str()
    };
    write_part10(dataset, ts, output)
}

/// The result of de-identifying many files.
#[derive(Debug, Default)]
pub struct AnonymizeReport {
    /// (source, output) of each file written.
    pub written: Vec<(PathBuf, PathBuf)>,
    /// The files that failed, each error naming its file.
    pub errors: Vec<ReportError>,
}

/// De-identifies every DICOM file below `inputs` into `out_dir` with one
/// [`Deidentifier`] (UIDs consistent across the whole set). A failing file
/// is reported and the others go on. `progress(done, total)` is called
/// after each file; returning `false` stops before the next one.
pub fn anonymize_files(
    inputs: &[PathBuf],
    out_dir: &Path,
    deid: &mut Deidentifier,
    overwrite: bool,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> AnonymizeReport {
    let mut report = AnonymizeReport::default();
    let (files, errors) = crate::imaging::expand_paths(inputs);
    report
        .errors
        .extend(errors.into_iter().map(ReportError::from));
    let mut used = std::collections::HashSet::new();
    for (i, input) in files.iter().enumerate() {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{i}.dcm"));
        // Two inputs with the same name (from different folders) must not
        // collide in the output folder.
        let mut candidate = name.clone();
        let mut n = 1;
        while !used.insert(candidate.clone()) {
            candidate = format!("{n}-{name}");
            n += 1;
        }
        let output = out_dir.join(candidate);
        match anonymize_file(deid, input, &output, overwrite) {
            Ok(()) => report.written.push((input.clone(), output)),
            Err(e) => report.errors.push(e),
        }
        if !progress(i + 1, files.len()) {
            report.errors.push(ReportError::Cancelled);
            break;
        }
    }
    report
}
