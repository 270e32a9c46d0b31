//! One peer, either protocol: what the command line and the viewer both
//! use to echo, search, retrieve (into a folder or the study cache) and
//! send, without caring whether the node speaks DICOMweb or DIMSE.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cache::StudyCache;
use super::dimse::{self, DimseOptions, GetProgress};
use super::error::{NetError, NetErrorKind, NetResult};
use super::node::{DimseNode, Node, NodeBook, SavedNode, check_ae_title};
use super::query::{QueryKeys, Row};
use super::secret::{Credentials, Secret};
use super::store::{InstanceWriter, StoredInstance, instance_files};
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
        if let Some(dir) = cache.open_cached(study_uid) {
            return Ok(dir);
        }
        let dir = cache.study_dir(study_uid).map_err(local)?;
        let mut writer = cache.begin(study_uid).map_err(local)?;
        self.retrieve(study_uid, None, DimseMethod::Get, &mut writer, progress)?;
        if writer.written().is_empty() && instance_files(&dir).is_empty() {
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

/// The calling AE title when neither the caller nor the saved node sets
/// one.
pub const DEFAULT_AET: &str = "HILUM";

/// How to reach and log in to a node, as the command line and the viewer
/// take it; empty fields fall back to the environment
/// (`HILUM_PACS_USER`, `HILUM_PACS_PASSWORD`, `HILUM_PACS_TOKEN`) and to
/// the saved node.
#[derive(Clone, Default)]
pub struct Login {
    /// A saved node's name or a URL.
    pub node: String,
    /// Hilum's AE title for a DIMSE node.
    pub aet: Option<String>,
    /// The user name.
    pub user: Option<String>,
    /// The password.
    pub password: Option<Secret>,
    /// CA certificates to trust besides the system's (HTTPS).
    pub ca_file: Option<PathBuf>,
    /// The saved nodes' file (default: the data folder's).
    pub nodes_file: Option<PathBuf>,
    /// How long to wait for the peer.
    pub timeout: Duration,
}

/// A variable of the environment, when set and not empty.
fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Login {
    /// The node it names and what is saved for it (reads the node file:
    /// call it off a UI thread). Errors are `InvalidNode` or `Local`.
    pub fn resolve(&self) -> NetResult<(Node, SavedNode)> {
        let book = match self.nodes_file.clone().or_else(NodeBook::default_path) {
            Some(path) => NodeBook::load(&path)?,
            None => NodeBook::default(),
        };
        let (mut node, saved) = Node::resolve(self.node.trim(), &book)?;
        if let (Node::Web(web), Some(ca)) = (&mut node, &self.ca_file) {
            web.ca_file = Some(ca.clone());
        }
        Ok((node, saved))
    }

    /// A session with `node`: the AE title and the credentials completed
    /// from the saved node and the environment; `ask_password` is asked
    /// (with the user name) when a user has neither a password nor a token.
    /// A bad AE title is an `InvalidNode` error.
    pub fn session_with(
        &self,
        node: &Node,
        saved: &SavedNode,
        ask_password: impl FnOnce(&str) -> Option<Secret>,
    ) -> NetResult<Session> {
        let aet = self
            .aet
            .clone()
            .or_else(|| saved.aet.clone())
            .unwrap_or_else(|| DEFAULT_AET.to_string());
        let aet = check_ae_title(&aet).map_err(|why| {
            NetError::new(
                node.label(),
                NetErrorKind::InvalidNode(format!("AE title: {why}")),
            )
        })?;
        let user = self
            .user
            .clone()
            .or_else(|| from_env("HILUM_PACS_USER"))
            .or_else(|| saved.user.clone());
        let token = from_env("HILUM_PACS_TOKEN").map(Secret::new);
        let mut password = self
            .password
            .clone()
            .or_else(|| from_env("HILUM_PACS_PASSWORD").map(Secret::new));
        if let Some(user) = &user
            && password.is_none()
            && token.is_none()
        {
            password = ask_password(user);
        }
        let credentials = Credentials {
            user,
            password,
            token,
        };
        Session::new(node, credentials, &aet, self.timeout)
    }

    /// A session, asking for no password (off a UI thread: it reads the
    /// node file and the certificate roots).
    pub fn session(&self) -> NetResult<Session> {
        let (node, saved) = self.resolve()?;
        self.session_with(&node, &saved, |_| None)
    }
}
