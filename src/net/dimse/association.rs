//! Associations and DIMSE messages over them: requesting an association
//! (presentation contexts, role selection, user identity, timeouts), and
//! sending and receiving whole messages (a command set and its optional
//! data set) as P-DATA fragments.
//!
//! A message may span any number of PDUs and a PDU may hold several
//! fragments, so fragments are queued and put together per message: the
//! command until its last fragment, then the data set until its last
//! fragment, always on the presentation context the command came on.
//! Sending splits each part to fit the peer's maximum PDU length.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::association::{ClientAssociation, SyncAssociation};
use dicom_ul::pdu::{
    PDataValue, PDataValueType, Pdu, PresentationContextNegotiated, PresentationContextResultReason,
};

use super::DimseOptions;
use super::command::{Command, MAX_COMMAND_BYTES};
use super::syntaxes::ProposedContext;
use super::ul_error::{association_error, pdu_name};
pub use super::ul_error::{is_timeout, map_ul_error};
use crate::net::error::{NetError, NetErrorKind, NetResult};
use crate::net::node::DimseNode;

/// The largest PDU Hilum receives. 256 KiB keeps the per-PDU overhead
/// small for large data sets; the bound is what `strict` mode enforces.
pub const LOCAL_MAX_PDU: u32 = 256 * 1024;

/// The largest fragment Hilum sends, even to a peer that takes more (or
/// says 0, unlimited): each fragment is copied once into its PDU.
const MAX_SEND_FRAGMENT: usize = 1024 * 1024;

/// The largest data set accepted in one message. Memory is the real
/// limit; this stops a peer from claiming more than any instance holds.
pub const MAX_DATA_SET_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// A whole DIMSE message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The presentation context it came on.
    pub context_id: u8,
    /// Its command set.
    pub command: Command,
    /// Its data set, exactly as received (in the context's transfer syntax).
    pub data: Option<Vec<u8>>,
}

/// What the peer did next.
#[derive(Debug)]
pub enum Incoming {
    /// A whole message (boxed: it is far larger than the other variant).
    Message(Box<Message>),
    /// The peer asked to release the association (already answered).
    Released,
}

/// A message being put together.
#[derive(Debug, Default)]
struct Partial {
    context_id: Option<u8>,
    command_bytes: Vec<u8>,
    command: Option<Command>,
    data: Vec<u8>,
}

/// An established association (as requester or acceptor) with the
/// fragments received but not yet used.
pub struct Link<A> {
    assoc: Option<A>,
    pending: VecDeque<PDataValue>,
    partial: Partial,
    peer: String,
}

