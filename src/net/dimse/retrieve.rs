//! C-GET and C-MOVE with the Study Root Query/Retrieve Information Model
//! (PS3.4 C.4.2, C.4.3).
//!
//! C-GET brings the instances back on the same association: the peer
//! interleaves C-STORE requests (Hilum in the SCP role for the storage
//! classes) with pending C-GET responses that count the sub-operations.
//! C-MOVE makes the peer open its own association to a Store SCP, here one
//! Hilum starts on loopback for the duration of the move. Both end the
//! same way: success only when every sub-operation completed.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_ul::association::SyncAssociation;

use super::association::{Link, connect, transfer_syntax};
use super::command::{
    C_GET_RQ, C_GET_RSP, C_MOVE_RQ, C_MOVE_RSP, C_STORE_RQ, Command, StatusClass, describe_counts,
    describe_response_status,
};
use super::scp::{ScpEvent, answer_store, listen, run};
use super::syntaxes::{
    EXPLICIT_VR_LE, IMPLICIT_VR_LE, ProposedContext, STORAGE_CLASSES, STUDY_ROOT_GET,
    STUDY_ROOT_MOVE, get_contexts,
};
use super::{DimseOptions, GetProgress};
use crate::net::error::{NetError, NetErrorKind, NetResult};
use crate::net::node::DimseNode;
use crate::net::query::{Level, QueryKeys, is_valid_uid};
use crate::net::store::{InstanceWriter, StoredInstance};

/// The most messages one retrieval handles: far beyond any study (two per
/// instance), so only a peer that never ends is stopped by it.
const MAX_MESSAGES: usize = 4_000_000;

/// The message ID of Hilum's retrieve request (one per association).
const MESSAGE_ID: u16 = 1;

/// What a retrieval has seen so far.
#[derive(Default)]
struct Tally {
    progress: GetProgress,
    stored: usize,
    /// Written but not yet reported: each instance is reported with the
    /// counts of the response that follows it.
    unreported: Vec<StoredInstance>,
    /// Why instances could not be kept on Hilum's side.
    local_failures: Vec<String>,
}

impl Tally {
    fn count(&mut self, command: &Command) {
        let get = |v: Option<u16>| v.map(u32::from);
        self.progress = GetProgress {
            completed: get(command.completed).unwrap_or(self.progress.completed),
            remaining: get(command.remaining),
            failed: get(command.failed).unwrap_or(self.progress.failed),
            warning: get(command.warning).unwrap_or(self.progress.warning),
        };
    }

    fn report(&mut self, progress: &mut dyn FnMut(GetProgress, &StoredInstance)) {
        for stored in self.unreported.drain(..) {
            progress(self.progress, &stored);
        }
    }

    fn take(&mut self, event: ScpEvent) {
        match event {
            ScpEvent::Stored(stored) => {
                self.stored += 1;
                self.unreported.push(stored);
            }
            ScpEvent::StoreFailed {
                reason,
                sop_instance_uid,
                ..
            } => {
                self.local_failures
                    .push(format!("{sop_instance_uid}: {reason}"));
            }
            ScpEvent::Refused { reason, .. } | ScpEvent::Failed { reason, .. } => {
                self.local_failures.push(reason);
            }
        }
    }
}

/// The identifier of a retrieve: the level and the keys that name the
/// study (and series).
fn identifier(study_uid: &str, series_uid: Option<&str>) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    let level = if series_uid.is_some() {
        "SERIES"
    } else {
        "STUDY"
    };
    obj.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from(level),
    ));
    obj.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(study_uid),
    ));
    if let Some(series) = series_uid {
        obj.put(DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(series),
        ));
    }
    obj
}

/// Sends the C-GET or C-MOVE request on the context for `model`.
fn request<A: SyncAssociation<TcpStream>>(
    link: &mut Link<A>,
    model: &str,
    field: u16,
    move_destination: Option<&str>,
    study_uid: &str,
    series_uid: Option<&str>,
) -> NetResult<()> {
    let what = if field == C_GET_RQ { "C-GET" } else { "C-MOVE" };
    let context = link
        .context_for(model)
        .ok_or_else(|| {
            link.error(NetErrorKind::Refused(format!(
                "the peer does not accept Study Root {what}"
            )))
        })?
        .clone();
    let ts = transfer_syntax(link.peer(), &context.transfer_syntax)?;
    let mut data = Vec::new();
    identifier(study_uid, series_uid)
        .write_dataset_with_ts(&mut data, ts)
        .map_err(|e| {
            link.error(NetErrorKind::Local(format!(
                "cannot encode the {what} identifier: {e}"
            )))
        })?;
    let mut command = Command::request(field, model, MESSAGE_ID, true);
    command.move_destination = move_destination.map(str::to_string);
    link.send(context.id, &command, Some(&data))
}

