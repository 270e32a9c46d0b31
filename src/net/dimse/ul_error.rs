//! `dicom-ul` errors as Hilum's typed [`NetError`]s: a rejected
//! association with its reason, a timeout, a closed connection, a
//! malformed PDU. Nothing here formats a PDU's content: an association
//! request carries the user identity.

use dicom_ul::association::Error as UlError;
use dicom_ul::pdu::{
    AssociationRJResult, AssociationRJServiceUserReason, AssociationRJSource, Pdu,
};

use crate::net::error::{NetError, NetErrorKind};

/// Why an association request failed, as a typed error.
pub fn association_error(peer: &str, error: UlError, sent_identity: bool) -> NetError {
    let kind = match &error {
        UlError::Rejected { association_rj, .. } => {
            let permanence = match association_rj.result {
                AssociationRJResult::Permanent => "permanently",
                AssociationRJResult::Transient => "for now",
            };
            let mut why = format!("the peer rejected the association {permanence}: {}", association_rj.source);
            if let AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized) =
                association_rj.source
            {
                why.push_str(" (the peer does not know Hilum's AE title; add it there or pass --aet)");
            }
            if sent_identity
                && matches!(
                    association_rj.source,
                    AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::NoReasonGiven)
                )
            {
                // PS3.8 has no reason code for a refused user identity;
                // peers that check one reject with "no reason given"
                // (PS3.7 D.3.3.7), so with credentials sent that is taken as
                // the credentials being refused, and said so.
                why.push_str(" (a user identity was sent: the peer refused it)");
                return NetError::new(peer, NetErrorKind::Authentication(why));
            }
            NetErrorKind::Refused(why)
        }
        UlError::NoAcceptedPresentationContexts { .. } => NetErrorKind::Refused(
            "the peer accepted none of the proposed presentation contexts (SOP classes or transfer syntaxes)".into(),
        ),
        UlError::ToAddress { source, .. } => NetErrorKind::Connection(format!("cannot resolve the address: {source}")),
        UlError::Connect { source, .. } => {
            if is_timeout_io(source) {
                NetErrorKind::Timeout(format!("no connection: {source}"))
            } else {
                NetErrorKind::Connection(format!("cannot connect: {source}"))
            }
        }
        _ => return map_ul_error(peer, "the association request failed", error),
    };
    NetError::new(peer, kind)
}

/// A `dicom-ul` error after the association was made, as a typed error:
/// timeouts, a closed connection, or a malformed PDU.
pub fn map_ul_error(peer: &str, context: &str, error: UlError) -> NetError {
    let kind = if is_timeout(&error) {
        NetErrorKind::Timeout(format!("{context}: the peer did not answer in time"))
    } else if let Some(io) = io_source(&error) {
        NetErrorKind::Connection(format!("{context}: {io}"))
    } else {
        match &error {
            UlError::ConnectionClosed { .. } => {
                NetErrorKind::Connection(format!("{context}: the peer closed the connection"))
            }
            UlError::Aborted { .. } => {
                NetErrorKind::Connection(format!("{context}: the association was aborted"))
            }
            UlError::ReceivePdu { .. }
            | UlError::UnexpectedPdu { .. }
            | UlError::UnknownPdu { .. } => {
                NetErrorKind::Protocol(format!("{context}: {}", error_chain(&error)))
            }
            UlError::SendTooLongPdu { .. } | UlError::SendPdu { .. } => {
                NetErrorKind::Protocol(format!("{context}: {}", error_chain(&error)))
            }
            _ => NetErrorKind::Connection(format!("{context}: {}", error_chain(&error))),
        }
    };
    NetError::new(peer, kind)
}

/// The I/O error at the root of `error`, if any.
fn io_source<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = e.source();
    }
    None
}

fn is_timeout_io(io: &std::io::Error) -> bool {
    matches!(
        io.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Whether `error` is a socket timeout (Linux reports an expired
/// `SO_RCVTIMEO` as `WouldBlock`).
pub fn is_timeout(error: &UlError) -> bool {
    matches!(error, UlError::Timeout { .. }) || io_source(error).is_some_and(is_timeout_io)
}

/// `error` and its sources in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A PDU's name for messages (never its content: an association request
/// carries the user identity).
pub fn pdu_name(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::Unknown { .. } => "unknown PDU",
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA-TF",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::AssociationRJ;

    fn rejected(source: AssociationRJSource) -> UlError {
        UlError::Rejected {
            association_rj: AssociationRJ {
                result: AssociationRJResult::Permanent,
                source,
            },
            backtrace: std::backtrace::Backtrace::disabled(),
        }
    }

    #[test]
    fn a_rejection_after_sending_credentials_is_an_authentication_failure() {
        let no_reason = || {
            rejected(AssociationRJSource::ServiceUser(
                AssociationRJServiceUserReason::NoReasonGiven,
            ))
        };
        let err = association_error("PACS@h:104", no_reason(), true);
        assert!(err.is_authentication(), "{err}");
        assert!(err.to_string().contains("authentication failed"), "{err}");
        // Without credentials the same rejection is a plain refusal.
        assert!(matches!(
            association_error("PACS@h:104", no_reason(), false).kind,
            NetErrorKind::Refused(_)
        ));
        // An unknown calling AE title is never blamed on the credentials.
        let aet = rejected(AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CallingAETitleNotRecognized,
        ));
        let err = association_error("PACS@h:104", aet, true);
        assert!(
            matches!(&err.kind, NetErrorKind::Refused(why) if why.contains("--aet")),
            "{err}"
        );
    }
}
