//! Comparing with a prior: the patient's latest earlier study among those
//! loaded goes beside the current one (layout 1×2), as its series most
//! like the current one, scrolled to the same anatomy and linked: by
//! position within one Frame of Reference, through the reader's offset
//! between two (`Shift+L` once both show the same anatomy).

use super::Viewer;
use crate::app::settings::Layout;
use crate::imaging::Image;
use crate::imaging::geometry::ImagePlane;

/// How well a series of the prior matches the current one: same modality,
/// parallel slices, same description, then the nearest number of images.
fn likeness(
    current: &Image,
    current_len: usize,
    candidate: &Image,
    len: usize,
) -> (u8, u8, u8, i64) {
    let m = (&current.metadata, &candidate.metadata);
    let parallel = match (ImagePlane::of(current), ImagePlane::of(candidate)) {
        (Some(a), Some(b)) => a.parallel_to(&b),
        _ => false,
    };
    (
        u8::from(m.0.modality.is_some() && m.0.modality == m.1.modality),
        u8::from(parallel),
        u8::from(
            m.0.series_description.is_some() && m.0.series_description == m.1.series_description,
        ),
        -(current_len.abs_diff(len) as i64),
    )
}

impl Viewer {
    /// The first image of the series with `key`.
    fn first_image_of(&self, key: &str) -> Option<&Image> {
        let entry = self.library.series_by_key(key)?;
        let first = entry.stack.first()?;
        Some(&self.library.images[first.image].image)
    }

    /// The other studies of the patient of the series with `key`, among the
    /// loaded ones, by date (an undated one first), with that series'
    /// study date: ((date, Study Instance UID)…, date).
    fn other_studies(&self, key: &str) -> Option<(Vec<(String, String)>, String)> {
        let entry = self.library.series_by_key(key)?;
        let date = self
            .first_image_of(key)?
            .metadata
            .study_date
            .clone()
            .unwrap_or_default();
        let mut studies: Vec<(String, String)> = self
            .library
            .series
            .iter()
            .filter(|s| s.patient == entry.patient && s.study_uid != entry.study_uid)
            .filter_map(|s| {
                let d = self.first_image_of(&s.key)?.metadata.study_date.clone();
                Some((d.unwrap_or_default(), s.study_uid.clone()))
            })
            .collect();
        studies.sort();
        studies.dedup();
        Some((studies, date))
    }

    /// The prior study of the patient of the series with `key`, among the
    /// loaded ones: the latest study dated before its study, else the
    /// latest other one. Its date (may be empty) and Study Instance UID.
    pub(super) fn prior_study(&self, key: &str) -> Option<(String, String)> {
        let (studies, date) = self.other_studies(key)?;
        studies
            .iter()
            .rev()
            .find(|(d, _)| !date.is_empty() && d.as_str() < date.as_str())
            .or(studies.last())
            .cloned()
    }

    /// The series of study `study` most like the series with `key`.
    fn most_like(&self, key: &str, study: &str) -> Option<String> {
        let entry = self.library.series_by_key(key)?;
        let shown = self.first_image_of(key)?;
        self.library
            .series
            .iter()
            .filter(|s| s.study_uid == study)
            .filter_map(|s| {
                let image = self.first_image_of(&s.key)?;
                Some((
                    likeness(shown, entry.stack.len(), image, s.stack.len()),
                    s.key.clone(),
                ))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, key)| key)
    }

    /// Shows in viewport `v` the patient's newest study (its series most
    /// like the one shown) when a study dated after the shown one is
    /// loaded: a folder or CD holding this year's study and last year's
    /// opens on this year's, the other being its prior.
    pub(super) fn show_newest_study(&mut self, v: usize) {
        let Some(key) = self.viewports[v].series.clone() else {
            return;
        };
        let Some((studies, date)) = self.other_studies(&key) else {
            return;
        };
        let newer = studies
            .iter()
            .rev()
            .find(|(d, _)| !d.is_empty() && d.as_str() > date.as_str());
        if let Some(series) = newer.and_then(|(_, study)| self.most_like(&key, study)) {
            let vp = &mut self.viewports[v];
            vp.series = Some(series);
            vp.position = 0;
            vp.cine = false;
        }
    }

    /// Puts the active viewport's patient's prior study beside it (the
    /// latest study dated before the current one, else the latest other
    /// one), scrolled to the same anatomy; says in the status bar what it
    /// did and, for another Frame of Reference, how to link the two.
    pub(super) fn compare_prior(&mut self) {
        let current = self.active;
        let Some(key) = self.viewports[current].series.clone() else {
            self.links.message = Some("Compare: no series in the active viewport".into());
            return;
        };
        let Some(entry) = self.library.series_by_key(&key).cloned() else {
            return;
        };
        let prior = self.prior_study(&key);
        let Some((prior_date, prior_study)) = prior else {
            self.links.message = Some(format!(
                "Compare: no other study of {} is open (open the prior, or retrieve it from the PACS window)",
                entry.patient
            ));
            return;
        };
        let best = self.most_like(&key, &prior_study);
        let Some(prior_key) = best else { return };
        if self.settings.layout == Layout::Single {
            self.settings.layout = Layout::SideBySide;
        }
        let beside = (current + 1) % self.settings.layout.count();
        let len = self
            .library
            .series_by_key(&prior_key)
            .map_or(0, |s| s.stack.len());
        let vp = &mut self.viewports[beside];
        vp.series = Some(prior_key);
        vp.cine = false;
        // Until linked, the same relative place in the stack.
        let position = self.viewports[current].position;
        self.viewports[beside].position = (position * len)
            .checked_div(entry.stack.len().max(1))
            .unwrap_or(0)
            .min(len.saturating_sub(1));
        self.settings.link_scroll = true;
        let shown_date = if prior_date.is_empty() {
            "undated".to_string()
        } else {
            prior_date
        };
        let linked = self.align(beside, current);
        let planes = (self.shown_plane(current), self.shown_plane(beside));
        self.links.message = Some(match (linked, planes) {
            (true, _) => {
                format!(
                    "Prior ({shown_date}) beside, at the same position, scrolling with this one"
                )
            }
            (false, (Some(a), Some(b))) if a.parallel_to(&b) => format!(
                "Prior ({shown_date}) beside: another Frame of Reference — put both on the same \
                 anatomy and press Shift+L to scroll them together"
            ),
            _ => format!(
                "Prior ({shown_date}) beside (no slice positions to scroll them together by)"
            ),
        });
    }
}
