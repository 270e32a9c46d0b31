//! The Store SCP: `hilum pacs serve`, and the destination of a C-MOVE to
//! Hilum itself. It accepts Verification and the storage classes of
//! [`STORAGE_CLASSES`] in every transfer syntax Hilum decodes, from the
//! calling AE titles it is told to allow, and writes each instance as
//! received through an [`InstanceWriter`].
//!
//! Associations are served one at a time on the listening thread: a
//! viewer's SCP receives from one archive at a time, and one writer needs
//! no locking. The listener is non-blocking and an established association
//! reads with a short timeout, so a `stop` request is noticed within
//! [`POLL`] whether the SCP is idle or between messages.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dicom_ul::association::SyncAssociation;
use dicom_ul::association::server::{AccessControl, ServerAssociationOptions};
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};

use super::ScpOptions;
use super::association::{Incoming, LOCAL_MAX_PDU, Link, Message};
use super::command::{
    C_ECHO_RQ, C_STORE_RQ, CANNOT_UNDERSTAND, Command, OUT_OF_RESOURCES, SOP_CLASS_NOT_SUPPORTED,
    SUCCESS,
};
use super::syntaxes::{STORAGE_CLASSES, VERIFICATION, accepted_transfer_syntaxes};
use crate::net::error::{NetError, NetErrorKind, NetResult};
use crate::net::store::{InstanceWriter, StoredInstance};

/// How often the SCP looks at its `stop` flag.
pub const POLL: Duration = Duration::from_millis(200);

/// How long `serve` waits for the next message of an open association
/// before ending it (a peer that went silent must not hold the SCP).
pub const SERVE_IDLE: Duration = Duration::from_secs(60);

/// What happened at a Store SCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpEvent {
    /// An instance was received and written.
    Stored(StoredInstance),
    /// An instance could not be kept; the peer was told (0xA700 when it
    /// could not be written).
    StoreFailed {
        /// The calling AE title.
        calling_aet: String,
        /// The instance's SOP Instance UID, as the peer gave it.
        sop_instance_uid: String,
        /// Why.
        reason: String,
    },
    /// An association request was refused (A-ASSOCIATE-RJ).
    Refused {
        /// The calling AE title, when the request got that far.
        calling_aet: String,
        /// Why.
        reason: String,
    },
    /// An association ended in an error (aborted, broken, malformed).
    Failed {
        /// The calling AE title.
        calling_aet: String,
        /// What went wrong.
        reason: String,
    },
}

/// Who may associate: the SCP's own AE title as called AE title, and a
/// calling AE title from the allow-list (`None`: any, for the SCP of a
/// C-MOVE, which exists only while Hilum's own request runs). It records
/// the calling AE title of each request for the events.
struct AccessList {
    allowed: Option<Vec<String>>,
    last_calling: Rc<RefCell<String>>,
}

impl AccessControl for AccessList {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        *self.last_calling.borrow_mut() = calling_ae_title.trim().to_string();
        if called_ae_title.trim() != this_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        match &self.allowed {
            Some(allowed) if !allowed.iter().any(|a| a.trim() == calling_ae_title.trim()) => {
                Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
            }
            _ => Ok(()),
        }
    }
}

/// Runs the SCP of [`super::serve`], reporting every event to `on_event`.
/// Returns an error only when it cannot listen; a failed association is
/// an event, and the SCP goes on.
pub fn serve_with_events(
    options: &ScpOptions,
    writer: &mut InstanceWriter,
    stop: Arc<AtomicBool>,
    on_event: &mut dyn FnMut(&ScpEvent),
) -> NetResult<()> {
    if options.allowed_calling_aets.is_none() && !options.bind.ip().is_loopback() {
        return Err(NetError::new(
            options.aet.clone(),
            NetErrorKind::InvalidNode(format!(
                "a Store SCP on {} must name the calling AE titles it accepts",
                options.bind
            )),
        ));
    }
    let listener = listen(&options.aet, options.bind)?;
    let allowed = options.allowed_calling_aets.clone();
    run(
        &listener,
        &options.aet,
        allowed,
        writer,
        &stop,
        on_event,
        SERVE_IDLE,
    )
}

/// Binds the SCP's listening socket.
pub fn listen(aet: &str, bind: SocketAddr) -> NetResult<TcpListener> {
    let local = |why: String| NetError::new(format!("{aet}@{bind}"), NetErrorKind::Local(why));
    let listener =
        TcpListener::bind(bind).map_err(|e| local(format!("cannot listen on {bind}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| local(format!("cannot poll the listening socket: {e}")))?;
    Ok(listener)
}

/// Accepts and serves associations on `listener` until `stop` is set.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    listener: &TcpListener,
    aet: &str,
    allowed: Option<Vec<String>>,
    writer: &mut InstanceWriter,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&ScpEvent),
    idle: Duration,
) -> NetResult<()> {
    let last_calling = Rc::new(RefCell::new(String::new()));
    let access = AccessList {
        allowed,
        last_calling: Rc::clone(&last_calling),
    };
    let mut acceptor = ServerAssociationOptions::new()
        .ae_access_control(access)
        .ae_title(aet.to_string())
        .max_pdu_length(LOCAL_MAX_PDU)
        .read_timeout(idle)
        .write_timeout(idle)
        .with_abstract_syntax(VERIFICATION);
    for class in STORAGE_CLASSES {
        acceptor = acceptor.with_abstract_syntax(*class);
    }
    for ts in accepted_transfer_syntaxes() {
        acceptor = acceptor.with_transfer_syntax(ts);
    }
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, address)) => {
                let calling = || last_calling.borrow().clone();
                serve_one(
                    &acceptor, &calling, stream, address, writer, stop, on_event, idle,
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL / 4),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                return Err(NetError::new(
                    aet.to_string(),
                    NetErrorKind::Connection(format!("the listening socket failed: {e}")),
                ));
            }
        }
    }
    Ok(())
}

