//! DIMSE over `dicom-ul` associations: C-ECHO, C-FIND, C-GET, C-MOVE and
//! C-STORE as a user, and a Store SCP.
//!
//! `dicom-ul` provides the upper layer (PDUs, association negotiation);
//! the DIMSE messages on top are Hilum's: [`command`] encodes and decodes
//! command sets, [`association`] carries whole messages over P-DATA
//! fragments, and one module per service uses them. Every wait is bounded
//! by [`DimseOptions::timeout`]; every peer answer is checked, and a bad
//! one is a [`NetErrorKind::Protocol`] error, never a panic.

pub mod association;
pub mod command;
mod echo;
mod find;
mod retrieve;
pub mod scp;
mod store;
pub mod syntaxes;
mod ul_error;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::error::NetResult;
use super::node::DimseNode;
use super::query::{QueryKeys, Row};
use super::secret::Credentials;
use super::store::{InstanceWriter, StoredInstance};

pub use self::scp::{ScpEvent, serve_with_events};

#[cfg(doc)]
use super::error::NetErrorKind;

/// How Hilum introduces itself on an association.
#[derive(Debug, Clone)]
pub struct DimseOptions {
    /// Hilum's AE title (the calling AE title), `HILUM` by default.
    pub calling_aet: String,
    /// User identity sent in the association request, if any.
    pub credentials: Credentials,
    /// How long to wait for the peer to connect or answer.
    pub timeout: Duration,
}

/// Progress of a retrieval, as the peer reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetProgress {
    /// Sub-operations completed.
    pub completed: u32,
    /// Sub-operations remaining (when the peer says).
    pub remaining: Option<u32>,
    /// Sub-operations failed.
    pub failed: u32,
    /// Sub-operations with warnings.
    pub warning: u32,
}

/// C-ECHO: returns the round-trip time of the echo (association excluded).
pub fn echo(node: &DimseNode, options: &DimseOptions) -> NetResult<Duration> {
    echo::echo(node, options)
}

/// C-FIND (Study Root) at `keys.level`: every match as a row, names
/// decoded per the answer's Specific Character Set. A failure status is
/// [`NetErrorKind::Refused`] naming the status.
pub fn find(node: &DimseNode, options: &DimseOptions, keys: &QueryKeys) -> NetResult<Vec<Row>> {
    find::find(node, options, keys)
}

/// C-GET of a study (or one series) into `writer`: the instances come back
/// on the same association, each written as received (its transfer
/// syntax kept) and reported to `progress` with the peer's counts. Any
/// failed or warning sub-operation makes it [`NetErrorKind::Incomplete`].
pub fn get(
    node: &DimseNode,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
    writer: &mut InstanceWriter,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<()> {
    retrieve::get(node, options, study_uid, series_uid, writer, progress)
}

/// C-MOVE of a study (or one series) to Hilum's own Store SCP, started for
/// the move on 127.0.0.1:`listen_port` with AE title `options.calling_aet`
/// (the Move Destination); the peer must know that AE title with this
/// host and port. Only loopback is bound: a peer on another host would
/// need the SCP reachable from it, which `hilum pacs serve` (with an
/// explicit bind address and allow-list) is for. Same success rules as
/// [`get`].
pub fn move_to_self(
    node: &DimseNode,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
    listen_port: u16,
    writer: &mut InstanceWriter,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<()> {
    retrieve::move_to_self(
        node,
        options,
        study_uid,
        series_uid,
        listen_port,
        writer,
        progress,
    )
}

/// C-STORE of each file; `report` is told each file's outcome. Returns an
/// error only when no association could be made at all.
pub fn store(
    node: &DimseNode,
    options: &DimseOptions,
    paths: &[PathBuf],
    report: &mut dyn FnMut(&Path, Result<(), String>),
) -> NetResult<()> {
    store::store(node, options, paths, report)
}

/// What a Store SCP accepts.
#[derive(Debug, Clone)]
pub struct ScpOptions {
    /// Its AE title.
    pub aet: String,
    /// Where it listens (loopback unless configured otherwise).
    pub bind: std::net::SocketAddr,
    /// Calling AE titles allowed to store; `None`: any caller, which is
    /// allowed only for an SCP bound to loopback (local processes).
    pub allowed_calling_aets: Option<Vec<String>>,
}

/// Runs a Store SCP until `stop` is set, writing what it receives through
/// `writer`; `on_stored` is told about each instance. Refused and failed
/// associations are not reported here: [`serve_with_events`] reports them.
pub fn serve(
    options: &ScpOptions,
    writer: &mut InstanceWriter,
    stop: Arc<AtomicBool>,
    on_stored: &mut dyn FnMut(&StoredInstance),
) -> NetResult<()> {
    serve_with_events(options, writer, stop, &mut |event| {
        if let ScpEvent::Stored(stored) = event {
            on_stored(stored);
        }
    })
}
