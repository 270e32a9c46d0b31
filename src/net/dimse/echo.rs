//! C-ECHO (Verification SOP Class, PS3.4 A): is the peer there and does
//! it accept Hilum's AE title.

use std::time::{Duration, Instant};

use super::DimseOptions;
use super::association::connect;
use super::command::{C_ECHO_RQ, C_ECHO_RSP, Command, StatusClass, describe_response_status};
use super::syntaxes::{EXPLICIT_VR_LE, IMPLICIT_VR_LE, ProposedContext, VERIFICATION};
use crate::net::error::{NetErrorKind, NetResult};
use crate::net::node::DimseNode;

/// Sends one C-ECHO-RQ and returns how long its response took; the
/// association's set-up and release are not counted, so the figure
/// compares across peers.
pub fn echo(node: &DimseNode, options: &DimseOptions) -> NetResult<Duration> {
    let contexts = [ProposedContext::new(
        VERIFICATION,
        &[EXPLICIT_VR_LE, IMPLICIT_VR_LE],
    )];
    let mut link = connect(node, options, &contexts, &[])?;
    let result = (|| {
        let context = link
            .context_for(VERIFICATION)
            .ok_or_else(|| {
                link.error(NetErrorKind::Refused(
                    "the peer does not accept C-ECHO".into(),
                ))
            })?
            .id;
        let request = Command::request(C_ECHO_RQ, VERIFICATION, 1, false);
        let start = Instant::now();
        link.send(context, &request, None)?;
        let response = link.expect_message("the C-ECHO response")?;
        let elapsed = start.elapsed();
        let command = &response.command;
        if command.field != C_ECHO_RSP || command.responding_to != Some(1) {
            return Err(link.error(NetErrorKind::Protocol(format!(
                "expected the C-ECHO response, got command 0x{:04X}",
                command.field
            ))));
        }
        match command.status_class() {
            StatusClass::Success | StatusClass::Warning => Ok(elapsed),
            _ => Err(link.error(NetErrorKind::Refused(format!(
                "C-ECHO status {}",
                describe_response_status(command)
            )))),
        }
    })();
    match result {
        Ok(elapsed) => {
            link.release();
            Ok(elapsed)
        }
        Err(e) => {
            link.abort();
            Err(e)
        }
    }
}
