//! The local study cache: studies retrieved for viewing live in Hilum's
//! data folder (`studies/<Study Instance UID>/`), never among the user's
//! files. A study being retrieved carries an `.incomplete` marker until
//! every instance has arrived, so an interrupted retrieval is known and
//! resumes; instances are written atomically ([`InstanceWriter`]); the
//! least recently used complete studies are evicted past a size cap.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::query::is_valid_uid;
use super::store::{InstanceWriter, instance_files};

/// The marker of a study whose retrieval has not finished.
const INCOMPLETE: &str = ".incomplete";
/// The marker touched each time a study is opened (for eviction order).
const LAST_USED: &str = ".last-used";
/// The default size cap: 20 GiB.
pub const DEFAULT_CAP_BYTES: u64 = 20 * 1024 * 1024 * 1024;

/// One cached study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachedStudy {
    /// Its Study Instance UID.
    pub study_uid: String,
    /// Its folder.
    pub path: PathBuf,
    /// Instances held.
    pub instances: usize,
    /// Bytes held.
    pub bytes: u64,
    /// Whether every instance arrived.
    pub complete: bool,
    /// Seconds since the epoch it was last opened or retrieved.
    pub last_used: u64,
}

/// The cache folder and its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyCache {
    root: PathBuf,
    cap_bytes: u64,
}

impl StudyCache {
    /// The cache in `root` with a cap of `cap_bytes`.
    pub fn at(root: impl Into<PathBuf>, cap_bytes: u64) -> Self {
        StudyCache {
            root: root.into(),
            cap_bytes,
        }
    }

    /// The cache in Hilum's data folder (`$HILUM_DATA_DIR/studies`, else
    /// the platform's), capped at `$HILUM_CACHE_GB` GiB (default 20).
    pub fn default_location() -> Option<Self> {
        let base = crate::annotations::sidecar::data_dir()?;
        let cap = std::env::var("HILUM_CACHE_GB")
            .ok()
            .and_then(|gb| gb.trim().parse::<f64>().ok())
            .filter(|gb| gb.is_finite() && *gb > 0.0)
            .map_or(DEFAULT_CAP_BYTES, |gb| {
                (gb * 1024.0 * 1024.0 * 1024.0) as u64
            });
        Some(StudyCache::at(base.join("studies"), cap))
    }

    /// The cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of `study_uid` (which must be a valid UID: it names the
    /// folder).
    pub fn study_dir(&self, study_uid: &str) -> Result<PathBuf, String> {
        if !is_valid_uid(study_uid) {
            return Err(format!("{study_uid:?} is not a Study Instance UID"));
        }
        Ok(self.root.join(study_uid))
    }

    /// Whether the study is cached whole.
    pub fn is_complete(&self, study_uid: &str) -> bool {
        self.study_dir(study_uid)
            .is_ok_and(|dir| dir.is_dir() && !dir.join(INCOMPLETE).exists())
    }

    /// The folder of a study cached whole, recorded as opened now; `None`
    /// when it is not (or not wholly) cached.
    pub fn open_cached(&self, study_uid: &str) -> Option<PathBuf> {
        if !self.is_complete(study_uid) {
            return None;
        }
        self.touch(study_uid);
        self.study_dir(study_uid).ok()
    }

    /// Starts (or resumes) retrieving a study: its folder marked
    /// incomplete, and a writer into it.
    pub fn begin(&self, study_uid: &str) -> Result<InstanceWriter, String> {
        let dir = self.study_dir(study_uid)?;
        let writer = InstanceWriter::new(&dir)?;
        std::fs::write(dir.join(INCOMPLETE), b"")
            .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
        self.touch(study_uid);
        Ok(writer)
    }

