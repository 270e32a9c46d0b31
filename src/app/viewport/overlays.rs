//! What a viewport draws over the image: the four-corner text, the
//! orientation labels and the scale bar, and the value under the cursor.

use egui::{Color32, Pos2, Rect, Vec2};

use crate::imaging::Image;
use crate::imaging::image::Photometric;
use crate::imaging::pixels::FrameKind;

use super::{ViewportInput, is_gray};
use crate::app::state::{ViewTransform, ViewportState, orientation_labels, scale_bar};

/// The value under the cursor in words: modality units for gray images
/// (HU for CT), R/G/B for colour.
pub fn value_text(image: &Image, frame: usize, column: u32, row: u32) -> Option<String> {
    let f = image.frame(frame).ok()?;
    let samples = f.sample_at(column, row)?;
    if f.kind == FrameKind::Rgb || image.pixels.photometric == Photometric::PaletteColor {
        return Some(format!("{samples:?}"));
    }
    let value = image.modality_lut(frame).apply(samples[0]);
    let unit = match image.metadata.modality.as_deref() {
        Some("CT") if image.rescale_present.1.is_some() => " HU",
        _ => "",
    };
    Some(format!("{value}{unit}"))
}

/// The four corners' lines: patient, study and series, window and zoom,
/// position in the stack and slice.
pub(super) fn corner_lines(image: &Image, input: &ViewportInput, t: &ViewTransform) -> [String; 4] {
    let m = &image.metadata;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let top_left = [
        s(&m.patient_name).replace('^', " "),
        s(&m.patient_id),
        [
            s(&m.patient_sex),
            s(&m.patient_age),
            s(&m.patient_birth_date),
        ]
        .join(" "),
    ];
    let top_right = [
        s(&m.institution_name),
        [s(&m.study_date), s(&m.study_description)].join(" "),
        format!(
            "{} {}",
            m.series_number
                .map(|n| format!("Se {n}"))
                .unwrap_or_default(),
            s(&m.series_description)
        ),
    ];
    let window = if is_gray(image, input.frame) {
        input
            .window
            .map(|w| format!("W {:.0} L {:.0}", w.width, w.center))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let bottom_left = [window, format!("Zoom {:.0}%", t.scale * 100.0)];
    let mut bottom_right = vec![format!("Im {}/{}", input.stack.0 + 1, input.stack.1)];
    if image.pixels.frames > 1 {
        bottom_right.push(format!("Frame {}/{}", input.frame + 1, image.pixels.frames));
    }
    if let Some(p) = m.image_position_patient {
        bottom_right.push(format!("Pos {:.1} mm", p[2]));
    }
    if let Some(th) = m.slice_thickness {
        bottom_right.push(format!("Thk {th:.1} mm"));
    }
    let join = |v: &[String]| {
        v.iter()
            .filter(|l| !l.trim().is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    [
        join(&top_left),
        join(&top_right),
        join(&bottom_left),
        join(&bottom_right),
    ]
}

/// Paints the orientation labels `[left, right, top, bottom]` centred on
/// the edges of `rect`, `margin` points inside.
pub(crate) fn paint_edge_labels(
    painter: &egui::Painter,
    rect: Rect,
    labels: [String; 4],
    size: f32,
    margin: f32,
    color: Color32,
) {
    let [left, right, top, bottom] = labels;
    for (text, pos, align) in [
        (
            left,
            rect.left_center() + Vec2::new(margin, 0.0),
            egui::Align2::LEFT_CENTER,
        ),
        (
            right,
            rect.right_center() - Vec2::new(margin, 0.0),
            egui::Align2::RIGHT_CENTER,
        ),
        (
            top,
            rect.center_top() + Vec2::new(0.0, margin),
            egui::Align2::CENTER_TOP,
        ),
        (
            bottom,
            rect.center_bottom() - Vec2::new(0.0, margin),
            egui::Align2::CENTER_BOTTOM,
        ),
    ] {
        painter.text(pos, align, text, egui::FontId::proportional(size), color);
    }
}

pub(super) fn draw_overlays(
    painter: &egui::Painter,
    rect: Rect,
    state: &ViewportState,
    input: &ViewportInput,
    t: &ViewTransform,
) {
    let image = input.image.as_ref();
    let font = egui::FontId::proportional(13.0);
    let color = Color32::from_rgb(230, 220, 120);
    let inner = rect.shrink(6.0);
    if input.corner_text {
        let [tl, tr, bl, br] = corner_lines(image, input, t);
        painter.text(
            inner.left_top(),
            egui::Align2::LEFT_TOP,
            tl,
            font.clone(),
            color,
        );
        painter.text(
            inner.right_top(),
            egui::Align2::RIGHT_TOP,
            tr,
            font.clone(),
            color,
        );
        painter.text(
            inner.left_bottom(),
            egui::Align2::LEFT_BOTTOM,
            bl,
            font.clone(),
            color,
        );
        painter.text(
            inner.right_bottom(),
            egui::Align2::RIGHT_BOTTOM,
            br,
            font.clone(),
            color,
        );
    }
    if let Some(labels) = orientation_labels(&image.metadata, &state.view) {
        paint_edge_labels(painter, rect, labels, 16.0, 6.0, color);
    }
    if let Some((spacing, source)) = image.metadata.measurement_spacing()
        && let Some((mm, points)) = scale_bar(spacing[1], t.scale, rect.width() / 4.0)
    {
        let y = rect.bottom() - 40.0;
        let x1 = rect.right() - 20.0;
        let x0 = x1 - points;
        let stroke = egui::Stroke::new(2.0, color);
        painter.line_segment([Pos2::new(x0, y), Pos2::new(x1, y)], stroke);
        painter.line_segment([Pos2::new(x0, y - 5.0), Pos2::new(x0, y + 5.0)], stroke);
        painter.line_segment([Pos2::new(x1, y - 5.0), Pos2::new(x1, y + 5.0)], stroke);
        let detector = match source {
            crate::imaging::metadata::SpacingSource::Detector => " (at detector)",
            crate::imaging::metadata::SpacingSource::Patient => "",
        };
        painter.text(
            Pos2::new((x0 + x1) / 2.0, y - 6.0),
            egui::Align2::CENTER_BOTTOM,
            format!("{mm} mm{detector}"),
            font,
            color,
        );
    }
}
