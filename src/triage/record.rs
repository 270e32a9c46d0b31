//! One line of a triage results file (JSON Lines): what one image is,
//! which model looked at it, and what it said — or why it could not.

use serde::{Deserialize, Serialize};

use crate::ai::Finding;

/// One image's result, one JSON object per line. Field names are a
/// contract (README, "Triage").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageRecord {
    /// The file as listed (a zip member as `ARCHIVE.zip!member`).
    pub path: String,
    /// SOP Instance UID (DICOM only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sop_instance_uid: Option<String>,
    /// Series Instance UID (DICOM only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_instance_uid: Option<String>,
    /// Study Instance UID (DICOM only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_instance_uid: Option<String>,
    /// The model's id.
    pub model_id: String,
    /// The model's version.
    pub model_version: String,
    /// `onnxruntime` or `tract`.
    pub engine: String,
    /// The execution provider that ran (`cpu`, `cuda`).
    pub execution_provider: String,
    /// Within the model's scope: `false` withholds every call; `null` when
    /// the file cannot show it (a plain JPEG) or the image was not
    /// classified.
    pub in_scope: Option<bool>,
    /// Why it is outside the scope (or why that cannot be checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope_reasons: Vec<String>,
    /// Per model label, the probability, in the model's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<serde_json::Map<String, serde_json::Value>>,
    /// Per finding label, the call against the operating point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<serde_json::Map<String, serde_json::Value>>,
    /// Why the image could not be classified (then no probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the file was not classified although it is no error (a DICOM
    /// report found in a folder holds no pixels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Inference time for this image, milliseconds (absent when none ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_ms: Option<f64>,
}

/// One call, as `calls` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// At or above the operating point; `null` outside the model's scope.
    pub positive: Option<bool>,
    /// The operating point.
    pub threshold: Option<f32>,
    /// The call in words (never a diagnosis).
    pub call: String,
}

impl TriageRecord {
    /// A record for `path` by the model named by `model` (id, version,
    /// engine, execution provider), with nothing known yet.
    pub fn new(path: String, model: &ModelStamp) -> Self {
        Self {
            path,
            sop_instance_uid: None,
            series_instance_uid: None,
            study_instance_uid: None,
            model_id: model.id.clone(),
            model_version: model.version.clone(),
            engine: model.engine.clone(),
            execution_provider: model.execution_provider.clone(),
            in_scope: None,
            scope_reasons: Vec::new(),
            probabilities: None,
            calls: None,
            error: None,
            skipped: None,
            inference_ms: None,
        }
    }

    /// Sets the probabilities and the calls from `findings`.
    pub fn set_findings(&mut self, findings: &[Finding]) {
        let mut probabilities = serde_json::Map::new();
        let mut calls = serde_json::Map::new();
        for f in findings {
            probabilities.insert(f.label.clone(), serde_json::json!(f.probability));
            if f.is_finding {
                let call = Call {
                    positive: f.positive,
                    threshold: f.threshold,
                    call: f.wording(),
                };
                calls.insert(
                    f.label.clone(),
                    serde_json::to_value(call).unwrap_or(serde_json::Value::Null),
                );
            }
        }
        self.probabilities = Some(probabilities);
        self.calls = Some(calls);
    }

    /// The probability of `label`, if classified.
    pub fn probability(&self, label: &str) -> Option<f64> {
        self.probabilities.as_ref()?.get(label)?.as_f64()
    }

    /// The call of `label`, if it is a finding label and was classified.
    pub fn call(&self, label: &str) -> Option<Call> {
        serde_json::from_value(self.calls.as_ref()?.get(label)?.clone()).ok()
    }

    /// The key a record is de-duplicated by: the same image by the same
    /// model version.
    pub fn key(&self) -> (String, String, String) {
        (
            self.path.clone(),
            self.model_id.clone(),
            self.model_version.clone(),
        )
    }
}

/// What names the model in every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStamp {
    /// Model id.
    pub id: String,
    /// Model version.
    pub version: String,
    /// Engine.
    pub engine: String,
    /// Execution provider.
    pub execution_provider: String,
}