/// The end of a retrieval from its final response.
fn conclude(peer: &str, what: &str, command: &Command, tally: &Tally) -> NetResult<()> {
    let counts = describe_counts(command);
    let local = match tally.local_failures.first() {
        Some(first) => format!(
            "; Hilum could not keep {} instance(s), first: {first}",
            tally.local_failures.len()
        ),
        None => String::new(),
    };
    let failed = command.failed.unwrap_or(0) > 0 || command.warning.unwrap_or(0) > 0;
    let status = describe_response_status(command);
    let incomplete = |why: String| Err(NetError::new(peer, NetErrorKind::Incomplete(why)));
    match command.status_class() {
        StatusClass::Success if !failed && tally.local_failures.is_empty() => Ok(()),
        StatusClass::Success | StatusClass::Warning => {
            incomplete(format!("{what}: {counts} (status {status}){local}"))
        }
        StatusClass::Cancel => incomplete(format!("{what} cancelled by the peer: {counts}{local}")),
        StatusClass::Pending => Err(NetError::new(
            peer,
            NetErrorKind::Protocol(format!("{what} ended on a pending status")),
        )),
        StatusClass::Failure => {
            let nothing_done = command.completed.unwrap_or(0) == 0 && !failed && tally.stored == 0;
            let comment = command
                .error_comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            if nothing_done {
                Err(NetError::new(
                    peer,
                    NetErrorKind::Refused(format!("{what} status {status}{comment}{local}")),
                ))
            } else {
                incomplete(format!("{what} status {status}{comment}: {counts}{local}"))
            }
        }
    }
}

/// A broken association during a retrieval, saying how far it got.
fn broken(error: NetError, tally: &Tally) -> NetError {
    match error.kind {
        NetErrorKind::Connection(why) => NetError::new(
            error.peer,
            NetErrorKind::Connection(format!(
                "{why} after {} instance(s); only complete instances were kept",
                tally.stored
            )),
        ),
        kind => NetError::new(error.peer, kind),
    }
}

/// The most series whose SOP classes are looked up before a C-GET.
const MAX_SERIES_LOOKED_UP: usize = 200;

/// The SOP classes of the study (or series), found by C-FIND on their own
/// association before the C-GET, so the GET can offer those classes a
/// context in every transfer syntax. A peer that does not answer
/// instance-level queries gives an empty list, and the GET falls back to
/// one context per class.
fn classes_in(
    node: &DimseNode,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
) -> Vec<String> {
    // SOP Classes in Study (an optional study-level key that Orthanc,
    // dcm4chee and others answer) costs one small query; only without it
    // are the study's instances listed.
    let study = QueryKeys {
        level: Level::Study,
        study_uid: Some(study_uid.to_string()),
        ..Default::default()
    };
    let in_study: Vec<String> = super::find(node, options, &study)
        .unwrap_or_default()
        .first()
        .and_then(|row| row.get("SOPClassesInStudy")?.as_str().map(str::to_string))
        .map(|classes| {
            classes
                .split('\\')
                .map(|c| c.trim_end_matches(['\0', ' ']).to_string())
                .filter(|c| is_valid_uid(c))
                .collect()
        })
        .unwrap_or_default();
    if !in_study.is_empty() {
        return in_study;
    }
    let series: Vec<String> = match series_uid {
        Some(series) => vec![series.to_string()],
        None => {
            let keys = QueryKeys {
                level: Level::Series,
                study_uid: Some(study_uid.to_string()),
                ..Default::default()
            };
            super::find(node, options, &keys)
                .unwrap_or_default()
                .iter()
                .filter_map(|row| row.get("SeriesInstanceUID")?.as_str().map(str::to_string))
                .take(MAX_SERIES_LOOKED_UP)
                .collect()
        }
    };
    let mut classes: Vec<String> = Vec::new();
    for series in series {
        let keys = QueryKeys {
            level: Level::Instance,
            study_uid: Some(study_uid.to_string()),
            series_uid: Some(series),
            ..Default::default()
        };
        for row in super::find(node, options, &keys).unwrap_or_default() {
            if let Some(class) = row.get("SOPClassUID").and_then(|v| v.as_str())
                && !classes.iter().any(|c| c == class)
            {
                classes.push(class.to_string());
            }
        }
    }
    classes
}

