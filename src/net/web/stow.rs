//! STOW-RS: storing instances (PS3.18 10.5), one request per file so
//! that each file gets its own status and a large study never sits in
//! memory at once.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::WebClient;
use crate::net::error::{NetErrorKind, NetResult};

/// The largest file sent (it is read into memory for its request).
const MAX_FILE: u64 = 4 * 1024 * 1024 * 1024;

/// Sends each file; `report` is told each file's outcome. Returns an error
/// only when the service cannot be used at all (unreachable, credentials
/// refused), after which no further file is tried.
pub fn send(
    client: &WebClient,
    paths: &[PathBuf],
    report: &mut dyn FnMut(&Path, Result<(), String>),
) -> NetResult<()> {
    let boundary = format!("hilum-{}", uuid::Uuid::new_v4().simple());
    let content_type =
        format!("multipart/related; type=\"application/dicom\"; boundary={boundary}");
    for path in paths {
        let bytes = match read_part10(path) {
            Ok(bytes) => bytes,
            Err(why) => {
                report(path, Err(why));
                continue;
            }
        };
        let mut body = Vec::with_capacity(bytes.len() + 256);
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = match client.post("/studies", &content_type, &body) {
            Ok(response) => response,
            Err(e) => match e.kind {
                // The service is gone: no point trying the next file.
                NetErrorKind::Connection(_) | NetErrorKind::Tls(_) | NetErrorKind::Timeout(_) => {
                    return Err(e);
                }
                _ => {
                    report(path, Err(e.kind.to_string()));
                    continue;
                }
            },
        };
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(client.error(super::status_kind(
                status,
                response.status().canonical_reason().unwrap_or(""),
            )));
        }
        let mut text = Vec::new();
        let _ = response
            .into_body()
            .into_reader()
            .take(16 * 1024 * 1024)
            .read_to_end(&mut text);
        report(path, outcome(status, &text));
    }
    Ok(())
}

/// Reads a file that must be DICOM Part 10.
fn read_part10(path: &Path) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if size > MAX_FILE {
        return Err(format!("larger than {} GiB", MAX_FILE >> 30));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Err("not a DICOM Part 10 file (no DICM preamble)".into());
    }
    Ok(bytes)
}

/// The outcome of one STOW-RS request from its status and the Store
/// Instances Response (PS3.18 10.5.3): 200 stored; 202 stored with
/// warnings or partly failed; 409 and others failed.
fn outcome(status: u16, body: &[u8]) -> Result<(), String> {
    let response: Option<Value> = serde_json::from_slice(body).ok();
    let response = response.as_ref().map(|r| match r {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    });
    let failed = response
        .as_ref()
        .and_then(|r| r.get("00081198"))
        .and_then(|seq| seq.get("Value"))
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty());
    if let Some(items) = failed {
        let reason = items
            .first()
            .and_then(|item| item.get("00081197"))
            .and_then(|r| r.get("Value"))
            .and_then(|v| v.get(0))
            .and_then(Value::as_u64)
            .map(|code| format!(" (failure reason 0x{code:04X})"))
            .unwrap_or_default();
        return Err(format!("the service refused the instance{reason}"));
    }
    match status {
        200 | 202 => Ok(()),
        other => Err(format!("HTTP {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stow_responses_become_per_file_outcomes() {
        assert_eq!(outcome(200, b""), Ok(()));
        let refused = br#"{"00081198": {"vr": "SQ", "Value": [{"00081197": {"vr": "US", "Value": [49442]}}]}}"#;
        let err = outcome(409, refused).unwrap_err();
        assert!(err.contains("0xC122"), "{err}");
        assert!(outcome(500, b"oops").unwrap_err().contains("500"));
    }
}
