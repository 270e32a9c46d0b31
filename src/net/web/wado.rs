//! WADO-RS: retrieving a study or series as a multipart stream of Part 10
//! instances (PS3.18 10.4), each written to disk as it arrives, exactly as
//! sent. `transfer-syntax=*` asks for the stored transfer syntax, so a
//! compressed study arrives compressed (Hilum decodes every transfer
//! syntax a PACS commonly stores; the loader names any it cannot).

use std::collections::HashSet;

use super::WebClient;
use super::multipart::{Multipart, media_type, parameter};
use crate::net::error::{NetError, NetErrorKind, NetResult};
use crate::net::query::{Level, QueryKeys, is_valid_uid};
use crate::net::store::{InstanceWriter, PartError, StoredInstance};

/// What the Accept header asks for: Part 10 instances in any transfer
/// syntax, as stored.
const ACCEPT_DICOM: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

/// Where a retrieval stands, for progress reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesProgress {
    /// The series being retrieved.
    pub series_uid: String,
    /// Its position (0-based) among `series_count`.
    pub series_index: usize,
    /// Series in the retrieval.
    pub series_count: usize,
    /// Instances of this series received so far (this run).
    pub received: usize,
    /// Instances this run fetches for the series (those the service lists
    /// that are not already here), when known.
    pub expected: Option<usize>,
}

/// One series to fetch.
struct SeriesPlan {
    uid: String,
    expected: Option<usize>,
}

/// The series of the study (or the one asked for), with their sizes.
fn plan(
    client: &WebClient,
    study_uid: &str,
    series_uid: Option<&str>,
) -> NetResult<Vec<SeriesPlan>> {
    let keys = QueryKeys {
        level: Level::Series,
        study_uid: Some(study_uid.to_string()),
        series_uid: series_uid.map(str::to_string),
        ..Default::default()
    };
    let rows = super::search(client, &keys)?;
    let mut seen = HashSet::new();
    let plans: Vec<SeriesPlan> = rows
        .iter()
        .filter_map(|row| {
            let uid = row.get("SeriesInstanceUID")?.as_str()?.to_string();
            (is_valid_uid(&uid) && seen.insert(uid.clone())).then(|| SeriesPlan {
                expected: row
                    .get("NumberOfSeriesRelatedInstances")
                    .and_then(serde_json::Value::as_u64)
                    .map(|n| n as usize),
                uid,
            })
        })
        .filter(|plan| series_uid.is_none_or(|wanted| wanted == plan.uid))
        .collect();
    if plans.is_empty() {
        let what = match series_uid {
            Some(series) => format!("series {series} of study {study_uid}"),
            None => format!("study {study_uid}"),
        };
        return Err(client.error(NetErrorKind::Refused(format!("{what} not found"))));
    }
    Ok(plans)
}

/// The SOP Instance UIDs of a series, for resuming.
fn instances_of(client: &WebClient, study_uid: &str, series_uid: &str) -> NetResult<Vec<String>> {
    let keys = QueryKeys {
        level: Level::Instance,
        study_uid: Some(study_uid.to_string()),
        series_uid: Some(series_uid.to_string()),
        ..Default::default()
    };
    Ok(super::search(client, &keys)?
        .iter()
        .filter_map(|row| row.get("SOPInstanceUID")?.as_str().map(str::to_string))
        .filter(|uid| is_valid_uid(uid))
        .collect())
}

/// Retrieves a study (or one series of it) into `writer`, series by
/// series. Instances already in the writer's folder (from an interrupted
/// run) are not fetched again. Succeeds only when every instance the
/// service lists has arrived.
pub fn retrieve(
    client: &WebClient,
    study_uid: &str,
    series_uid: Option<&str>,
    writer: &mut InstanceWriter,
    progress: &mut dyn FnMut(&SeriesProgress, &StoredInstance),
) -> NetResult<()> {
    for uid in std::iter::once(study_uid).chain(series_uid) {
        if !is_valid_uid(uid) {
            return Err(client.error(NetErrorKind::InvalidNode(format!("{uid:?} is not a UID"))));
        }
    }
    let plans = plan(client, study_uid, series_uid)?;
    let mut missing_total = 0usize;
    for (index, series) in plans.iter().enumerate() {
        // The instance list says what to expect and what is already here.
        let listed = instances_of(client, study_uid, &series.uid)?;
        let present = |writer: &InstanceWriter, uid: &String| {
            writer.written().contains(uid) || writer.dir().join(format!("{uid}.dcm")).is_file()
        };
        let missing: Vec<&String> = listed.iter().filter(|uid| !present(writer, uid)).collect();
        let mut state = SeriesProgress {
            series_uid: series.uid.clone(),
            series_index: index,
            series_count: plans.len(),
            received: 0,
            expected: Some(missing.len())
                .filter(|_| !listed.is_empty())
                .or(series.expected),
        };
        let base = format!("/studies/{study_uid}/series/{}", series.uid);
        if missing.len() == listed.len() {
            // Nothing here yet (the usual case): the series in one stream.
            fetch(client, &base, writer, &mut state, progress)?;
        } else {
            for instance in missing {
                let path = format!("{base}/instances/{instance}");
                fetch(client, &path, writer, &mut state, progress)?;
            }
        }
        let arrived = listed.iter().filter(|uid| present(writer, uid)).count();
        missing_total += listed.len() - arrived;
    }
    if missing_total > 0 {
        return Err(client.error(NetErrorKind::Incomplete(format!(
            "{missing_total} instance(s) the service lists did not arrive; run the same command again to fetch the rest"
        ))));
    }
    Ok(())
}

/// GETs one WADO-RS resource and writes every part it holds.
fn fetch(
    client: &WebClient,
    path: &str,
    writer: &mut InstanceWriter,
    state: &mut SeriesProgress,
    progress: &mut dyn FnMut(&SeriesProgress, &StoredInstance),
) -> NetResult<()> {
    let response = client.get(path, &[], ACCEPT_DICOM)?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if media_type(&content_type) != "multipart/related" {
        return Err(client.error(NetErrorKind::Protocol(format!(
            "expected a multipart/related answer, got {content_type:?}"
        ))));
    }
    let boundary = parameter(&content_type, "boundary").filter(|b| !b.is_empty() && b.len() <= 200);
    let Some(boundary) = boundary else {
        return Err(client.error(NetErrorKind::Protocol(
            "the multipart answer names no (valid) boundary".into(),
        )));
    };
    let broke = |e: std::io::Error| -> NetError {
        match e.kind() {
            std::io::ErrorKind::InvalidData => client.error(NetErrorKind::Protocol(format!(
                "malformed multipart body: {e}"
            ))),
            _ => client.error(NetErrorKind::Connection(format!(
                "the transfer broke off: {e}"
            ))),
        }
    };
    let mut body = Multipart::new(response.into_body().into_reader(), &boundary);
    while let Some(headers) = body.next_part().map_err(broke)? {
        if !headers.content_type.is_empty() && headers.content_type != "application/dicom" {
            return Err(client.error(NetErrorKind::Protocol(format!(
                "a part of type {:?}, not application/dicom",
                headers.content_type
            ))));
        }
        let mut part = body.part();
        let stored = writer.write_part10(&mut part).map_err(|e| match e {
            PartError::Source(e) => broke(e),
            PartError::NotDicom(why) => client.error(NetErrorKind::Protocol(why)),
            PartError::Local(why) => client.error(NetErrorKind::Local(why)),
        })?;
        state.received += 1;
        progress(state, &stored);
    }
    Ok(())
}