/// Negotiates and serves one association.
#[allow(clippy::too_many_arguments)]
fn serve_one<N: dicom_ul::association::server::Negotiation>(
    acceptor: &ServerAssociationOptions<'_, AccessList, N>,
    calling: &dyn Fn() -> String,
    stream: TcpStream,
    address: SocketAddr,
    writer: &mut InstanceWriter,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&ScpEvent),
    idle: Duration,
) {
    // An accepted socket may inherit the listener's non-blocking mode.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let assoc = match acceptor.establish(stream) {
        Ok(assoc) => assoc,
        Err(dicom_ul::association::Error::Rejected { association_rj, .. }) => {
            on_event(&ScpEvent::Refused {
                calling_aet: calling(),
                reason: format!(
                    "association from {address} rejected: {}",
                    association_rj.source
                ),
            });
            return;
        }
        Err(e) => {
            let error =
                super::association::map_ul_error(&address.to_string(), "association request", e);
            on_event(&ScpEvent::Failed {
                calling_aet: calling(),
                reason: error.to_string(),
            });
            return;
        }
    };
    let calling_aet = calling();
    let mut link = Link::new(assoc, format!("{calling_aet}@{address}"));
    if let Err(e) = link.set_read_timeout(POLL) {
        on_event(&ScpEvent::Failed {
            calling_aet,
            reason: e.to_string(),
        });
        return;
    }
    if let Err(e) = serve_messages(&mut link, &calling_aet, writer, stop, on_event, idle) {
        link.abort();
        on_event(&ScpEvent::Failed {
            calling_aet,
            reason: e.to_string(),
        });
    }
}

/// Answers messages until the peer releases, `stop` is set or an error.
fn serve_messages<A: SyncAssociation<TcpStream>>(
    link: &mut Link<A>,
    calling_aet: &str,
    writer: &mut InstanceWriter,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&ScpEvent),
    idle: Duration,
) -> NetResult<()> {
    loop {
        let message = match link.receive_until(stop, idle)? {
            None => {
                // Stopped: whatever was half received is dropped unwritten.
                link.abort();
                return Ok(());
            }
            Some(Incoming::Released) => return Ok(()),
            Some(Incoming::Message(message)) => *message,
        };
        match message.command.field {
            C_ECHO_RQ => {
                let response = Command::response_to(&message.command, SUCCESS);
                link.send(message.context_id, &response, None)?;
            }
            C_STORE_RQ => {
                let instance = message
                    .command
                    .affected_sop_instance
                    .clone()
                    .unwrap_or_default();
                match answer_store(link, message, writer)? {
                    Ok(stored) => on_event(&ScpEvent::Stored(stored)),
                    Err(reason) => on_event(&ScpEvent::StoreFailed {
                        calling_aet: calling_aet.to_string(),
                        sop_instance_uid: instance,
                        reason,
                    }),
                }
            }
            other => {
                return Err(link.error(NetErrorKind::Protocol(format!(
                    "command 0x{other:04X} is not one a Store SCP answers"
                ))));
            }
        }
    }
}

/// Writes the instance of a C-STORE-RQ through `writer` and answers it:
/// success once the file is in place, 0xA700 (out of resources) when it
/// could not be written, a failure status for a request that names no
/// instance or another class than its context. Returns what was stored,
/// or why not; an error only when the answer could not be sent.
pub(crate) fn answer_store<A: SyncAssociation<TcpStream>>(
    link: &mut Link<A>,
    message: Message,
    writer: &mut InstanceWriter,
) -> NetResult<Result<StoredInstance, String>> {
    let Message {
        context_id,
        command,
        data,
    } = message;
    let Some(data) = data else {
        return Err(link.error(NetErrorKind::Protocol(
            "a C-STORE request without a data set".into(),
        )));
    };
    let context = link.context(context_id).cloned();
    let class = command.affected_sop_class.clone().unwrap_or_default();
    let instance = command.affected_sop_instance.clone().unwrap_or_default();
    let (status, outcome) = match context {
        _ if class.is_empty() || instance.is_empty() => (
            CANNOT_UNDERSTAND,
            Err("the C-STORE request names no SOP class or instance".to_string()),
        ),
        Some(context) if context.abstract_syntax == class => {
            match writer.write_dataset(&class, &instance, &context.transfer_syntax, &data) {
                Ok(stored) => (SUCCESS, Ok(stored)),
                Err(why) => (OUT_OF_RESOURCES, Err(why)),
            }
        }
        _ => (
            SOP_CLASS_NOT_SUPPORTED,
            Err(format!(
                "SOP class {class} sent on a context for another class"
            )),
        ),
    };
    let mut response = Command::response_to(&command, status);
    if let Err(why) = &outcome {
        // Error Comment is LO: at most 64 characters.
        response.error_comment = Some(why.chars().take(64).collect());
    }
    link.send(context_id, &response, None)?;
    Ok(outcome)
}
