//! `hilum triage --pacs NODE`: the studies a PACS query finds, as a triage
//! source. Each task keeps only its shard's studies (by the Study Instance
//! UID the query returns, the same key the files would give) before
//! retrieving anything, then retrieves them into the study cache, where
//! they are triaged like a folder. A study that cannot be retrieved is an
//! error line (`pacs:UID`), never a stopped run.

use std::path::PathBuf;

use super::pacs::{LoginArgs, StudyKeysArgs};
use super::pacs::{PeerArgs, connect};
use super::report;
use crate::net::Level;
use crate::net::cache::StudyCache;
use crate::triage::Shard;
use crate::triage::plan::PlannedError;
use crate::triage::shard::shard_key;

/// What a PACS source gives one task: the cached folders of its studies
/// and an error for each study that could not be retrieved.
pub struct PacsSource {
    /// The studies' folders in the cache.
    pub folders: Vec<PathBuf>,
    /// Studies that failed, named `pacs:UID`.
    pub errors: Vec<PlannedError>,
    /// Studies the query found (all shards).
    pub found: usize,
}

/// Queries `node` with `keys`, keeps `shard`'s studies and retrieves them
/// into the study cache (at once when cached whole), logged in as `login`
/// says; returns the exit code on a failure of the query itself.
pub fn retrieve(
    node: &str,
    keys: &StudyKeysArgs,
    login: &LoginArgs,
    shard: Shard,
) -> Result<PacsSource, i32> {
    let keys = keys.query(Level::Study);
    if let Err(why) = keys.validate() {
        report(&why);
        return Err(2);
    }
    let Some(cache) = StudyCache::default_location() else {
        report(&"no data folder for the study cache (set HILUM_DATA_DIR)");
        return Err(1);
    };
    let peer = PeerArgs {
        node: node.to_string(),
        login: login.clone(),
    };
    let session = connect(&peer)?;
    let rows = session.find(&keys).map_err(|e| {
        report(&e);
        1
    })?;
    let mut studies: Vec<String> = rows
        .iter()
        .filter_map(|row| row.get("StudyInstanceUID")?.as_str().map(String::from))
        .collect();
    studies.sort();
    studies.dedup();
    let found = studies.len();
    studies.retain(|uid| shard.owns(&shard_key(Some(uid), "")));
    eprintln!(
        "hilum: triage shard {shard}: {} of {found} studies found on {node}",
        studies.len()
    );
    let mut source = PacsSource {
        folders: Vec::new(),
        errors: Vec::new(),
        found,
    };
    for uid in studies {
        let retrieved = match cache.study_dir(&uid) {
            Err(why) => Err(why),
            Ok(_) => session
                .retrieve_to_cache(&cache, &uid, &mut |_, _| {})
                .map_err(|e| e.to_string()),
        };
        match retrieved {
            Ok(folder) => source.folders.push(folder),
            Err(message) => {
                let name = format!("pacs:{uid}");
                report(&format!("{name}: {message}"));
                source.errors.push(PlannedError {
                    message: format!("{name}: {message}"),
                    name,
                });
            }
        }
    }
    Ok(source)
}
