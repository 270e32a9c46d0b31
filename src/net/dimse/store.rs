//! C-STORE as a user (`hilum pacs send`): each Part 10 file's data set is
//! sent as stored, in its own transfer syntax when the peer accepts it.
//!
//! Contexts are proposed per SOP class and transfer syntax present: the
//! file's own syntax first, then Explicit and Implicit VR Little Endian as
//! fallbacks when its pixel data is native, since those can be rewritten
//! without a codec. A compressed file the peer will not take as it is
//! fails with the reason instead of being decompressed: sending it changed
//! would not be "as stored". One bad file never stops the others; a broken
//! association is re-established for the files left.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use dicom_ul::association::ClientAssociation;

use super::DimseOptions;
use super::association::{Link, connect, transfer_syntax};
use super::command::{C_STORE_RQ, C_STORE_RSP, Command, StatusClass, describe_response_status};
use super::syntaxes::{EXPLICIT_VR_LE, IMPLICIT_VR_LE, MAX_CONTEXTS, ProposedContext, is_native};
use crate::net::error::{NetError, NetResult};
use crate::net::node::DimseNode;

/// How many times the association is made again after breaking, per
/// batch of files, before the rest are reported as failed.
const MAX_RECONNECTS: usize = 3;

/// A file to send, from its meta group.
struct Outgoing {
    path: PathBuf,
    class: String,
    instance: String,
    ts: String,
}

impl Outgoing {
    /// The presentation context this file needs.
    fn key(&self) -> (String, String) {
        (self.class.clone(), self.ts.clone())
    }
}

/// Reads `path` whole and returns its meta group and where the data set
/// starts (after the preamble, `DICM` and the group's 12-byte length
/// element plus the length it states).
fn read_file(path: &Path) -> Result<(FileMetaTable, Vec<u8>, usize), String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Err("not a DICOM Part 10 file (no preamble and file meta group)".into());
    }
    let meta = FileMetaTable::from_reader(&bytes[128..])
        .map_err(|e| format!("the file meta group does not parse: {e}"))?;
    let start = 132usize + 12 + meta.information_group_length as usize;
    if start > bytes.len() {
        return Err("the file meta group is longer than the file".into());
    }
    Ok((meta, bytes, start))
}

/// The UIDs of a meta group without their padding.
fn uid(text: &str) -> String {
    text.trim_end_matches(['\0', ' ']).to_string()
}

/// Reads each file's meta group; unreadable files are reported at once.
fn prepare(paths: &[PathBuf], report: &mut dyn FnMut(&Path, Result<(), String>)) -> Vec<Outgoing> {
    let mut files = Vec::new();
    for path in paths {
        match read_file(path) {
            Ok((meta, _, _)) => files.push(Outgoing {
                path: path.clone(),
                class: uid(meta.media_storage_sop_class_uid()),
                instance: uid(meta.media_storage_sop_instance_uid()),
                ts: uid(meta.transfer_syntax()),
            }),
            Err(why) => report(path, Err(why)),
        }
    }
    files
}

/// Splits the files into batches whose contexts fit one association,
/// keeping their order within each batch.
fn batches(files: Vec<Outgoing>) -> Vec<(Vec<ProposedContext>, Vec<Outgoing>)> {
    // Per batch: the (class, transfer syntax) pairs and the files.
    type Batch = (Vec<(String, String)>, Vec<Outgoing>);
    let mut batches: Vec<Batch> = Vec::new();
    for file in files {
        let key = file.key();
        let index = batches
            .iter()
            .position(|(keys, _)| keys.contains(&key))
            .or_else(|| {
                batches
                    .iter()
                    .position(|(keys, _)| keys.len() < MAX_CONTEXTS)
            });
        let index = index.unwrap_or_else(|| {
            batches.push((Vec::new(), Vec::new()));
            batches.len() - 1
        });
        let (keys, members) = &mut batches[index];
        if !keys.contains(&key) {
            keys.push(key);
        }
        members.push(file);
    }
    batches
        .into_iter()
        .map(|(keys, members)| {
            let contexts = keys
                .iter()
                .map(|(class, ts)| {
                    let mut syntaxes = vec![ts.as_str()];
                    if is_native(ts) {
                        for fallback in [EXPLICIT_VR_LE, IMPLICIT_VR_LE] {
                            if !syntaxes.contains(&fallback) {
                                syntaxes.push(fallback);
                            }
                        }
                    }
                    ProposedContext::new(class, &syntaxes)
                })
                .collect();
            (contexts, members)
        })
        .collect()
}

/// See [`super::store`].
pub fn store(
    node: &DimseNode,
    options: &DimseOptions,
    paths: &[PathBuf],
    report: &mut dyn FnMut(&Path, Result<(), String>),
) -> NetResult<()> {
    let files = prepare(paths, report);
    let mut associated = false;
    for (contexts, members) in batches(files) {
        let mut next = 0;
        let mut reconnects = 0;
        while next < members.len() {
            let mut link = match connect(node, options, &contexts, &[]) {
                Ok(link) => link,
                Err(e) if !associated => return Err(e),
                Err(e) => {
                    for file in &members[next..] {
                        report(&file.path, Err(e.to_string()));
                    }
                    break;
                }
            };
            associated = true;
            let mut message_id: u16 = 0;
            let mut broken = false;
            while next < members.len() {
                let file = &members[next];
                next += 1;
                message_id = message_id.wrapping_add(1).max(1);
                match send_file(&mut link, file, message_id) {
                    Ok(outcome) => report(&file.path, outcome),
                    Err(e) => {
                        report(&file.path, Err(e.to_string()));
                        broken = true;
                        break;
                    }
                }
            }
            if broken {
                link.abort();
                reconnects += 1;
                if reconnects > MAX_RECONNECTS {
                    for file in &members[next..] {
                        report(
                            &file.path,
                            Err("not sent: the association kept breaking".into()),
                        );
                    }
                    break;
                }
            } else {
                link.release();
            }
        }
    }
    Ok(())
}

