//! Writing retrieved instances into a folder: each one streamed into a
//! temporary file beside its final place and renamed only once complete
//! and checked, under a name made from its SOP Instance UID after that UID
//! is checked (never from unchecked received text, DESIGN invariant 33).
//! An interrupted transfer leaves no partial file.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use dicom_object::meta::{FileMetaTable, FileMetaTableBuilder};
use serde::Serialize;

use super::query::is_valid_uid;

/// What a retrieval brought: the one-line JSON summary of `hilum pacs get`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RetrieveSummary {
    /// Instances written.
    pub instances: usize,
    /// Bytes written (whole Part 10 files).
    pub bytes: u64,
    /// Wall-clock seconds of the retrieval.
    pub seconds: f64,
}

/// One instance that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    /// Where it was written.
    pub path: PathBuf,
    /// Its SOP Instance UID (from the file meta group).
    pub sop_instance_uid: String,
    /// Its SOP Class UID.
    pub sop_class_uid: String,
    /// Its transfer syntax.
    pub transfer_syntax: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes received instances into one folder.
#[derive(Debug)]
pub struct InstanceWriter {
    dir: PathBuf,
    written: HashSet<String>,
    instances: usize,
    bytes: u64,
    unnamed: usize,
}

impl InstanceWriter {
    /// A writer into `dir`, created if missing.
    pub fn new(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
        Ok(InstanceWriter {
            dir: dir.to_path_buf(),
            written: HashSet::new(),
            instances: 0,
            bytes: 0,
            unnamed: 0,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Instances and bytes written so far.
    pub fn summary(&self, seconds: f64) -> RetrieveSummary {
        RetrieveSummary {
            instances: self.instances,
            bytes: self.bytes,
            seconds,
        }
    }

    /// The SOP Instance UIDs written so far.
    pub fn written(&self) -> &HashSet<String> {
        &self.written
    }

    /// Streams one complete Part 10 file (preamble, `DICM`, file meta
    /// group, data set) from `source`; it is kept only if its meta group
    /// parses. An error from `source` (a broken connection) discards it.
    pub fn write_part10(&mut self, source: &mut dyn Read) -> Result<StoredInstance, PartError> {
        let mut temp = self.temp_file().map_err(PartError::Local)?;
        let bytes = copy(source, temp.as_file_mut())?;
        let meta = read_meta(temp.path()).map_err(PartError::NotDicom)?;
        self.keep(temp, meta, bytes).map_err(PartError::Local)
    }

    /// Writes a data set received over DIMSE (`dataset`, already in
    /// `transfer_syntax`) as a Part 10 file with a file meta group made
    /// from the command's SOP Class and Instance UIDs.
    pub fn write_dataset(
        &mut self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        dataset: &[u8],
    ) -> Result<StoredInstance, String> {
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(sop_class_uid)
            .media_storage_sop_instance_uid(sop_instance_uid)
            .transfer_syntax(transfer_syntax)
            .implementation_version_name(crate::reports::IMPLEMENTATION_VERSION_NAME)
            .build()
            .map_err(|e| format!("cannot make a file meta group: {e}"))?;
        let mut temp = self.temp_file()?;
        let file = temp.as_file_mut();
        let mut header = vec![0u8; 128];
        header.extend_from_slice(b"DICM");
        let written = (|| -> std::io::Result<u64> {
            file.write_all(&header)?;
            let mut group = Vec::new();
            meta.write(&mut group).map_err(std::io::Error::other)?;
            file.write_all(&group)?;
            file.write_all(dataset)?;
            file.flush()?;
            Ok((header.len() + group.len() + dataset.len()) as u64)
        })()
        .map_err(|e| format!("cannot write into {}: {e}", self.dir.display()))?;
        self.keep(temp, meta, written)
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, String> {
        tempfile::Builder::new()
            .prefix(".hilum-incoming-")
            .suffix(".part")
            .tempfile_in(&self.dir)
            .map_err(|e| format!("cannot write into {}: {e}", self.dir.display()))
    }

    fn keep(
        &mut self,
        temp: tempfile::NamedTempFile,
        meta: FileMetaTable,
        bytes: u64,
    ) -> Result<StoredInstance, String> {
        let sop_instance_uid = meta.media_storage_sop_instance_uid().to_string();
        let name = if is_valid_uid(&sop_instance_uid) {
            format!("{sop_instance_uid}.dcm")
        } else {
            self.unnamed += 1;
            format!("instance-{:05}.dcm", self.unnamed)
        };
        let path = self.dir.join(name);
        temp.as_file()
            .sync_all()
            .map_err(|e| format!("cannot write into {}: {e}", self.dir.display()))?;
        temp.persist(&path)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
        if self.written.insert(sop_instance_uid.clone()) {
            self.instances += 1;
            self.bytes += bytes;
        }
        Ok(StoredInstance {
            path,
            sop_instance_uid,
            sop_class_uid: meta.media_storage_sop_class_uid().to_string(),
            transfer_syntax: meta.transfer_syntax().to_string(),
            bytes,
        })
    }
}

/// The instance files a writer left in `dir` (`*.dcm`; temporary parts
/// and markers are not instances).
pub fn instance_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "dcm"))
                .collect()
        })
        .unwrap_or_default()
}

