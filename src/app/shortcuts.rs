//! The one table of keyboard shortcuts: every routine action, its key, and
//! the words shown in the F1 / `?` overlay.

use egui::{Key, KeyboardShortcut, Modifiers};

use super::annotate::Tool;

/// Something the reader can do from the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Show or hide the shortcut overlay.
    Help,
    /// Open files through the system dialog.
    OpenFiles,
    /// Open a folder through the system dialog.
    OpenFolder,
    /// Show or hide the PACS window (search and open studies).
    OpenPacs,
    /// Next image (or frame) in the stack.
    NextImage,
    /// Previous image (or frame) in the stack.
    PreviousImage,
    /// Ten images forward.
    PageForward,
    /// Ten images back.
    PageBack,
    /// First image of the stack.
    FirstImage,
    /// Last image of the stack.
    LastImage,
    /// Start or stop cine.
    Cine,
    /// Zoom in.
    ZoomIn,
    /// Zoom out.
    ZoomOut,
    /// Fit the image to the viewport.
    Fit,
    /// One image pixel per screen pixel.
    ActualSize,
    /// The file's own window.
    FileWindow,
    /// A window from the 1st–99th percentile of the image.
    AutoWindow,
    /// CT preset number n (1-based, in the order of `CT_PRESETS`).
    Preset(u8),
    /// Invert gray values.
    Invert,
    /// Rotate 90° clockwise.
    RotateClockwise,
    /// Rotate 90° counter-clockwise.
    RotateCounterClockwise,
    /// Flip left–right.
    FlipHorizontal,
    /// Flip top–bottom.
    FlipVertical,
    /// Reset zoom, pan, rotation, flips and window.
    ResetView,
    /// Show or hide the four-corner text.
    CornerText,
    /// Show or hide the DICOM tag browser.
    TagBrowser,
    /// Run the AI on the shown image.
    RunAi,
    /// Show or hide the heatmap overlay.
    Heatmap,
    /// One viewport.
    Layout1x1,
    /// Two viewports side by side.
    Layout1x2,
    /// Four viewports.
    Layout2x2,
    /// Make the next viewport the active one.
    NextViewport,
    /// Pick the left button's tool.
    Tool(Tool),
    /// Delete the selected annotation.
    DeleteAnnotation,
    /// Undo the last annotation change on the shown image.
    Undo,
    /// Redo it.
    Redo,
    /// Open the export dialog (report, key image, DICOM).
    Export,
    /// Stop drawing, close the shortcut list, or stop loading.
    CancelLoading,
    /// Open the worklist's next unread study.
    NextUnread,
    /// The MPR layout (axial, coronal, sagittal) of the active series on
    /// or off.
    Mpr,
    /// MPR: a thicker slab.
    SlabThicker,
    /// MPR: a thinner slab.
    SlabThinner,
    /// MPR: the next slab mode (MIP, MinIP, mean).
    SlabMode,
    /// MPR: rotate the crosshair (oblique planes) counter-clockwise.
    RotateCrosshairLeft,
    /// MPR: rotate the crosshair clockwise.
    RotateCrosshairRight,
    /// Link the shown studies at the slices shown now (sets the offset
    /// between their Frames of Reference).
    LinkHere,
    /// Open the prior study of the active viewport's patient beside it.
    ComparePrior,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Shortcut {
    /// What it does.
    pub action: Action,
    /// The key and modifiers.
    pub keys: KeyboardShortcut,
    /// What the overlay says.
    pub description: &'static str,
}

const fn plain(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::NONE, key)
}

const fn command(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::COMMAND, key)
}

const fn shift(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::SHIFT, key)
}

const fn row(action: Action, keys: KeyboardShortcut, description: &'static str) -> Shortcut {
    Shortcut {
        action,
        keys,
        description,
    }
}

