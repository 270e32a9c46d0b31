//! QIDO-RS: searching for studies, series and instances (PS3.18 10.6).

use std::io::Read;

use serde_json::Value;

use super::WebClient;
use crate::net::error::{NetErrorKind, NetResult};
use crate::net::query::{Level, QueryKeys, Row, return_keys, row_from_json};

/// The most bytes of JSON one search may return (a million matches is
/// far below this; a broken server streaming forever is not).
const MAX_ANSWER: u64 = 512 * 1024 * 1024;

/// The resource path a search at `keys.level` goes to: scoped to the study
/// (and series) when their UIDs are given, as PS3.18 10.6.1 allows.
fn resource(keys: &QueryKeys) -> String {
    match (keys.level, &keys.study_uid, &keys.series_uid) {
        (Level::Study, _, _) => "/studies".into(),
        (Level::Series, Some(study), _) => format!("/studies/{study}/series"),
        (Level::Series, None, _) => "/series".into(),
        (Level::Instance, Some(study), Some(series)) => {
            format!("/studies/{study}/series/{series}/instances")
        }
        (Level::Instance, Some(study), None) => format!("/studies/{study}/instances"),
        (Level::Instance, None, _) => "/instances".into(),
    }
}

/// The query parameters: the matching keys not already in the path, and
/// `includefield` for every return key of the level.
fn parameters(keys: &QueryKeys) -> Vec<(String, String)> {
    let in_path = |keyword: &str| match keyword {
        "StudyInstanceUID" => keys.level != Level::Study && keys.study_uid.is_some(),
        "SeriesInstanceUID" => keys.level == Level::Instance && keys.series_uid.is_some(),
        _ => false,
    };
    let mut query: Vec<(String, String)> = keys
        .matching()
        .into_iter()
        .filter(|(keyword, ..)| !in_path(keyword))
        .map(|(keyword, _, _, value)| (keyword.to_string(), value))
        .collect();
    // One `includefield` per attribute: the comma-separated form is not
    // understood everywhere (Orthanc's plugin ignores it).
    query.extend(
        return_keys(keys.level)
            .iter()
            .map(|key| ("includefield".to_string(), key.keyword.to_string())),
    );
    query
}

/// Searches the service; one [`Row`] per match.
pub fn search(client: &WebClient, keys: &QueryKeys) -> NetResult<Vec<Row>> {
    keys.validate()
        .map_err(|why| client.error(NetErrorKind::InvalidNode(why)))?;
    let response = client.get(&resource(keys), &parameters(keys), "application/dicom+json")?;
    if response.status().as_u16() == 204 {
        return Ok(Vec::new());
    }
    let mut text = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_ANSWER)
        .read_to_end(&mut text)
        .map_err(|e| client.error(NetErrorKind::Connection(format!("reading the answer: {e}"))))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let answer: Value = serde_json::from_slice(&text).map_err(|e| {
        client.error(NetErrorKind::Protocol(format!(
            "the search answer is not JSON: {e}"
        )))
    })?;
    let items = answer.as_array().ok_or_else(|| {
        client.error(NetErrorKind::Protocol(
            "the search answer is not a JSON array".into(),
        ))
    })?;
    items
        .iter()
        .map(|item| {
            row_from_json(item, keys.level).ok_or_else(|| {
                client.error(NetErrorKind::Protocol(
                    "a search match is not a JSON object".into(),
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_go_to_the_scoped_resource() {
        let mut keys = QueryKeys {
            level: Level::Instance,
            study_uid: Some("1.2".into()),
            series_uid: Some("1.2.3".into()),
            ..Default::default()
        };
        assert_eq!(resource(&keys), "/studies/1.2/series/1.2.3/instances");
        let query = parameters(&keys);
        assert!(
            query.iter().all(|(key, _)| key == "includefield"),
            "{query:?}"
        );
        assert!(query.contains(&("includefield".into(), "SOPInstanceUID".into())));
        keys.level = Level::Study;
        keys.patient_name = Some("DOE*".into());
        let query = parameters(&keys);
        assert!(query.contains(&("StudyInstanceUID".into(), "1.2".into())));
        assert!(query.contains(&("PatientName".into(), "DOE*".into())));
    }
}