/// Why a streamed instance was not kept.
#[derive(Debug)]
pub enum PartError {
    /// Reading the source failed (a broken connection, a malformed stream).
    Source(std::io::Error),
    /// It arrived whole but is not a Part 10 file.
    NotDicom(String),
    /// It could not be written here.
    Local(String),
}

impl std::fmt::Display for PartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartError::Source(e) => write!(f, "the transfer broke off: {e}"),
            PartError::NotDicom(why) | PartError::Local(why) => f.write_str(why),
        }
    }
}

/// Copies `source` into `file`, telling read errors from write errors.
fn copy(source: &mut dyn Read, file: &mut std::fs::File) -> Result<u64, PartError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PartError::Source(e)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| PartError::Local(format!("cannot write a received instance: {e}")))?;
        total += n as u64;
    }
}

/// Reads the file meta group of the Part 10 file at `path`.
fn read_meta(path: &Path) -> Result<FileMetaTable, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot reopen: {e}"))?;
    let mut preamble = [0u8; 128];
    file.read_exact(&mut preamble)
        .map_err(|_| "the part is not a DICOM file (shorter than a preamble)".to_string())?;
    FileMetaTable::from_reader(std::io::BufReader::new(file))
        .map_err(|e| format!("the part is not a DICOM Part 10 file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_become_part10_files_named_by_checked_uids() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = InstanceWriter::new(dir.path()).unwrap();
        let stored = writer
            .write_dataset(
                "1.2.840.10008.5.1.4.1.1.7",
                "1.2.3.4",
                "1.2.840.10008.1.2.1",
                &[],
            )
            .unwrap();
        assert_eq!(stored.path, dir.path().join("1.2.3.4.dcm"));
        let meta = read_meta(&stored.path).unwrap();
        assert_eq!(meta.media_storage_sop_instance_uid(), "1.2.3.4");
        // A UID that could name a path is not used as a name.
        let odd = writer
            .write_dataset(
                "1.2.840.10008.5.1.4.1.1.7",
                "../../etc/x",
                "1.2.840.10008.1.2.1",
                &[],
            )
            .unwrap();
        assert_eq!(odd.path, dir.path().join("instance-00001.dcm"));
        assert_eq!(writer.summary(1.0).instances, 2);
    }

    #[test]
    fn a_broken_or_foreign_part_leaves_nothing() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                ))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut writer = InstanceWriter::new(dir.path()).unwrap();
        let err = writer.write_part10(&mut Broken).unwrap_err();
        assert!(matches!(err, PartError::Source(_)), "{err}");
        let err = writer
            .write_part10(&mut &b"not dicom"[..])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a DICOM"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
