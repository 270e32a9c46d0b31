//! What the viewer remembers between runs (through eframe persistence):
//! layout, display toggles, AI settings, the model folder, the ONNX Runtime
//! library and recently opened paths.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ai::saliency::overlay::{Colormap, OverlayStyle};
use crate::app::hanging::{HangingRule, default_rules};

/// The key under which eframe stores the settings.
pub const STORAGE_KEY: &str = "hilum-viewer-settings";

/// How many recent items are kept.
pub const RECENT_LIMIT: usize = 10;

/// Viewport arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Layout {
    /// One viewport.
    #[default]
    Single,
    /// Two side by side.
    SideBySide,
    /// Two by two.
    Quad,
}

impl Layout {
    /// Columns and rows of viewports.
    pub fn grid(self) -> (usize, usize) {
        match self {
            Layout::Single => (1, 1),
            Layout::SideBySide => (2, 1),
            Layout::Quad => (2, 2),
        }
    }

    /// Number of viewports shown.
    pub fn count(self) -> usize {
        let (c, r) = self.grid();
        c * r
    }

    /// The name shown in menus.
    pub fn label(self) -> &'static str {
        match self {
            Layout::Single => "1×1",
            Layout::SideBySide => "1×2",
            Layout::Quad => "2×2",
        }
    }
}

/// Heatmap drawing settings that persist (the colormap is stored by name).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OverlaySettings {
    /// Opacity 0..=1.
    pub opacity: f32,
    /// Values below are not drawn, 0..=1.
    pub threshold: f32,
    /// Index into [`Colormap::ALL`].
    pub colormap: usize,
}

impl Default for OverlaySettings {
    fn default() -> Self {
        let style = OverlayStyle::default();
        Self {
            opacity: style.opacity,
            threshold: style.threshold,
            colormap: 0,
        }
    }
}

impl OverlaySettings {
    /// The drawing style these settings describe.
    pub fn style(&self) -> OverlayStyle {
        OverlayStyle {
            opacity: self.opacity.clamp(0.0, 1.0),
            threshold: self.threshold.clamp(0.0, 1.0),
            colormap: Colormap::ALL
                .get(self.colormap)
                .copied()
                .unwrap_or_default(),
        }
    }
}

/// A window preset on a number key, editable in the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPreset {
    /// Its name in the settings and the shortcut list.
    pub name: String,
    /// Window centre (level), modality units.
    pub center: f64,
    /// Window width, modality units.
    pub width: f64,
}

impl WindowPreset {
    /// The window the preset applies (a width below 1 taken as 1).
    pub fn choice(&self) -> crate::imaging::WindowChoice {
        crate::imaging::WindowChoice::Explicit(crate::imaging::voi::Window::linear(
            self.center,
            self.width.max(1.0),
        ))
    }
}

/// The CT presets of the pixel pipeline, as the number keys start out.
pub fn default_presets() -> Vec<WindowPreset> {
    crate::imaging::voi::CT_PRESETS
        .iter()
        .map(|p| WindowPreset {
            name: p.label.to_string(),
            center: p.center,
            width: p.width,
        })
        .collect()
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Viewport layout.
    pub layout: Layout,
    /// Four-corner text shown.
    pub corner_text: bool,
    /// DICOM tag browser shown.
    pub tag_browser: bool,
    /// Classify every image when it is shown.
    pub auto_run_ai: bool,
    /// A model folder or manifest to use instead of the default model.
    pub model: Option<PathBuf>,
    /// The ONNX Runtime library to load (else the usual search).
    pub ort_library: Option<PathBuf>,
    /// Heatmap drawing.
    pub overlay: OverlaySettings,
    /// Cine frames per second.
    pub cine_fps: f32,
    /// Recently opened files and folders, newest first.
    pub recent: Vec<PathBuf>,
    /// The window presets on keys 1 … 7.
    pub presets: Vec<WindowPreset>,
    /// Viewports with the active viewport's Frame of Reference scroll with
    /// it, by position.
    pub link_scroll: bool,
    /// Viewports of the active viewport's modality take its window/level.
    pub link_window: bool,
    /// Viewports take the active viewport's zoom (at the same mm per
    /// point) and pan.
    pub link_zoom: bool,
    /// The line where the active viewport's slice crosses the others.
    pub reference_lines: bool,
    /// The AI panel shown.
    pub ai_panel: bool,
    /// Layouts per modality applied when a study opens.
    pub hanging_protocols: bool,
    /// Those layouts, first match wins.
    pub hanging: Vec<HangingRule>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            layout: Layout::Single,
            corner_text: true,
            tag_browser: false,
            auto_run_ai: true,
            model: None,
            ort_library: None,
            overlay: OverlaySettings::default(),
            cine_fps: 10.0,
            recent: Vec::new(),
            presets: default_presets(),
            link_scroll: true,
            link_window: false,
            link_zoom: false,
            reference_lines: true,
            ai_panel: true,
            hanging_protocols: true,
            hanging: default_rules(),
        }
    }
}

impl Settings {
    /// Puts `paths` at the front of the recent list (no duplicates, at most
    /// [`RECENT_LIMIT`]).
    pub fn remember(&mut self, paths: &[PathBuf]) {
        for path in paths.iter().rev() {
            self.recent.retain(|p| p != path);
            self.recent.insert(0, path.clone());
        }
        self.recent.truncate(RECENT_LIMIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_items_are_unique_newest_first_and_bounded() {
        let mut s = Settings::default();
        s.remember(&[PathBuf::from("a"), PathBuf::from("b")]);
        s.remember(&[PathBuf::from("a")]);
        assert_eq!(s.recent, vec![PathBuf::from("a"), PathBuf::from("b")]);
        let many: Vec<PathBuf> = (0..20).map(|i| PathBuf::from(i.to_string())).collect();
        s.remember(&many);
        assert_eq!(s.recent.len(), RECENT_LIMIT);
        assert_eq!(s.recent[0], PathBuf::from("0"));
    }

    #[test]
    fn settings_round_trip_through_ron_like_storage() {
        let mut s = Settings {
            auto_run_ai: false,
            layout: Layout::Quad,
            ..Settings::default()
        };
        s.remember(&[PathBuf::from("x.dcm")]);
        s.presets[0].width = 1234.0;
        let text = serde_json::to_string(&s).unwrap();
        let back: Settings = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        // Older stored settings missing fields still load.
        let partial: Settings = serde_json::from_str("{\"corner_text\": false}").unwrap();
        assert!(!partial.corner_text);
        assert!(partial.auto_run_ai);
    }
}
