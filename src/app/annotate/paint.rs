//! Drawing annotations, the shape being drawn and the measurement labels,
//! and the measurement list of the AI panel.

use std::sync::Arc;

use egui::{Color32, Pos2, Stroke};

use super::{Annotator, Draft, Tool, shape_of};
use crate::annotations::geometry::{handles, outline};
use crate::annotations::measure::Calibration;
use crate::annotations::{Annotation, Point, Shape};
use crate::app::state::ViewTransform;
use crate::imaging::Image;

impl Annotator {
    /// Draws image `index`'s annotations on `frame`, the draft, and the
    /// measurement labels.
    pub fn paint(
        &mut self,
        painter: &egui::Painter,
        t: &ViewTransform,
        image: &Arc<Image>,
        index: usize,
        frame: usize,
    ) {
        let selected = self.selected.filter(|(i, _)| *i == index).map(|(_, id)| id);
        let font = egui::FontId::proportional(13.0);
        if let Some(a) = self.per_image.get_mut(&index) {
            let on_frame: Vec<Annotation> = a.set().on_frame(frame).cloned().collect();
            for annotation in &on_frame {
                let is_selected = Some(annotation.id) == selected;
                let color = if is_selected {
                    Color32::from_rgb(90, 220, 255)
                } else {
                    Color32::from_rgb(255, 210, 60)
                };
                draw_shape(painter, t, &annotation.shape, color, &font);
                if is_selected {
                    for p in handles(&annotation.shape) {
                        painter.rect_filled(
                            egui::Rect::from_center_size(screen(t, p), egui::vec2(7.0, 7.0)),
                            0.0,
                            color,
                        );
                    }
                }
                if let Some(text) = a.measurement(&self.jobs, image, index, annotation) {
                    let at = label_anchor(t, &annotation.shape);
                    painter.text(
                        at + egui::vec2(8.0, -8.0),
                        egui::Align2::LEFT_BOTTOM,
                        text,
                        font.clone(),
                        color,
                    );
                }
            }
        }
        let draft_color = Color32::from_rgb(120, 255, 140);
        match self.draft.as_ref() {
            Some((
                i,
                f,
                Draft::Drag {
                    tool,
                    start,
                    current,
                },
            )) if *i == index && *f == frame => {
                let shape = if *tool == Tool::Angle {
                    Some(Shape::Length {
                        start: *start,
                        end: *current,
                    })
                } else {
                    shape_of(*tool, *start, *current)
                };
                if let Some(shape) = shape {
                    draw_shape(painter, t, &shape, draft_color, &font);
                    if let Shape::Length { start, end } = shape {
                        let l = crate::annotations::measure::length(
                            &Calibration::of(&image.metadata),
                            start,
                            end,
                        );
                        painter.text(
                            screen(t, end) + egui::vec2(8.0, -8.0),
                            egui::Align2::LEFT_BOTTOM,
                            format!("{:.1} {}", l.value, l.unit),
                            font.clone(),
                            draft_color,
                        );
                    }
                }
            }
            Some((
                i,
                f,
                Draft::SecondArm {
                    first,
                    vertex,
                    current,
                },
            )) if *i == index && *f == frame => {
                let shape = Shape::Angle {
                    first: *first,
                    vertex: *vertex,
                    second: *current,
                };
                draw_shape(painter, t, &shape, draft_color, &font);
            }
            _ => {}
        }
    }
}

/// The measurement list of image `index`'s `frame`: one selectable row per
/// annotation with its measurement ("Length #1: 42.1 mm"), so every value
/// on the image can also be read, selected and found by label.
pub fn list_ui(
    ui: &mut egui::Ui,
    annotator: &mut Annotator,
    image: &Arc<Image>,
    index: usize,
    frame: usize,
) {
    ui.strong("Measurements and annotations");
    let selected = annotator.selected;
    let Some(a) = annotator.per_image.get_mut(&index) else {
        ui.label("None on this image.");
        return;
    };
    if let Some(reason) = &a.load_error {
        ui.colored_label(
            Color32::LIGHT_RED,
            format!("Saved annotations unreadable (kept, not overwritten): {reason}"),
        );
    }
    let on_frame: Vec<Annotation> = a.set().on_frame(frame).cloned().collect();
    if on_frame.is_empty() {
        ui.label("None on this image.");
    }
    let mut pick = None;
    for annotation in &on_frame {
        let name = annotation
            .label
            .clone()
            .unwrap_or_else(|| annotation.shape.kind_name().to_string());
        let text = match (
            &annotation.shape,
            a.measurement(&annotator.jobs, image, index, annotation),
        ) {
            (_, Some(m)) => format!("{name} #{}: {m}", annotation.id.0),
            (Shape::Text { text, .. }, None) => format!("{name} #{}: {text}", annotation.id.0),
            (_, None) => format!("{name} #{}", annotation.id.0),
        };
        let is_selected = selected == Some((index, annotation.id));
        // Wrapped, so a long ROI line does not widen the panel.
        if ui
            .add(egui::Button::selectable(is_selected, text).wrap())
            .clicked()
        {
            pick = Some(annotation.id);
        }
    }
    if let Some(id) = pick {
        annotator.selected = Some((index, id));
    }
}
fn screen(t: &ViewTransform, p: Point) -> Pos2 {
    let [x, y] = t.to_screen(p.x as f32, p.y as f32);
    Pos2::new(x, y)
}

fn label_anchor(t: &ViewTransform, shape: &Shape) -> Pos2 {
    let points = outline(shape);
    // The right-most point on screen keeps the label off the shape.
    points
        .iter()
        .map(|p| screen(t, *p))
        .max_by(|a, b| a.x.total_cmp(&b.x))
        .unwrap_or_default()
}

fn draw_shape(
    painter: &egui::Painter,
    t: &ViewTransform,
    shape: &Shape,
    color: Color32,
    font: &egui::FontId,
) {
    let stroke = Stroke::new(1.5, color);
    match shape {
        Shape::Text { anchor, text } => {
            painter.text(
                screen(t, *anchor),
                egui::Align2::LEFT_TOP,
                text,
                font.clone(),
                color,
            );
        }
        Shape::Arrow { tail, head } => {
            let (a, b) = (screen(t, *tail), screen(t, *head));
            painter.line_segment([a, b], stroke);
            let dir = (b - a).normalized();
            if dir.is_finite() {
                let side = egui::vec2(-dir.y, dir.x);
                for s in [1.0, -1.0] {
                    painter.line_segment([b, b - dir * 12.0 + side * 6.0 * s], stroke);
                }
            }
        }
        _ => {
            let points: Vec<Pos2> = outline(shape).iter().map(|p| screen(t, *p)).collect();
            painter.add(egui::Shape::line(points, stroke));
        }
    }
}