/// See [`super::get`].
pub fn get(
    node: &DimseNode,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
    writer: &mut InstanceWriter,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<()> {
    let present = classes_in(node, options, study_uid, series_uid);
    let mut link = connect(node, options, &get_contexts(&present), STORAGE_CLASSES)?;
    let mut tally = Tally::default();
    let result = run_get(
        &mut link, study_uid, series_uid, writer, &mut tally, progress,
    );
    tally.report(progress);
    match result {
        Ok(final_response) => {
            link.release();
            conclude(&node.label(), "C-GET", &final_response, &tally)
        }
        Err(e) => {
            link.abort();
            Err(broken(e, &tally))
        }
    }
}

fn run_get<A: SyncAssociation<TcpStream>>(
    link: &mut Link<A>,
    study_uid: &str,
    series_uid: Option<&str>,
    writer: &mut InstanceWriter,
    tally: &mut Tally,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<Command> {
    request(link, STUDY_ROOT_GET, C_GET_RQ, None, study_uid, series_uid)?;
    for _ in 0..MAX_MESSAGES {
        let message = link.expect_message("C-GET responses")?;
        match message.command.field {
            C_STORE_RQ => {
                let instance = message
                    .command
                    .affected_sop_instance
                    .clone()
                    .unwrap_or_default();
                match answer_store(link, message, writer)? {
                    Ok(stored) => tally.take(ScpEvent::Stored(stored)),
                    Err(reason) => tally.local_failures.push(format!("{instance}: {reason}")),
                }
            }
            C_GET_RSP => {
                let command = message.command;
                check_response(link, &command)?;
                tally.count(&command);
                if command.status_class() != StatusClass::Pending {
                    return Ok(command);
                }
                tally.report(progress);
            }
            other => {
                return Err(link.error(NetErrorKind::Protocol(format!(
                    "command 0x{other:04X} during a C-GET"
                ))));
            }
        }
    }
    Err(link.error(NetErrorKind::Protocol(format!(
        "more than {MAX_MESSAGES} messages in one C-GET"
    ))))
}

/// A retrieve response must answer Hilum's request.
fn check_response<A: SyncAssociation<TcpStream>>(
    link: &Link<A>,
    command: &Command,
) -> NetResult<()> {
    if command.responding_to != Some(MESSAGE_ID) {
        return Err(link.error(NetErrorKind::Protocol(format!(
            "a response to message {:?}, not to Hilum's request {MESSAGE_ID}",
            command.responding_to
        ))));
    }
    Ok(())
}

/// See [`super::move_to_self`].
pub fn move_to_self(
    node: &DimseNode,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
    listen_port: u16,
    writer: &mut InstanceWriter,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<()> {
    let bind = SocketAddr::from(([127, 0, 0, 1], listen_port));
    let listener = listen(&options.calling_aet, bind)?;
    let stop = AtomicBool::new(false);
    let (events, received) = mpsc::channel::<ScpEvent>();
    let mut tally = Tally::default();
    let (result, scp_result) = std::thread::scope(|scope| {
        let scp = scope.spawn(|| {
            let mut send = |event: &ScpEvent| {
                let _ = events.send(event.clone());
            };
            run(
                &listener,
                &options.calling_aet,
                None,
                writer,
                &stop,
                &mut send,
                options.timeout,
            )
        });
        let result = (|| {
            let contexts = [ProposedContext::new(
                STUDY_ROOT_MOVE,
                &[EXPLICIT_VR_LE, IMPLICIT_VR_LE],
            )];
            let mut link = connect(node, options, &contexts, &[])?;
            match run_move(
                &mut link, options, study_uid, series_uid, &received, &mut tally, progress,
            ) {
                Ok(command) => {
                    link.release();
                    Ok(command)
                }
                Err(e) => {
                    link.abort();
                    Err(e)
                }
            }
        })();
        // Every sub-operation has been answered by now (a peer sends the
        // final response after them), so the SCP can stop.
        stop.store(true, Ordering::Relaxed);
        let scp_result = scp.join();
        (result, scp_result)
    });
    for event in received.try_iter() {
        tally.take(event);
    }
    tally.report(progress);
    match scp_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(NetError::new(
                options.calling_aet.clone(),
                NetErrorKind::Local("the Store SCP of the move stopped unexpectedly".into()),
            ));
        }
    }
    match result {
        Ok(command) => conclude(&node.label(), "C-MOVE", &command, &tally),
        Err(e) => Err(broken(e, &tally)),
    }
}

fn run_move<A: SyncAssociation<TcpStream>>(
    link: &mut Link<A>,
    options: &DimseOptions,
    study_uid: &str,
    series_uid: Option<&str>,
    received: &mpsc::Receiver<ScpEvent>,
    tally: &mut Tally,
    progress: &mut dyn FnMut(GetProgress, &StoredInstance),
) -> NetResult<Command> {
    let destination = Some(options.calling_aet.as_str());
    request(
        link,
        STUDY_ROOT_MOVE,
        C_MOVE_RQ,
        destination,
        study_uid,
        series_uid,
    )?;
    for _ in 0..MAX_MESSAGES {
        let message = link.expect_message("C-MOVE responses")?;
        let command = message.command;
        if command.field != C_MOVE_RSP {
            return Err(link.error(NetErrorKind::Protocol(format!(
                "command 0x{:04X} during a C-MOVE",
                command.field
            ))));
        }
        check_response(link, &command)?;
        tally.count(&command);
        for event in received.try_iter() {
            tally.take(event);
        }
        if command.status_class() != StatusClass::Pending {
            return Ok(command);
        }
        tally.report(progress);
    }
    Err(link.error(NetErrorKind::Protocol(format!(
        "more than {MAX_MESSAGES} messages in one C-MOVE"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn final_response(status: u16, completed: u16, failed: u16, warning: u16) -> Command {
        Command {
            field: C_GET_RSP,
            responding_to: Some(MESSAGE_ID),
            status: Some(status),
            completed: Some(completed),
            failed: Some(failed),
            warning: Some(warning),
            ..Default::default()
        }
    }

    #[test]
    fn retrievals_succeed_only_when_every_sub_operation_completed() {
        let tally = Tally::default();
        assert!(conclude("p", "C-GET", &final_response(0x0000, 3, 0, 0), &tally).is_ok());
        let err = conclude("p", "C-GET", &final_response(0xB000, 2, 1, 0), &tally).unwrap_err();
        assert!(
            matches!(&err.kind, NetErrorKind::Incomplete(why) if why.contains("2 completed, 1 failed")),
            "{err}"
        );
        let err = conclude("p", "C-GET", &final_response(0x0000, 2, 0, 1), &tally).unwrap_err();
        assert!(matches!(err.kind, NetErrorKind::Incomplete(_)), "{err}");
        let err = conclude("p", "C-GET", &final_response(0xA900, 0, 0, 0), &tally).unwrap_err();
        assert!(
            matches!(&err.kind, NetErrorKind::Refused(why) if why.contains("0xA900")),
            "{err}"
        );
        let err = conclude("p", "C-MOVE", &final_response(0xA702, 1, 2, 0), &tally).unwrap_err();
        assert!(matches!(err.kind, NetErrorKind::Incomplete(_)), "{err}");
        let mut local = Tally::default();
        local.local_failures.push("1.2.3: disk full".into());
        let err = conclude("p", "C-GET", &final_response(0x0000, 3, 0, 0), &local).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }

    #[test]
    fn the_identifier_names_the_level() {
        let study = identifier("1.2.3", None);
        assert_eq!(
            study
                .element(tags::QUERY_RETRIEVE_LEVEL)
                .unwrap()
                .to_str()
                .unwrap(),
            "STUDY"
        );
        let series = identifier("1.2.3", Some("1.2.3.4"));
        assert_eq!(
            series
                .element(tags::QUERY_RETRIEVE_LEVEL)
                .unwrap()
                .to_str()
                .unwrap(),
            "SERIES"
        );
        assert_eq!(
            series
                .element(tags::SERIES_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap(),
            "1.2.3.4"
        );
    }
}
