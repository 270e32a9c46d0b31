//! The VOI stage: modality values to display values in [0, 1].
//!
//! Window functions follow DICOM PS3.3 C.11.2.1.2 exactly; presets are the
//! usual reading windows per modality.

use super::modality::LookupTable;

/// VOI LUT Function (0028,1056).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    /// PS3.3 C.11.2.1.2.1.
    #[default]
    Linear,
    /// PS3.3 C.11.2.1.3.2.
    LinearExact,
    /// PS3.3 C.11.2.1.3.1.
    Sigmoid,
}

impl VoiFunction {
    /// Parses the attribute value; unknown values fall back to LINEAR, as the
    /// standard requires of a display.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "LINEAR_EXACT" => VoiFunction::LinearExact,
            "SIGMOID" => VoiFunction::Sigmoid,
            _ => VoiFunction::Linear,
        }
    }

    /// The DICOM name of the function.
    pub fn name(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }
}

/// A window: center, width and the function that applies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window Center, in modality units.
    pub center: f64,
    /// Window Width, in modality units.
    pub width: f64,
    /// VOI LUT Function.
    pub function: VoiFunction,
}

impl Window {
    /// A LINEAR window.
    pub fn linear(center: f64, width: f64) -> Self {
        Self {
            center,
            width,
            function: VoiFunction::Linear,
        }
    }

    /// The min–max window DCMTK uses when a file has none (`+Wm`):
    /// center `(min + max + 1) / 2`, width `max - min + 1`.
    pub fn min_max(min: f64, max: f64) -> Self {
        Self::linear((min + max + 1.0) / 2.0, max - min + 1.0)
    }

    /// Maps a modality value to [0, 1].
    #[inline]
    pub fn apply(&self, x: f64) -> f64 {
        let (c, w) = (self.center, self.width);
        match self.function {
            VoiFunction::Linear => {
                // PS3.3 C.11.2.1.2.1: the width must be >= 1.
                let w = w.max(1.0);
                let lower = c - 0.5 - (w - 1.0) / 2.0;
                let upper = c - 0.5 + (w - 1.0) / 2.0;
                if x <= lower {
                    0.0
                } else if x > upper {
                    1.0
                } else {
                    (x - (c - 0.5)) / (w - 1.0) + 0.5
                }
            }
            VoiFunction::LinearExact => {
                let w = if w > 0.0 { w } else { f64::MIN_POSITIVE };
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    1.0
                } else {
                    (x - c) / w + 0.5
                }
            }
            VoiFunction::Sigmoid => {
                let w = if w > 0.0 { w } else { f64::MIN_POSITIVE };
                1.0 / (1.0 + (-4.0 * (x - c) / w).exp())
            }
        }
    }
}

/// Where the VOI stage of a rendering comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Voi {
    /// A window (from the file, a preset, the user or auto-windowing).
    Window(Window),
    /// A VOI LUT Sequence item; its output is scaled by its bit depth.
    Table(LookupTable),
}

impl Voi {
    /// Maps a modality value to [0, 1].
    #[inline]
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            Voi::Window(w) => w.apply(x),
            Voi::Table(lut) => {
                let x = x.floor() as i64;
                lut.lookup(x) as f64 / lut.max_value()
            }
        }
    }
}

/// A named reading window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Name used on the command line and in the viewer.
    pub name: &'static str,
    /// What it is for, shown to the reader.
    pub label: &'static str,
    /// Window Center in modality units (HU for CT).
    pub center: f64,
    /// Window Width in modality units.
    pub width: f64,
}

/// CT presets (HU), in the order of the viewer's number keys.
pub const CT_PRESETS: &[Preset] = &[
    Preset {
        name: "lung",
        label: "CT lung",
        center: -600.0,
        width: 1500.0,
    },
    Preset {
        name: "mediastinum",
        label: "CT mediastinum",
        center: 50.0,
        width: 350.0,
    },
    Preset {
        name: "abdomen",
        label: "CT abdomen (soft tissue)",
        center: 50.0,
        width: 400.0,
    },
    Preset {
        name: "liver",
        label: "CT liver",
        center: 30.0,
        width: 150.0,
    },
    Preset {
        name: "bone",
        label: "CT bone",
        center: 400.0,
        width: 1800.0,
    },
    Preset {
        name: "brain",
        label: "CT brain",
        center: 40.0,
        width: 80.0,
    },
    Preset {
        name: "stroke",
        label: "CT stroke",
        center: 40.0,
        width: 40.0,
    },
];

/// The window a rendering uses.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowChoice {
    /// The file's first VOI (window, else VOI LUT Sequence), else [`WindowChoice::MinMax`].
    FileDefault,
    /// The file's n-th window (0-based), else the default.
    FileWindow(usize),
    /// An explicit window.
    Explicit(Window),
    /// A named preset (see [`CT_PRESETS`], plus `default` and `auto`).
    Preset(String),
    /// Min–max over the frame's modality values.
    MinMax,
    /// Histogram percentiles (low, high, in percent) of the frame.
    Percentile(f64, f64),
}

impl WindowChoice {
    /// Parses a preset name: a CT preset, `default` (the file's window) or
    /// `auto` (1st–99th percentile).
    pub fn from_preset(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "default" | "file" => Some(WindowChoice::FileDefault),
            "auto" => Some(WindowChoice::Percentile(1.0, 99.0)),
            "minmax" | "full" => Some(WindowChoice::MinMax),
            _ => find_preset(&lower).map(|p| WindowChoice::Preset(p.name.to_string())),
        }
    }
}

/// Looks up a CT preset by name.
pub fn find_preset(name: &str) -> Option<&'static Preset> {
    CT_PRESETS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Names accepted by `--preset`, for help and error messages.
pub fn preset_names() -> Vec<&'static str> {
    let mut names = vec!["default", "auto", "minmax"];
    names.extend(CT_PRESETS.iter().map(|p| p.name));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_matches_the_standard_at_its_edges() {
        let w = Window::linear(40.0, 100.0);
        // lower edge: c - 0.5 - (w - 1)/2 = -10.0
        assert_eq!(w.apply(-10.0), 0.0);
        assert!(w.apply(-9.9) > 0.0);
        // upper edge: c - 0.5 + (w - 1)/2 = 89.0
        assert_eq!(w.apply(89.5), 1.0);
        assert!((w.apply(39.5) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn width_one_linear_window_is_a_threshold() {
        let w = Window::linear(10.0, 1.0);
        assert_eq!(w.apply(9.5), 0.0);
        assert_eq!(w.apply(9.6), 1.0);
    }

    #[test]
    fn linear_exact_and_sigmoid_follow_their_formulas() {
        let e = Window {
            center: 0.0,
            width: 10.0,
            function: VoiFunction::LinearExact,
        };
        assert_eq!(e.apply(-5.0), 0.0);
        assert!((e.apply(2.5) - 0.75).abs() < 1e-12);
        let s = Window {
            center: 0.0,
            width: 10.0,
            function: VoiFunction::Sigmoid,
        };
        assert!((s.apply(0.0) - 0.5).abs() < 1e-12);
        assert!((s.apply(10.0) - 1.0 / (1.0 + (-4.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn presets_parse_by_name() {
        assert_eq!(
            WindowChoice::from_preset("Lung"),
            Some(WindowChoice::Preset("lung".into()))
        );
        assert!(WindowChoice::from_preset("nonsense").is_none());
    }
}
