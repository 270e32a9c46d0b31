//! Removable media: a DICOMDIR (PS3.10 8, PS3.3 F) lists the files of a CD,
//! DVD or USB medium by their Referenced File IDs. Opening the medium's
//! folder (or the DICOMDIR itself) opens the files it lists; each ID is
//! resolved against the medium case-insensitively (media written in upper
//! case are often read back in lower case), and a listed file that is not
//! there is reported by name.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::error::{ImagingError, ImagingErrorKind};

/// The name of a medium's directory file (PS3.10 8.6).
pub const DICOMDIR: &str = "DICOMDIR";

/// Whether `path`'s file name is `DICOMDIR` (in any case).
pub fn is_dicomdir(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case(DICOMDIR))
}

/// The DICOMDIR directly inside `folder`, whatever its case.
pub fn find_dicomdir(folder: &Path) -> Option<PathBuf> {
    std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| is_dicomdir(p) && p.is_file())
}

/// What a DICOMDIR lists.
#[derive(Debug, Default)]
pub struct MediaListing {
    /// The listed files found on the medium, in record order.
    pub files: Vec<PathBuf>,
    /// One error per record whose file is missing or whose ID is unsafe,
    /// naming the file.
    pub errors: Vec<ImagingError>,
}

/// The files a DICOMDIR lists, resolved against the folder it is in. An
/// error when the DICOMDIR itself cannot be read.
pub fn read_dicomdir(dicomdir: &Path) -> Result<MediaListing, ImagingError> {
    let (dataset, _) = super::dicom::read_dataset(dicomdir)?;
    let root = dicomdir.parent().unwrap_or(Path::new("."));
    let records = dataset
        .get(tags::DIRECTORY_RECORD_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or_else(|| {
            ImagingError::new(
                dicomdir,
                ImagingErrorKind::MalformedDicom(
                    "a DICOMDIR without a Directory Record Sequence".into(),
                ),
            )
        })?;
    let mut listing = MediaListing::default();
    let mut resolver = Resolver::default();
    for record in records {
        let Some(id) = referenced_file_id(record) else {
            continue;
        };
        match safe_components(&id) {
            Err(reason) => listing.errors.push(ImagingError::new(
                dicomdir,
                ImagingErrorKind::MalformedDicom(format!(
                    "Referenced File ID {:?} {reason}",
                    id.join("\\")
                )),
            )),
            Ok(parts) => match resolver.resolve(root, &parts) {
                Some(path) => listing.files.push(path),
                None => listing.errors.push(ImagingError::new(
                    parts.iter().fold(root.to_path_buf(), |p, c| p.join(c)),
                    ImagingErrorKind::Io(format!(
                        "listed in {} but not on the medium",
                        dicomdir.display()
                    )),
                )),
            },
        }
    }
    // A file listed twice (by two records) is opened once.
    let mut seen = std::collections::HashSet::new();
    listing.files.retain(|p| seen.insert(p.clone()));
    Ok(listing)
}

/// A record's Referenced File ID (0004,1500) components, if it has one.
fn referenced_file_id(record: &InMemDicomObject) -> Option<Vec<String>> {
    let element = record.get(tags::REFERENCED_FILE_ID)?;
    let values = element.to_multi_str().ok()?;
    // One value holding backslashes (a writer that did not split them) is
    // split here, as the VR's delimiter says.
    let parts: Vec<String> = values
        .iter()
        .flat_map(|v| v.split('\\'))
        .map(|c| c.trim_matches([' ', '\0']).to_string())
        .collect();
    (!parts.iter().all(String::is_empty)).then_some(parts)
}

/// The components of an ID, or why it cannot name a file on the medium:
/// each must be a plain name (no separators, no `.` or `..`, not empty), so
/// a hostile DICOMDIR cannot point outside the medium.
fn safe_components(parts: &[String]) -> Result<Vec<String>, &'static str> {
    if parts.is_empty() || parts.len() > 16 {
        return Err("has no components or more than 16");
    }
    for part in parts {
        if part.is_empty() || part == "." || part == ".." || part.contains(['/', '\\', ':', '\0']) {
            return Err("is not a plain path on the medium");
        }
    }
    Ok(parts.to_vec())
}

/// Resolves ID components against the medium, each case-insensitively and
/// ignoring an ISO 9660 version suffix (`;1`) or a trailing dot, as CD
/// drivers show them; folder listings are read once.
#[derive(Default)]
struct Resolver {
    listings: HashMap<PathBuf, Vec<OsString>>,
}

impl Resolver {
    fn resolve(&mut self, root: &Path, parts: &[String]) -> Option<PathBuf> {
        let mut path = root.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            let exact = path.join(part);
            let last = i + 1 == parts.len();
            if (last && exact.is_file()) || (!last && exact.is_dir()) {
                path = exact;
                continue;
            }
            let names = self.listings.entry(path.clone()).or_insert_with(|| {
                std::fs::read_dir(&path)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect())
                    .unwrap_or_default()
            });
            let found = names
                .iter()
                .find(|n| n.to_str().is_some_and(|n| same_name(n, part)))?;
            path = path.join(found);
        }
        path.is_file().then_some(path)
    }
}

/// Whether a name on disk is the ID component `want`.
fn same_name(on_disk: &str, want: &str) -> bool {
    let name = on_disk.strip_suffix(";1").unwrap_or(on_disk);
    let name = name.strip_suffix('.').unwrap_or(name);
    name.eq_ignore_ascii_case(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_leave_the_medium_are_refused() {
        let ids: [&[&str]; 6] = [
            &[".."],
            &["IMAGES", "..", "X"],
            &["/etc", "passwd"],
            &["A:B"],
            &[""],
            &[],
        ];
        for id in ids {
            let parts: Vec<String> = id.iter().map(|s| s.to_string()).collect();
            assert!(safe_components(&parts).is_err(), "{id:?}");
        }
        assert!(safe_components(&["IMAGES".into(), "IM0001".into()]).is_ok());
    }

    #[test]
    fn names_match_whatever_their_case_and_cd_suffix() {
        assert!(same_name("im0001", "IM0001"));
        assert!(same_name("IM0001;1", "IM0001"));
        assert!(same_name("IM0001.", "IM0001"));
        assert!(!same_name("IM00011", "IM0001"));
    }
}