impl<A> Link<A>
where
    A: SyncAssociation<TcpStream>,
{
    /// Wraps `assoc`; errors name `peer`.
    pub fn new(assoc: A, peer: String) -> Self {
        Link {
            assoc: Some(assoc),
            pending: VecDeque::new(),
            partial: Partial::default(),
            peer,
        }
    }

    fn assoc(&mut self) -> NetResult<&mut A> {
        let peer = &self.peer;
        self.assoc.as_mut().ok_or_else(|| {
            NetError::new(
                peer.clone(),
                NetErrorKind::Connection("the association is closed".into()),
            )
        })
    }

    /// The peer, as errors name it.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The accepted presentation contexts (an acceptor's list also holds
    /// the ones it refused, which are left out here).
    pub fn contexts(&self) -> impl Iterator<Item = &PresentationContextNegotiated> {
        self.assoc
            .as_ref()
            .map(|a| a.presentation_contexts())
            .unwrap_or(&[])
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
    }

    /// The accepted context with `id`.
    pub fn context(&self, id: u8) -> Option<&PresentationContextNegotiated> {
        self.contexts().find(|pc| pc.id == id)
    }

    /// The first accepted context for `abstract_syntax`.
    pub fn context_for(&self, abstract_syntax: &str) -> Option<&PresentationContextNegotiated> {
        self.contexts()
            .find(|pc| pc.abstract_syntax == abstract_syntax)
    }

    /// An error of `kind` naming the peer.
    pub fn error(&self, kind: NetErrorKind) -> NetError {
        NetError::new(self.peer.clone(), kind)
    }

    /// Sends `command` (and `data`, already in the context's transfer
    /// syntax) on presentation context `context_id`.
    pub fn send(
        &mut self,
        context_id: u8,
        command: &Command,
        data: Option<&[u8]>,
    ) -> NetResult<()> {
        debug_assert_eq!(command.has_data_set, data.is_some());
        let encoded = command.encode();
        self.send_part(context_id, PDataValueType::Command, &encoded)?;
        if let Some(data) = data {
            self.send_part(context_id, PDataValueType::Data, data)?;
        }
        Ok(())
    }

    /// Sends one part of a message in fragments that fit the peer's
    /// maximum PDU length (the PDU holds 6 bytes of PDV header besides the
    /// fragment). An empty data set still goes out as one empty fragment.
    fn send_part(&mut self, context_id: u8, kind: PDataValueType, bytes: &[u8]) -> NetResult<()> {
        let peer = self.peer.clone();
        let assoc = self.assoc()?;
        let peer_max = assoc.peer_max_pdu_length() as usize;
        let fragment = peer_max.saturating_sub(6).clamp(64, MAX_SEND_FRAGMENT);
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[]]
        } else {
            bytes.chunks(fragment).collect()
        };
        let last = chunks.len() - 1;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let pdu = Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: context_id,
                    value_type: kind.clone(),
                    is_last: index == last,
                    data: chunk.to_vec(),
                }],
            };
            SyncAssociation::send(assoc, &pdu)
                .map_err(|e| map_ul_error(&peer, "cannot send", e))?;
        }
        Ok(())
    }

    /// Receives the next whole message, waiting at most the socket's read
    /// timeout for each PDU.
    pub fn receive(&mut self) -> NetResult<Incoming> {
        loop {
            if let Some(incoming) = self.assemble()? {
                return Ok(incoming);
            }
            let pdu = SyncAssociation::receive(self.assoc()?)
                .map_err(|e| map_ul_error(&self.peer, "the association broke off", e))?;
            if let Some(incoming) = self.take_pdu(pdu)? {
                return Ok(incoming);
            }
        }
    }

    /// Like [`Link::receive`], on a socket whose read timeout is a short
    /// poll interval: returns `Ok(None)` once `stop` is set, and a timeout
    /// error after `idle` without a PDU. A timed-out read loses nothing:
    /// `dicom-ul` keeps the bytes of a partial PDU for the next call.
    pub fn receive_until(
        &mut self,
        stop: &AtomicBool,
        idle: Duration,
    ) -> NetResult<Option<Incoming>> {
        let mut since = Instant::now();
        loop {
            if let Some(incoming) = self.assemble()? {
                return Ok(Some(incoming));
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match SyncAssociation::receive(self.assoc()?) {
                Ok(pdu) => {
                    since = Instant::now();
                    if let Some(incoming) = self.take_pdu(pdu)? {
                        return Ok(Some(incoming));
                    }
                }
                Err(e) if is_timeout(&e) => {
                    if since.elapsed() >= idle {
                        return Err(self.error(NetErrorKind::Timeout(format!(
                            "no message for {} s",
                            idle.as_secs()
                        ))));
                    }
                }
                Err(e) => return Err(map_ul_error(&self.peer, "the association broke off", e)),
            }
        }
    }

    /// Queues the fragments of a P-DATA PDU; answers a release request.
    fn take_pdu(&mut self, pdu: Pdu) -> NetResult<Option<Incoming>> {
        match pdu {
            Pdu::PData { data } => {
                self.pending.extend(data);
                Ok(None)
            }
            Pdu::ReleaseRQ => {
                if self.partial.context_id.is_some() || !self.pending.is_empty() {
                    return Err(self.error(NetErrorKind::Protocol(
                        "the peer released the association in the middle of a message".into(),
                    )));
                }
                let peer = self.peer.clone();
                if let Some(mut assoc) = self.assoc.take() {
                    SyncAssociation::send(&mut assoc, &Pdu::ReleaseRP)
                        .map_err(|e| map_ul_error(&peer, "cannot answer the release", e))?;
                    let _ = SyncAssociation::inner_stream(&mut assoc)
                        .shutdown(std::net::Shutdown::Both);
                }
                Ok(Some(Incoming::Released))
            }
            Pdu::AbortRQ { source } => {
                self.assoc = None;
                Err(self.error(NetErrorKind::Connection(format!(
                    "the peer aborted the association ({source:?})"
                ))))
            }
            other => Err(self.error(NetErrorKind::Protocol(format!(
                "unexpected {} during the association",
                pdu_name(&other)
            )))),
        }
    }

    /// Puts queued fragments together; returns a message once whole.
    fn assemble(&mut self) -> NetResult<Option<Incoming>> {
        while let Some(pdv) = self.pending.pop_front() {
            let context = *self
                .partial
                .context_id
                .get_or_insert(pdv.presentation_context_id);
            if pdv.presentation_context_id != context {
                return Err(self.error(NetErrorKind::Protocol(format!(
                    "a fragment on presentation context {} interleaved with a message on {context}",
                    pdv.presentation_context_id
                ))));
            }
            if self.context(context).is_none() {
                return Err(self.error(NetErrorKind::Protocol(format!(
                    "a message on presentation context {context}, which was not accepted"
                ))));
            }
            match (pdv.value_type, self.partial.command.is_some()) {
                (PDataValueType::Command, false) => {
                    if self.partial.command_bytes.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                        return Err(
                            self.error(NetErrorKind::Protocol("a command set is too large".into()))
                        );
                    }
                    self.partial.command_bytes.extend_from_slice(&pdv.data);
                    if pdv.is_last {
                        let command = Command::decode(&self.partial.command_bytes)
                            .map_err(|why| self.error(NetErrorKind::Protocol(why)))?;
                        if !command.has_data_set {
                            return Ok(Some(self.finish(command, None)));
                        }
                        self.partial.command = Some(command);
                    }
                }
                (PDataValueType::Data, true) => {
                    if self.partial.data.len() + pdv.data.len() > MAX_DATA_SET_BYTES {
                        return Err(
                            self.error(NetErrorKind::Protocol("a data set is too large".into()))
                        );
                    }
                    self.partial.data.extend_from_slice(&pdv.data);
                    if pdv.is_last {
                        let command = self.partial.command.take().unwrap_or_default();
                        let data = std::mem::take(&mut self.partial.data);
                        return Ok(Some(self.finish(command, Some(data))));
                    }
                }
                (PDataValueType::Data, false) => {
                    return Err(self.error(NetErrorKind::Protocol(
                        "a data fragment before its command set".into(),
                    )));
                }
                (PDataValueType::Command, true) => {
                    return Err(self.error(NetErrorKind::Protocol(
                        "a command fragment where the data set was expected".into(),
                    )));
                }
            }
        }
        Ok(None)
    }

    fn finish(&mut self, command: Command, data: Option<Vec<u8>>) -> Incoming {
        let context_id = self.partial.context_id.unwrap_or(0);
        self.partial = Partial::default();
        Incoming::Message(Box::new(Message {
            context_id,
            command,
            data,
        }))
    }

    /// Receives the next message, treating a release as an error (a
    /// requester expects a response, not the end).
    pub fn expect_message(&mut self, waiting_for: &str) -> NetResult<Message> {
        match self.receive()? {
            Incoming::Message(message) => Ok(*message),
            Incoming::Released => Err(self.error(NetErrorKind::Protocol(format!(
                "the peer released the association while Hilum waited for {waiting_for}"
            )))),
        }
    }

    /// Aborts the association (after an error: nothing more is said).
    pub fn abort(&mut self) {
        if let Some(assoc) = self.assoc.take() {
            let _ = SyncAssociation::abort(assoc);
        }
    }

    /// Shuts the socket down without a word, for a peer that has already
    /// gone (or an acceptor ending an idle association).
    pub fn close(&mut self) {
        if let Some(mut assoc) = self.assoc.take() {
            let _ = SyncAssociation::inner_stream(&mut assoc).shutdown(std::net::Shutdown::Both);
        }
    }

    /// Sets the socket's read timeout (for polling).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> NetResult<()> {
        let peer = self.peer.clone();
        SyncAssociation::inner_stream(self.assoc()?)
            .set_read_timeout(Some(timeout))
            .map_err(|e| NetError::new(peer, NetErrorKind::Connection(e.to_string())))
    }
}

