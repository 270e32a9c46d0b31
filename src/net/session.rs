//! One peer, either protocol: what the command line and the viewer both
//! use to echo, search, retrieve (into a folder or the study cache) and
//! send, without caring whether the node speaks DICOMweb or DIMSE.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cache::StudyCache;
use super::dimse::{self, DimseOptions, GetProgress};
use super::error::{NetError, NetErrorKind, NetResult};
use super::node::{DimseNode, Node};
use super::query::{QueryKeys, Row};
use super::secret::Credentials;
use super::store::{InstanceWriter, StoredInstance};
use super::web::{self, WebClient};

/// How far a retrieval has come, whichever the protocol: the counts are
/// within the series being retrieved when `series` is given (DICOMweb
/// retrieves series by series), else within the whole retrieval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Instances received so far.
    pub received: usize,
    /// Instances expected, when the peer says.
    pub expected: Option<usize>,
    /// The series being retrieved and how many there are (0-based index).
    pub series: Option<(usize, usize)>,
}

/// How a DIMSE retrieval asks for the instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DimseMethod {
    /// C-GET: back on the same association.
    #[default]
    Get,
    /// C-MOVE to a Store SCP of Hilum's own on this loopback port.
    Move(u16),
}

enum Peer {
    Web(WebClient),
    Dimse(DimseNode, DimseOptions),
}

/// A peer ready to talk to.
pub struct Session {
    peer: Peer,
    label: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.label)
            .finish()
    }
}

impl Session {
    /// A session with `node`, introducing Hilum as `calling_aet` (DIMSE)
    /// and logging in with `credentials`; `timeout` bounds every wait.
    pub fn new(
        node: &Node,
        credentials: Credentials,
        calling_aet: &str,
        timeout: Duration,
    ) -> NetResult<Self> {
        let peer = match node {
            Node::Web(web) => Peer::Web(WebClient::new(web, &credentials, timeout)?),
            Node::Dimse(dimse) => Peer::Dimse(
                dimse.clone(),
                DimseOptions {
                    calling_aet: calling_aet.to_string(),
                    credentials,
                    timeout,
                },
            ),
        };
        Ok(Session {
            peer,
            label: node.label(),
        })
    }

    /// How errors name the peer.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the peer speaks DIMSE.
    pub fn is_dimse(&self) -> bool {
        matches!(self.peer, Peer::Dimse(..))
    }

    /// C-ECHO, or a one-match QIDO search for DICOMweb: the round trip.
    pub fn echo(&self) -> NetResult<Duration> {
        match &self.peer {
            Peer::Web(client) => {
                let start = Instant::now();
                web::search(client, &QueryKeys::default()).map(|_| start.elapsed())
            }
            Peer::Dimse(node, options) => dimse::echo(node, options),
        }
    }

    /// Searches the peer.
    pub fn find(&self, keys: &QueryKeys) -> NetResult<Vec<Row>> {
        match &self.peer {
            Peer::Web(client) => web::search(client, keys),
            Peer::Dimse(node, options) => dimse::find(node, options, keys),
        }
    }

    /// Retrieves a study (or one series) into `writer`, telling `progress`
    /// about each instance kept.
    pub fn retrieve(
        &self,
        study_uid: &str,
        series_uid: Option<&str>,
        method: DimseMethod,
        writer: &mut InstanceWriter,
        progress: &mut dyn FnMut(Progress, &StoredInstance),
    ) -> NetResult<()> {
        match &self.peer {
            Peer::Web(client) => {
                if method != DimseMethod::Get {
                    return Err(NetError::new(
                        &self.label,
                        NetErrorKind::InvalidNode(
                            "C-MOVE is for DIMSE peers (dicom://...); DICOMweb retrieves by WADO-RS".into(),
                        ),
                    ));
                }
                web::retrieve(
                    client,
                    study_uid,
                    series_uid,
                    writer,
                    &mut |state, stored| {
                        progress(
                            Progress {
                                received: state.received,
                                expected: state.expected,
                                series: Some((state.series_index, state.series_count)),
                            },
                            stored,
                        )
                    },
                )
            }
            Peer::Dimse(node, options) => {
                let mut received = 0;
                let mut tell = |state: GetProgress, stored: &StoredInstance| {
                    received += 1;
                    progress(
                        Progress {
                            received,
                            expected: state
                                .remaining
                                .map(|r| r as usize + state.completed as usize),
                            series: None,
                        },
                        stored,
                    )
                };
                match method {
                    DimseMethod::Get => {
                        dimse::get(node, options, study_uid, series_uid, writer, &mut tell)
                    }
                    DimseMethod::Move(port) => dimse::move_to_self(
                        node, options, study_uid, series_uid, port, writer, &mut tell,
                    ),
                }
            }
        }
    }

    /// Retrieves a study into `cache` (at once when cached whole; resuming
    /// an interrupted retrieval) and returns its folder. A failure leaves
    /// the study marked incomplete.
    pub fn retrieve_to_cache(
        &self,
        cache: &StudyCache,
        study_uid: &str,
        progress: &mut dyn FnMut(Progress, &StoredInstance),
    ) -> NetResult<PathBuf> {
        let local = |why: String| NetError::new(&self.label, NetErrorKind::Local(why));
        let dir = cache.study_dir(study_uid).map_err(local)?;
        if cache.is_complete(study_uid) {
            cache.touch(study_uid);
            return Ok(dir);
        }
        let mut writer = cache.begin(study_uid).map_err(local)?;
        self.retrieve(study_uid, None, DimseMethod::Get, &mut writer, progress)?;
        if writer.written().is_empty() && count_instances(&dir) == 0 {
            return Err(NetError::new(
                &self.label,
                NetErrorKind::Refused(format!("study {study_uid} holds no instances")),
            ));
        }
        cache.finish(study_uid).map_err(local)?;
        Ok(dir)
    }

    /// Sends files; `report` is told each file's outcome. An error means
    /// the peer could not be used at all.
    pub fn send(
        &self,
        paths: &[PathBuf],
        report: &mut dyn FnMut(&Path, Result<(), String>),
    ) -> NetResult<()> {
        match &self.peer {
            Peer::Web(client) => web::send(client, paths, report),
            Peer::Dimse(node, options) => dimse::store(node, options, paths, report),
        }
    }
}

/// The `.dcm` files in `dir`.
pub fn count_instances(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "dcm"))
                .count()
        })
        .unwrap_or(0)
}