/// Every shortcut. Two rows may share an action (F1 and `?`), never keys.
pub const SHORTCUTS: &[Shortcut] = &[
    row(Action::Help, plain(Key::F1), "Show or hide this list"),
    row(
        Action::Help,
        plain(Key::Questionmark),
        "Show or hide this list",
    ),
    row(Action::OpenFiles, command(Key::O), "Open file(s)"),
    row(
        Action::NextUnread,
        plain(Key::Enter),
        "Worklist: open the next unread study",
    ),
    row(
        Action::OpenFolder,
        KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::O),
        "Open folder",
    ),
    row(
        Action::OpenPacs,
        command(Key::P),
        "Open from PACS (search, retrieve)",
    ),
    row(
        Action::NextImage,
        plain(Key::ArrowDown),
        "Next image / frame",
    ),
    row(
        Action::NextImage,
        plain(Key::ArrowRight),
        "Next image / frame",
    ),
    row(
        Action::PreviousImage,
        plain(Key::ArrowUp),
        "Previous image / frame",
    ),
    row(
        Action::PreviousImage,
        plain(Key::ArrowLeft),
        "Previous image / frame",
    ),
    row(
        Action::PageForward,
        plain(Key::PageDown),
        "Ten images forward",
    ),
    row(Action::PageBack, plain(Key::PageUp), "Ten images back"),
    row(Action::FirstImage, plain(Key::Home), "First image"),
    row(Action::LastImage, plain(Key::End), "Last image"),
    row(Action::Cine, plain(Key::Space), "Start / stop cine"),
    row(Action::ZoomIn, plain(Key::Plus), "Zoom in"),
    row(Action::ZoomIn, plain(Key::Equals), "Zoom in"),
    row(Action::ZoomOut, plain(Key::Minus), "Zoom out"),
    row(Action::Fit, plain(Key::F), "Fit to viewport"),
    row(
        Action::ActualSize,
        shift(Key::F),
        "1:1 (one image pixel per screen pixel)",
    ),
    row(Action::FileWindow, plain(Key::Num0), "The file's window"),
    row(Action::Preset(1), plain(Key::Num1), "CT lung window"),
    row(Action::Preset(2), plain(Key::Num2), "CT mediastinum window"),
    row(Action::Preset(3), plain(Key::Num3), "CT abdomen window"),
    row(Action::Preset(4), plain(Key::Num4), "CT liver window"),
    row(Action::Preset(5), plain(Key::Num5), "CT bone window"),
    row(Action::Preset(6), plain(Key::Num6), "CT brain window"),
    row(Action::Preset(7), plain(Key::Num7), "CT stroke window"),
    row(
        Action::AutoWindow,
        plain(Key::W),
        "Auto window (1st–99th percentile)",
    ),
    row(Action::Invert, plain(Key::I), "Invert"),
    row(
        Action::RotateClockwise,
        plain(Key::R),
        "Rotate 90° clockwise",
    ),
    row(
        Action::RotateCounterClockwise,
        shift(Key::R),
        "Rotate 90° counter-clockwise",
    ),
    row(Action::FlipHorizontal, plain(Key::X), "Flip left–right"),
    row(Action::FlipVertical, plain(Key::Y), "Flip top–bottom"),
    row(Action::ResetView, plain(Key::Backspace), "Reset view"),
    row(
        Action::CornerText,
        plain(Key::C),
        "Four-corner text on / off",
    ),
    row(
        Action::TagBrowser,
        plain(Key::T),
        "DICOM tag browser on / off",
    ),
    row(Action::RunAi, plain(Key::A), "Run the AI on this image"),
    row(Action::Heatmap, plain(Key::H), "Heatmap overlay on / off"),
    row(Action::Layout1x1, command(Key::Num1), "Layout 1×1"),
    row(Action::Layout1x2, command(Key::Num2), "Layout 1×2"),
    row(Action::Layout2x2, command(Key::Num4), "Layout 2×2"),
    row(Action::NextViewport, plain(Key::Tab), "Next viewport"),
    row(
        Action::Mpr,
        plain(Key::M),
        "MPR: axial, coronal and sagittal of this series on / off",
    ),
    row(Action::SlabThicker, plain(Key::S), "MPR: thicker slab"),
    row(Action::SlabThinner, shift(Key::S), "MPR: thinner slab"),
    row(
        Action::SlabMode,
        plain(Key::D),
        "MPR: slab mode (MIP, MinIP, mean)",
    ),
    row(
        Action::RotateCrosshairLeft,
        plain(Key::OpenBracket),
        "MPR: rotate the crosshair 5° counter-clockwise (oblique planes)",
    ),
    row(
        Action::RotateCrosshairRight,
        plain(Key::CloseBracket),
        "MPR: rotate the crosshair 5° clockwise (oblique planes)",
    ),
    row(
        Action::LinkHere,
        shift(Key::L),
        "Link the shown studies at these slices (prior of another Frame of Reference)",
    ),
    row(
        Action::ComparePrior,
        plain(Key::K),
        "Compare: the patient's prior study beside this one, linked",
    ),
    row(
        Action::Tool(Tool::Navigate),
        plain(Key::V),
        "Tool: select / pan",
    ),
    row(Action::Tool(Tool::Length), plain(Key::L), "Tool: length"),
    row(Action::Tool(Tool::Angle), plain(Key::G), "Tool: angle"),
    row(
        Action::Tool(Tool::Ellipse),
        plain(Key::O),
        "Tool: ellipse ROI",
    ),
    row(
        Action::Tool(Tool::Rectangle),
        plain(Key::B),
        "Tool: rectangle ROI",
    ),
    row(Action::Tool(Tool::Arrow), plain(Key::P), "Tool: arrow"),
    row(Action::Tool(Tool::Text), plain(Key::N), "Tool: text note"),
    row(
        Action::DeleteAnnotation,
        plain(Key::Delete),
        "Delete the selected annotation",
    ),
    row(Action::Undo, command(Key::Z), "Undo (annotations)"),
    row(
        Action::Redo,
        KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z),
        "Redo (annotations)",
    ),
    row(Action::Redo, command(Key::Y), "Redo (annotations)"),
    row(
        Action::Export,
        command(Key::E),
        "Export report / key image / DICOM",
    ),
    row(
        Action::CancelLoading,
        plain(Key::Escape),
        "Stop drawing / close this list / stop loading",
    ),
];