/// Sends one file. The outer error is the association's (it is then
/// unusable); the inner one is this file's.
fn send_file(
    link: &mut Link<ClientAssociation<TcpStream>>,
    file: &Outgoing,
    message_id: u16,
) -> Result<Result<(), String>, NetError> {
    let (_, bytes, start) = match read_file(&file.path) {
        Ok(read) => read,
        Err(why) => return Ok(Err(why)),
    };
    let dataset = &bytes[start..];
    let same = link
        .contexts()
        .find(|pc| pc.abstract_syntax == file.class && pc.transfer_syntax == file.ts)
        .map(|pc| pc.id);
    let (context_id, payload) = match same {
        Some(id) => (id, std::borrow::Cow::Borrowed(dataset)),
        None if is_native(&file.ts) => {
            let Some(context) = link
                .contexts()
                .find(|pc| pc.abstract_syntax == file.class && is_native(&pc.transfer_syntax))
                .cloned()
            else {
                return Ok(Err(format!(
                    "the peer does not accept SOP class {}",
                    file.class
                )));
            };
            match transcode(link.peer(), dataset, &file.ts, &context.transfer_syntax) {
                Ok(converted) => (context.id, std::borrow::Cow::Owned(converted)),
                Err(why) => return Ok(Err(why)),
            }
        }
        None => {
            return Ok(Err(format!(
                "the peer does not accept SOP class {} in transfer syntax {} (compressed data is sent as stored, not decompressed)",
                file.class, file.ts
            )));
        }
    };
    let mut request = Command::request(C_STORE_RQ, &file.class, message_id, true);
    request.affected_sop_instance = Some(file.instance.clone());
    link.send(context_id, &request, Some(&payload))?;
    let response = link.expect_message("the C-STORE response")?;
    let command = &response.command;
    if command.field != C_STORE_RSP || command.responding_to != Some(message_id) {
        return Err(
            link.error(crate::net::error::NetErrorKind::Protocol(format!(
                "expected the C-STORE response to message {message_id}, got command 0x{:04X}",
                command.field
            ))),
        );
    }
    Ok(match command.status_class() {
        StatusClass::Success | StatusClass::Warning => Ok(()),
        _ => {
            let comment = command
                .error_comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Err(format!(
                "C-STORE status {}{comment}",
                describe_response_status(command)
            ))
        }
    })
}

/// Rewrites a data set with native pixel data from one transfer syntax to
/// another (byte order, explicit or implicit VR, deflate) via `dicom-object`.
fn transcode(peer: &str, dataset: &[u8], from: &str, to: &str) -> Result<Vec<u8>, String> {
    let from_ts = transfer_syntax(peer, from).map_err(|e| e.kind.to_string())?;
    let to_ts = transfer_syntax(peer, to).map_err(|e| e.kind.to_string())?;
    let object = InMemDicomObject::read_dataset_with_ts(dataset, from_ts)
        .map_err(|e| format!("cannot read the data set to convert it to {to}: {e}"))?;
    let mut out = Vec::new();
    object
        .write_dataset_with_ts(&mut out, to_ts)
        .map_err(|e| format!("cannot convert the data set to {to}: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(class: &str, ts: &str) -> Outgoing {
        Outgoing {
            path: PathBuf::from(format!("{class}-{ts}")),
            class: class.into(),
            instance: "1.2.3".into(),
            ts: ts.into(),
        }
    }

    #[test]
    fn contexts_offer_the_files_own_syntax_then_native_fallbacks() {
        let files = vec![
            outgoing("1.2.840.10008.5.1.4.1.1.4", EXPLICIT_VR_LE),
            outgoing("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.2.4.90"),
            outgoing("1.2.840.10008.5.1.4.1.1.4", EXPLICIT_VR_LE),
            outgoing("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.2"),
        ];
        let planned = batches(files);
        assert_eq!(planned.len(), 1);
        let (contexts, members) = &planned[0];
        assert_eq!(members.len(), 4);
        assert_eq!(contexts.len(), 3);
        assert_eq!(
            contexts[0].transfer_syntaxes,
            vec![EXPLICIT_VR_LE, IMPLICIT_VR_LE]
        );
        assert_eq!(
            contexts[1].transfer_syntaxes,
            vec!["1.2.840.10008.1.2.4.90"]
        );
        assert_eq!(
            contexts[2].transfer_syntaxes,
            vec!["1.2.840.10008.1.2.2", EXPLICIT_VR_LE, IMPLICIT_VR_LE]
        );
    }

    #[test]
    fn more_classes_than_one_association_holds_are_split() {
        let files: Vec<Outgoing> = (0..300)
            .map(|n| outgoing(&format!("1.2.3.{n}"), EXPLICIT_VR_LE))
            .collect();
        let planned = batches(files);
        assert_eq!(planned.len(), 3);
        assert!(
            planned
                .iter()
                .all(|(contexts, _)| contexts.len() <= MAX_CONTEXTS)
        );
        assert_eq!(planned.iter().map(|(_, m)| m.len()).sum::<usize>(), 300);
    }

    #[test]
    fn files_without_a_meta_group_are_reported_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.dcm");
        std::fs::write(&path, b"not a part 10 file").unwrap();
        let mut seen = Vec::new();
        let files = prepare(std::slice::from_ref(&path), &mut |p, outcome| {
            seen.push((p.to_path_buf(), outcome))
        });
        assert!(files.is_empty());
        assert!(seen[0].1.as_ref().unwrap_err().contains("Part 10"));
    }
}