    /// Marks a study complete and evicts others past the cap.
    pub fn finish(&self, study_uid: &str) -> Result<(), String> {
        let dir = self.study_dir(study_uid)?;
        match std::fs::remove_file(dir.join(INCOMPLETE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot mark {} complete: {e}", dir.display())),
        }
        self.evict(Some(study_uid));
        Ok(())
    }

    /// Records that a study was opened now.
    pub fn touch(&self, study_uid: &str) {
        if let Ok(dir) = self.study_dir(study_uid) {
            let _ = std::fs::write(dir.join(LAST_USED), b"");
        }
    }

    /// The cached studies, most recently used first.
    pub fn list(&self) -> Vec<CachedStudy> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut studies: Vec<CachedStudy> = entries
            .flatten()
            .filter_map(|entry| {
                let uid = entry.file_name().to_str()?.to_string();
                if !is_valid_uid(&uid) || !entry.file_type().ok()?.is_dir() {
                    return None;
                }
                let path = entry.path();
                let files = instance_files(&path);
                let bytes = files
                    .iter()
                    .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                    .sum();
                let last_used = std::fs::metadata(path.join(LAST_USED))
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH)
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Some(CachedStudy {
                    complete: !path.join(INCOMPLETE).exists(),
                    study_uid: uid,
                    path,
                    instances: files.len(),
                    bytes,
                    last_used,
                })
            })
            .collect();
        studies.sort_by(|a, b| {
            b.last_used
                .cmp(&a.last_used)
                .then(a.study_uid.cmp(&b.study_uid))
        });
        studies
    }

    /// Removes the least recently used studies until the cache fits its
    /// cap, never `keep` (the study just opened). Returns those removed.
    pub fn evict(&self, keep: Option<&str>) -> Vec<String> {
        let studies = self.list();
        let mut total: u64 = studies.iter().map(|s| s.bytes).sum();
        let mut removed = Vec::new();
        for study in studies.iter().rev() {
            if total <= self.cap_bytes {
                break;
            }
            if Some(study.study_uid.as_str()) == keep {
                continue;
            }
            if std::fs::remove_dir_all(&study.path).is_ok() {
                total = total.saturating_sub(study.bytes);
                removed.push(study.study_uid.clone());
            }
        }
        removed
    }

    /// Removes every cached study; returns how many.
    pub fn clear(&self) -> Result<usize, String> {
        let studies = self.list();
        for study in &studies {
            std::fs::remove_dir_all(&study.path)
                .map_err(|e| format!("cannot remove {}: {e}", study.path.display()))?;
        }
        Ok(studies.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(cache: &StudyCache, uid: &str, bytes: usize) {
        let mut writer = cache.begin(uid).unwrap();
        let sop = format!("{uid}.1");
        writer
            .write_dataset(
                "1.2.840.10008.5.1.4.1.1.7",
                &sop,
                "1.2.840.10008.1.2.1",
                &vec![0u8; bytes],
            )
            .unwrap();
        cache.finish(uid).unwrap();
    }

    #[test]
    fn retrievals_are_marked_until_finished_and_old_studies_are_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = StudyCache::at(dir.path(), 10_000);
        let writer = cache.begin("1.2.3").unwrap();
        drop(writer);
        assert!(
            !cache.is_complete("1.2.3"),
            "an unfinished retrieval is incomplete"
        );
        assert!(!cache.list()[0].complete);
        cache.finish("1.2.3").unwrap();
        assert!(cache.is_complete("1.2.3"));
        add(&cache, "1.2.4", 4000);
        // File times have a coarse grain: make the order explicit.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        add(&cache, "1.2.5", 4000);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        add(&cache, "1.2.6", 4000);
        // 12 kB > 10 kB: the least recently used (1.2.3 is tiny but oldest,
        // then 1.2.4) went, until the rest fit.
        let left: Vec<String> = cache.list().into_iter().map(|s| s.study_uid).collect();
        assert!(
            left.contains(&"1.2.6".to_string()) && left.contains(&"1.2.5".to_string()),
            "{left:?}"
        );
        assert!(!left.contains(&"1.2.4".to_string()), "{left:?}");
        assert!(cache.study_dir("../x").is_err());
        assert_eq!(cache.clear().unwrap(), left.len());
        assert!(cache.list().is_empty());
    }
}
