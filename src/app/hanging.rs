//! Layouts per modality (a simple hanging protocol): which arrangement, window
//! preset and panels a study gets when it opens, chosen by the modality of
//! the series put on screen. Kept in the settings and edited there; UI-free,
//! so the choice is tested without a window.

use serde::{Deserialize, Serialize};

/// How the viewports are arranged for a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrangement {
    /// One viewport.
    Single,
    /// Two side by side (the study's next series, or its prior).
    SideBySide,
    /// Two by two (the study's next series).
    Quad,
    /// Axial, coronal and sagittal planes of the series (a volume).
    Mpr,
}

impl Arrangement {
    /// Every arrangement, for the settings' choice.
    pub const ALL: [Arrangement; 4] = [
        Arrangement::Single,
        Arrangement::SideBySide,
        Arrangement::Quad,
        Arrangement::Mpr,
    ];

    /// Its name in the settings and the status bar.
    pub fn label(self) -> &'static str {
        match self {
            Arrangement::Single => "1×1",
            Arrangement::SideBySide => "1×2",
            Arrangement::Quad => "2×2",
            Arrangement::Mpr => "MPR (axial, coronal, sagittal)",
        }
    }
}

/// One rule: what a study of `modality` gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HangingRule {
    /// The modality it applies to (`CT`, `CR`, …; `*` for any), compared
    /// without regard to case.
    pub modality: String,
    /// The arrangement.
    pub arrangement: Arrangement,
    /// The MPR arrangement needs a series of at least this many slices
    /// (a shorter one is shown 1×1).
    pub min_slices: usize,
    /// A window preset's name (from the settings' presets), or `None` for
    /// the file's own window.
    pub preset: Option<String>,
    /// The AI panel shown.
    pub ai_panel: bool,
    /// The patient's prior study beside, linked, when one is open (the
    /// 1×1 and 1×2 arrangements).
    pub with_prior: bool,
}

impl Default for HangingRule {
    fn default() -> Self {
        Self {
            modality: "*".into(),
            arrangement: Arrangement::Single,
            min_slices: 20,
            preset: None,
            ai_panel: true,
            with_prior: false,
        }
    }
}

impl HangingRule {
    /// True when the rule applies to `modality`.
    pub fn matches(&self, modality: &str) -> bool {
        let wanted = self.modality.trim();
        wanted == "*" || wanted.eq_ignore_ascii_case(modality.trim())
    }

    /// The arrangement for a series of `slices` images: MPR falls back to
    /// 1×1 for a series too short to be a volume worth reformatting.
    pub fn arrangement_for(&self, slices: usize) -> Arrangement {
        match self.arrangement {
            Arrangement::Mpr if slices < self.min_slices.max(2) => Arrangement::Single,
            other => other,
        }
    }

    /// The rule's arrangement and preset in words, for the status bar
    /// (the prior is named there only when one was put beside).
    pub fn describe(&self, slices: usize) -> String {
        let mut text = format!(
            "Layout for {}: {}",
            self.modality,
            self.arrangement_for(slices).label()
        );
        if let Some(preset) = &self.preset {
            text.push_str(&format!(", {preset}"));
        }
        text
    }
}

/// The rules a new installation starts with: a CT volume in three planes
/// with the lung window; radiographs 1×1, beside the prior when one is
/// open. The AI panel stays open for both: for a CT it says that the
/// default model (chest radiographs) does not read it.
pub fn default_rules() -> Vec<HangingRule> {
    let radiograph = |modality: &str| HangingRule {
        modality: modality.into(),
        arrangement: Arrangement::Single,
        ai_panel: true,
        with_prior: true,
        ..HangingRule::default()
    };
    vec![
        HangingRule {
            modality: "CT".into(),
            arrangement: Arrangement::Mpr,
            min_slices: 20,
            preset: Some("CT lung".into()),
            ai_panel: true,
            with_prior: false,
        },
        radiograph("CR"),
        radiograph("DX"),
    ]
}

/// The first rule for `modality`, in the order the reader put them.
pub fn rule_for<'a>(rules: &'a [HangingRule], modality: &str) -> Option<&'a HangingRule> {
    rules.iter().find(|r| r.matches(modality))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_wins_and_a_wildcard_catches_the_rest() {
        let mut rules = default_rules();
        assert_eq!(
            rule_for(&rules, "ct").unwrap().arrangement,
            Arrangement::Mpr
        );
        assert!(rule_for(&rules, "DX").unwrap().ai_panel);
        assert_eq!(rule_for(&rules, "MR"), None);
        rules.push(HangingRule {
            modality: "*".into(),
            arrangement: Arrangement::Quad,
            ..HangingRule::default()
        });
        assert_eq!(
            rule_for(&rules, "MR").unwrap().arrangement,
            Arrangement::Quad
        );
        assert_eq!(
            rule_for(&rules, "CT").unwrap().arrangement,
            Arrangement::Mpr
        );
    }

    #[test]
    fn a_short_series_is_not_put_in_mpr() {
        let ct = &default_rules()[0];
        assert_eq!(ct.arrangement_for(19), Arrangement::Single);
        assert_eq!(ct.arrangement_for(20), Arrangement::Mpr);
        assert_eq!(
            ct.describe(200),
            "Layout for CT: MPR (axial, coronal, sagittal), CT lung"
        );
    }

    #[test]
    fn rules_round_trip_and_old_settings_get_defaults() {
        let rules = default_rules();
        let text = serde_json::to_string(&rules).unwrap();
        let back: Vec<HangingRule> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rules);
        let partial: HangingRule = serde_json::from_str("{\"modality\": \"MR\"}").unwrap();
        assert_eq!(partial.arrangement, Arrangement::Single);
        assert!(partial.ai_panel);
    }
}