/// The table in the order it must be matched: egui ignores extra Shift and
/// Alt when matching, so rows with more modifiers are tried first.
pub fn matching_order() -> Vec<&'static Shortcut> {
    let mut rows: Vec<&Shortcut> = SHORTCUTS.iter().collect();
    rows.sort_by_key(|s| {
        let m = s.keys.modifiers;
        std::cmp::Reverse(u8::from(m.alt) + u8::from(m.shift) + u8::from(m.command || m.ctrl))
    });
    rows
}

/// The actions pressed this frame (each key consumed once).
pub fn pressed(ctx: &egui::Context) -> Vec<Action> {
    let order = matching_order();
    ctx.input_mut(|input| {
        order
            .iter()
            .filter(|s| input.consume_shortcut(&s.keys))
            .map(|s| s.action)
            .collect()
    })
}

/// The shortcut text for `action` (its first row), for buttons' hover text.
pub fn keys_for(ctx: &egui::Context, action: Action) -> String {
    SHORTCUTS
        .iter()
        .filter(|s| s.action == action)
        .map(|s| ctx.format_shortcut(&s.keys))
        .collect::<Vec<_>>()
        .join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_shortcuts_share_keys() {
        for (i, a) in SHORTCUTS.iter().enumerate() {
            for b in &SHORTCUTS[i + 1..] {
                assert!(
                    a.keys != b.keys,
                    "{:?} and {:?} both use {:?}",
                    a.action,
                    b.action,
                    a.keys
                );
            }
        }
    }

    #[test]
    fn a_more_specific_shortcut_is_matched_before_a_plainer_one() {
        // egui matches Shift+R against a plain R as well; the order must
        // try Shift+R first.
        let order = matching_order();
        let position = |action: Action| order.iter().position(|s| s.action == action).unwrap();
        assert!(position(Action::RotateCounterClockwise) < position(Action::RotateClockwise));
        assert!(position(Action::ActualSize) < position(Action::Fit));
        assert!(position(Action::OpenFolder) < position(Action::OpenFiles));
        let redo = order
            .iter()
            .position(|s| s.action == Action::Redo && s.keys.modifiers.shift)
            .unwrap();
        assert!(redo < position(Action::Undo));
    }
}