impl Link<ClientAssociation<TcpStream>> {
    /// Releases the association (A-RELEASE). A peer that closes instead of
    /// answering does not turn a finished operation into a failure.
    pub fn release(mut self) {
        if let Some(assoc) = self.assoc.take() {
            let _ = assoc.release();
        }
    }
}

/// Requests an association with `node` proposing `contexts`, with SCP role
/// selection for `scp_roles` (the storage classes of a C-GET) and the user
/// identity of `options`.
pub fn connect(
    node: &DimseNode,
    options: &DimseOptions,
    contexts: &[ProposedContext],
    scp_roles: &[&str],
) -> NetResult<Link<ClientAssociation<TcpStream>>> {
    let peer = node.label();
    let mut request = ClientAssociationOptions::new()
        .calling_ae_title(options.calling_aet.as_str())
        .called_ae_title(node.called_aet.as_str())
        .max_pdu_length(LOCAL_MAX_PDU)
        .connection_timeout(options.timeout)
        .read_timeout(options.timeout)
        .write_timeout(options.timeout);
    for context in contexts {
        request = request.with_presentation_context(
            context.abstract_syntax.as_str(),
            context
                .transfer_syntaxes
                .iter()
                .map(String::as_str)
                .collect(),
        );
    }
    for class in scp_roles {
        request = request.with_role_selection(*class, false, true);
    }
    let credentials = &options.credentials;
    if let Some(token) = &credentials.token {
        request = request.jwt(token.expose());
    } else if let Some(user) = &credentials.user {
        request = match &credentials.password {
            Some(password) => request.username_password(user.as_str(), password.expose()),
            None => request.username(user.as_str()),
        };
    }
    let assoc = request
        .establish(node.address())
        .map_err(|e| association_error(&peer, e, !credentials.is_empty()))?;
    Ok(Link::new(assoc, peer))
}

/// The transfer syntax `uid` from the registry, or a protocol error.
pub fn transfer_syntax(
    peer: &str,
    uid: &str,
) -> NetResult<&'static dicom_encoding::TransferSyntax> {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(uid.trim_end_matches('\0'))
        .ok_or_else(|| {
            NetError::new(
                peer,
                NetErrorKind::Protocol(format!("unknown transfer syntax {uid}")),
            )
        })
}
