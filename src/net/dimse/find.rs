//! C-FIND with the Study Root Query/Retrieve Information Model (PS3.4
//! C.4.1): the identifier from [`QueryKeys::identifier`], every pending
//! response's identifier turned into a row.
//!
//! Text in the answers is decoded by `dicom-object`'s data set reader,
//! which switches its decoder when it meets Specific Character Set
//! (0008,0005) in the answer (checked by this module's tests for ISO_IR 100
//! and ISO_IR 192), so a Latin-1 name comes out as the same text as a
//! UTF-8 one.

use dicom_object::InMemDicomObject;

use super::DimseOptions;
use super::association::{Link, connect, transfer_syntax};
use super::command::{
    C_CANCEL_RQ, C_FIND_RQ, C_FIND_RSP, Command, StatusClass, describe_response_status,
};
use super::syntaxes::{EXPLICIT_VR_LE, IMPLICIT_VR_LE, ProposedContext, STUDY_ROOT_FIND};
use crate::net::error::{NetErrorKind, NetResult};
use crate::net::node::DimseNode;
use crate::net::query::{QueryKeys, Row, row_from_object};

/// The most matches one query returns; beyond it the query is cancelled
/// and the user asked to narrow it, rather than memory growing without end.
pub const MAX_MATCHES: usize = 50_000;

/// Runs the query; see [`super::find`].
pub fn find(node: &DimseNode, options: &DimseOptions, keys: &QueryKeys) -> NetResult<Vec<Row>> {
    let contexts = [ProposedContext::new(
        STUDY_ROOT_FIND,
        &[EXPLICIT_VR_LE, IMPLICIT_VR_LE],
    )];
    let mut link = connect(node, options, &contexts, &[])?;
    match query(&mut link, keys) {
        Ok(rows) => {
            link.release();
            Ok(rows)
        }
        Err(e) => {
            link.abort();
            Err(e)
        }
    }
}

fn query<A>(link: &mut Link<A>, keys: &QueryKeys) -> NetResult<Vec<Row>>
where
    A: dicom_ul::association::SyncAssociation<std::net::TcpStream>,
{
    let context = link
        .context_for(STUDY_ROOT_FIND)
        .ok_or_else(|| {
            link.error(NetErrorKind::Refused(
                "the peer does not accept Study Root C-FIND".into(),
            ))
        })?
        .clone();
    let ts = transfer_syntax(link.peer(), &context.transfer_syntax)?;
    let mut identifier = Vec::new();
    keys.identifier()
        .write_dataset_with_ts(&mut identifier, ts)
        .map_err(|e| link.error(NetErrorKind::Local(format!("cannot encode the query: {e}"))))?;
    let message_id = 1;
    let request = Command::request(C_FIND_RQ, STUDY_ROOT_FIND, message_id, true);
    link.send(context.id, &request, Some(&identifier))?;
    let mut rows = Vec::new();
    loop {
        let response = link.expect_message("a C-FIND response")?;
        let command = &response.command;
        if command.field != C_FIND_RSP || command.responding_to != Some(message_id) {
            return Err(link.error(NetErrorKind::Protocol(format!(
                "expected a C-FIND response to message {message_id}, got command 0x{:04X}",
                command.field
            ))));
        }
        match command.status_class() {
            StatusClass::Pending => {
                // A pending response without an identifier carries no match.
                let Some(data) = &response.data else { continue };
                let answer =
                    InMemDicomObject::read_dataset_with_ts(&data[..], ts).map_err(|e| {
                        link.error(NetErrorKind::Protocol(format!(
                            "an answer does not parse: {e}"
                        )))
                    })?;
                rows.push(row_from_object(&answer, keys.level));
                if rows.len() > MAX_MATCHES {
                    let cancel = Command::request(C_CANCEL_RQ, STUDY_ROOT_FIND, message_id, false);
                    let _ = link.send(context.id, &cancel, None);
                    return Err(link.error(NetErrorKind::Incomplete(format!(
                        "more than {MAX_MATCHES} matches: narrow the query"
                    ))));
                }
            }
            StatusClass::Success | StatusClass::Warning => return Ok(rows),
            StatusClass::Cancel => {
                return Err(link.error(NetErrorKind::Incomplete(
                    "the peer cancelled the query".into(),
                )));
            }
            StatusClass::Failure => {
                let comment = command
                    .error_comment
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                return Err(link.error(NetErrorKind::Refused(format!(
                    "C-FIND status {}{comment}",
                    describe_response_status(command)
                ))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;

    use crate::net::query::{Level, row_from_object};

    /// An Implicit VR Little Endian element.
    fn element(tag: (u16, u16), value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    fn answer(charset: &[u8], name: &[u8]) -> InMemDicomObject {
        let mut bytes = element((0x0008, 0x0005), charset);
        bytes.extend(element((0x0010, 0x0010), name));
        bytes.extend(element((0x0020, 0x000D), b"1.2.3\0"));
        let ts = super::transfer_syntax("test", super::IMPLICIT_VR_LE).unwrap();
        InMemDicomObject::read_dataset_with_ts(&bytes[..], ts).unwrap()
    }

    #[test]
    fn names_are_decoded_per_specific_character_set() {
        let latin1 = answer(b"ISO_IR 100", b"M\xFCller^J\xFCrgen ");
        let utf8 = answer(b"ISO_IR 192", "Müller^Jürgen ".as_bytes());
        for obj in [&latin1, &utf8] {
            let row = row_from_object(obj, Level::Study);
            assert_eq!(row["PatientName"], "Müller^Jürgen");
            assert_eq!(row["StudyInstanceUID"], "1.2.3");
        }
    }

    #[test]
    fn the_identifier_round_trips_in_both_offered_syntaxes() {
        let keys = crate::net::query::QueryKeys {
            patient_name: Some("Müller*".into()),
            ..Default::default()
        };
        for uid in [super::EXPLICIT_VR_LE, super::IMPLICIT_VR_LE] {
            let ts = super::transfer_syntax("test", uid).unwrap();
            let mut bytes = Vec::new();
            keys.identifier()
                .write_dataset_with_ts(&mut bytes, ts)
                .unwrap();
            let back = InMemDicomObject::read_dataset_with_ts(&bytes[..], ts).unwrap();
            assert_eq!(
                back.element(tags::PATIENT_NAME).unwrap().to_str().unwrap(),
                "Müller*"
            );
        }
    }
}
