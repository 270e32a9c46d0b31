//! Drawing the MPR layout: three panes side by side, each a plane of the
//! volume at its physical aspect ratio, with the crosshair, orientation
//! labels and corner text (plane, index, position, slab, window).
//!
//! A pane's plane is cut and windowed by `imaging::volume` (the CPU
//! reference) only when what it shows changes, never on a repaint.

use egui::{Color32, Pos2, Rect, Sense, TextureHandle};

use super::{Mpr, slot};
use crate::app::state::edge_labels;
use crate::app::viewport::{TEXTURE_OPTIONS, color_image, dragged_window, paint_edge_labels};
use crate::imaging::WindowChoice;
use crate::imaging::render::Rendered;
use crate::imaging::voi::Voi;
use crate::imaging::volume::display::{plane_voi, render_plane_with};
use crate::imaging::volume::oblique::ObliqueLine;
use crate::imaging::volume::{Plane, PlaneImage, Slab};

/// What a pane shows; a new rendering is made only when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneKey {
    /// The plane.
    pub plane: Plane,
    /// Its index.
    pub index: usize,
    /// The slab, if any.
    pub slab: Option<Slab>,
    /// The window.
    pub window: WindowChoice,
    /// The line an oblique plane holds, when the pane is oblique.
    pub line: Option<ObliqueLine>,
}

/// A pane's plane on screen, or why it cannot be shown.
pub struct PaneTexture {
    /// What it shows.
    pub key: PaneKey,
    /// The plane cut, or the reason it could not be.
    pub shown: Result<ShownPlane, String>,
}

/// A plane cut and windowed.
pub struct ShownPlane {
    /// The modality values and geometry.
    pub plane: PlaneImage,
    /// The VOI applied.
    pub voi: Voi,
    /// The 8-bit pixels (the pipeline's output).
    pub rendered: Rendered,
    /// The texture.
    pub texture: TextureHandle,
}

/// What the panes report after drawing.
#[derive(Debug, Default)]
pub struct PanesOutput {
    /// Position and value under the pointer.
    pub hover: Option<String>,
}

impl Mpr {
    /// The pane of `plane`, cut and uploaded when its key changed.
    fn update_pane(&mut self, ctx: &egui::Context, plane: Plane) {
        let key = PaneKey {
            plane,
            index: self.index(plane),
            slab: self.slab(plane),
            window: self.window.clone(),
            line: self.oblique_line(plane),
        };
        let slot = slot(plane);
        if self.panes[slot].as_ref().is_some_and(|p| p.key == key) {
            return;
        }
        let volume = &self.volume;
        let cut = match &key.line {
            Some(line) => volume.oblique_plane(line),
            None => volume.plane(plane, key.index, key.slab),
        };
        let shown = cut
            .and_then(|p| Ok((plane_voi(volume, &p, &key.window)?, p)))
            .map(|(voi, p)| {
                let rendered = render_plane_with(volume, &p, &voi);
                let texture = ctx.load_texture(
                    format!("mpr {}", plane.name()),
                    color_image(&rendered, false),
                    TEXTURE_OPTIONS,
                );
                ShownPlane {
                    plane: p,
                    voi,
                    rendered,
                    texture,
                }
            })
            .map_err(|e| e.to_string());
        self.panes[slot] = Some(PaneTexture { key, shown });
    }

    /// The plane shown in `plane`'s pane, once drawn.
    pub fn shown(&self, plane: Plane) -> Option<&ShownPlane> {
        self.panes[slot(plane)].as_ref()?.shown.as_ref().ok()
    }

    /// Why `plane`'s pane shows nothing, if it does not.
    pub fn pane_error(&self, plane: Plane) -> Option<&str> {
        self.panes[slot(plane)]
            .as_ref()?
            .shown
            .as_ref()
            .err()
            .map(String::as_str)
    }

    /// The corner text of `plane`'s pane, one line each.
    pub fn corner_text(&self, plane: Plane) -> Vec<String> {
        let count = self.volume.plane_count(plane);
        let title = match self.oblique_line(plane) {
            Some(line) => format!(
                "Oblique {:+.0}° (from {})",
                line.degrees - if plane == Plane::Sagittal { 90.0 } else { 0.0 },
                plane.name()
            ),
            None => format!(
                "{} {}/{}",
                capitalised(plane.name()),
                self.index(plane) + 1,
                count
            ),
        };
        let mut lines = vec![
            title,
            self.position_mm(plane)
                .filter(|_| !self.is_oblique(plane))
                .map(|p| format!("Pos {p:.1} mm"))
                .unwrap_or_default(),
            self.slab_text(plane),
        ];
        if let Some(Voi::Window(w)) = self.shown(plane).map(|s| &s.voi) {
            lines.push(format!("W {:.0} L {:.0}", w.width, w.center));
        }
        lines.retain(|l| !l.is_empty());
        lines
    }

    /// Draws the three panes side by side in `rect`; clicks move the
    /// crosshair (or, when `measuring`, a drag measures a length), the
    /// wheel scrolls the pane's plane, Ctrl + wheel zooms, a middle drag
    /// pans, a right drag changes the shared window.
    pub fn show(&mut self, ui: &mut egui::Ui, rect: Rect, measuring: bool) -> PanesOutput {
        let mut out = PanesOutput::default();
        for plane in Plane::ALL {
            let cell = cell_rect(rect, plane);
            self.update_pane(ui.ctx(), plane);
            self.pane_ui(ui, plane, cell, measuring, &mut out);
        }
        out
    }

    fn pane_ui(
        &mut self,
        ui: &mut egui::Ui,
        plane: Plane,
        cell: Rect,
        measuring: bool,
        out: &mut PanesOutput,
    ) {
        let response = ui
            .interact(
                cell,
                egui::Id::unique(("mpr pane", plane.name())),
                Sense::click_and_drag(),
            )
            .on_hover_cursor(egui::CursorIcon::Crosshair);
        let painter = ui.painter_at(cell);
        painter.rect_filled(cell, 0.0, Color32::BLACK);
        let corner = self.corner_text(plane);
        let lengths = self.lengths_on(plane);
        let described: Vec<String> = corner
            .iter()
            .cloned()
            .chain(lengths.iter().map(|l| format!("Length {:.1} mm", l.mm)))
            .collect();
        response.widget_info(|| {
            let mut info = egui::WidgetInfo::labeled(
                egui::Role::Canvas,
                true,
                format!("{} plane", capitalised(plane.name())),
            );
            info.current_text_value = Some(described.join("\n"));
            info
        });
        if response.clicked() || response.dragged_by(egui::PointerButton::Primary) {
            self.active = plane;
        }
        if response.hovered() {
            let wheel: f32 = ui.input(|i| {
                i.events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::MouseWheel { delta, .. } => Some(delta.y),
                        _ => None,
                    })
                    .sum()
            });
            let command = ui.input(|i| i.modifiers.command);
            if wheel != 0.0 && command {
                self.active = plane;
                self.zoom_by(plane, if wheel > 0.0 { 1.1 } else { 1.0 / 1.1 });
            } else if wheel != 0.0 {
                self.active = plane;
                self.scroll(plane, if wheel < 0.0 { 1 } else { -1 });
            }
        }
        if response.dragged_by(egui::PointerButton::Middle) {
            let d = response.drag_delta();
            let pan = &mut self.pan[slot(plane)];
            pan[0] += d.x;
            pan[1] += d.y;
        }
        if response.dragged_by(egui::PointerButton::Secondary)
            && let Some(Voi::Window(w)) = self.shown(plane).map(|s| s.voi.clone())
        {
            let modifiers = ui.input(|i| i.modifiers);
            let w = dragged_window(w, response.drag_delta(), modifiers);
            self.window = WindowChoice::Explicit(w);
        }
        let Some(shown) = self.shown(plane) else {
            let text = self.pane_error(plane).unwrap_or("").to_string();
            painter.text(
                cell.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(13.0),
                Color32::LIGHT_RED,
            );
            self.corner(&painter, cell, &corner);
            return;
        };
        let image_rect = self.image_rect(shown, cell, plane);
        let (w, h) = (shown.plane.width as f32, shown.plane.height as f32);
        let to_plane = |p: Pos2| {
            [
                ((p.x - image_rect.left()) / image_rect.width() * w) as f64,
                ((p.y - image_rect.top()) / image_rect.height() * h) as f64,
            ]
        };
        let to_screen = |[x, y]: [f64; 2]| {
            Pos2::new(
                image_rect.left() + x as f32 / w * image_rect.width(),
                image_rect.top() + y as f32 / h * image_rect.height(),
            )
        };
        let to_pixel = |p: Pos2| {
            let [x, y] = to_plane(p);
            (x >= 0.0 && y >= 0.0 && x < w as f64 && y < h as f64)
                .then_some((x as usize, y as usize))
        };
        let mut mesh = egui::Mesh::with_texture(shown.texture.id());
        mesh.add_rect_with_uv(
            image_rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        painter.add(mesh);
        let (cx, cy) = self.crosshair(plane);
        let sx = image_rect.left() + (cx as f32 + 0.5) / w * image_rect.width();
        let sy = image_rect.top() + (cy as f32 + 0.5) / h * image_rect.height();
        let stroke = egui::Stroke::new(1.0, Color32::from_rgba_unmultiplied(255, 200, 0, 160));
        let rotated = [Plane::Coronal, Plane::Sagittal].map(|p| self.oblique_line(p));
        if plane == Plane::Axial && rotated[0].is_some() {
            // The rotated crosshair: the lines the oblique planes hold.
            for line in rotated.into_iter().flatten() {
                let end = |k: usize| {
                    let at = |axis: usize| line.start[axis] + k as f64 * line.step[axis] + 0.5;
                    to_screen([at(0), at(1)])
                };
                painter.line_segment([end(0), end(line.count.saturating_sub(1))], stroke);
            }
        } else {
            painter.vline(sx, image_rect.y_range(), stroke);
            painter.hline(image_rect.x_range(), sy, stroke);
        }
        paint_edge_labels(
            &painter,
            cell,
            edge_labels(shown.plane.right, shown.plane.down),
            14.0,
            4.0,
            Color32::from_rgb(255, 220, 120),
        );
        let measure_colour = Color32::from_rgb(120, 230, 255);
        for length in &lengths {
            let [a, b] = length.ends.map(to_screen);
            painter.line_segment([a, b], egui::Stroke::new(1.5, measure_colour));
            painter.text(
                b + egui::vec2(6.0, -6.0),
                egui::Align2::LEFT_BOTTOM,
                format!("{:.1} mm", length.mm),
                egui::FontId::proportional(13.0),
                measure_colour,
            );
        }
        let primary = response.dragged_by(egui::PointerButton::Primary);
        if measuring && !self.is_oblique(plane) {
            // The length tool: a primary drag measures instead of moving
            // the crosshair.
            if let Some(p) = response.interact_pointer_pos().filter(|_| primary) {
                let at = to_plane(p);
                match &mut self.drawing {
                    Some((on, _, end)) if *on == plane => *end = at,
                    _ => {
                        // From where the button went down, not where the
                        // drag was first noticed.
                        let origin = ui.input(|i| i.pointer.press_origin()).unwrap_or(p);
                        self.drawing = Some((plane, to_plane(origin), at));
                    }
                }
            }
            if let Some((on, start, end)) = self.drawing
                && on == plane
            {
                if response.drag_stopped() {
                    self.drawing = None;
                    if start != end {
                        self.measure(plane, start, end);
                    }
                } else {
                    let (a, b) = (to_screen(start), to_screen(end));
                    painter.line_segment([a, b], egui::Stroke::new(1.5, measure_colour));
                }
            }
        } else {
            let pointer = response
                .interact_pointer_pos()
                .filter(|_| response.clicked() || primary);
            if let Some((x, y)) = pointer.and_then(to_pixel) {
                self.click(plane, x, y);
            }
        }
        if let Some((x, y)) = response.hover_pos().and_then(to_pixel)
            && let Some(shown) = self.shown(plane)
        {
            let value = shown.plane.values[y * shown.plane.width as usize + x];
            out.hover = Some(format!("{} x {x}, y {y}: {value:.1}", plane.name()));
        }
        let stroke = if self.active == plane {
            egui::Stroke::new(2.0, Color32::from_rgb(70, 130, 200))
        } else {
            egui::Stroke::new(1.0, Color32::DARK_GRAY)
        };
        painter.rect_stroke(cell, 0.0, stroke, egui::StrokeKind::Inside);
        self.corner(&painter, cell, &corner);
    }

    fn corner(&self, painter: &egui::Painter, cell: Rect, lines: &[String]) {
        painter.text(
            cell.left_top() + egui::vec2(6.0, 6.0),
            egui::Align2::LEFT_TOP,
            lines.join("\n"),
            egui::FontId::proportional(13.0),
            Color32::from_gray(230),
        );
    }

    /// The pane rectangle of `plane` and the image rectangle inside it,
    /// for tests that click on a voxel: the screen point of the centre of
    /// pixel (`x`, `y`) of the pane showing `plane` in `rect`.
    pub fn screen_point(&self, plane: Plane, rect: Rect, x: usize, y: usize) -> Option<Pos2> {
        let shown = self.shown(plane)?;
        let image_rect = self.image_rect(shown, cell_rect(rect, plane), plane);
        Some(Pos2::new(
            image_rect.left() + (x as f32 + 0.5) / shown.plane.width as f32 * image_rect.width(),
            image_rect.top() + (y as f32 + 0.5) / shown.plane.height as f32 * image_rect.height(),
        ))
    }
}

/// The pane of `plane` in the layout's `rect`: a third of it, axial,
/// coronal and sagittal from the left.
fn cell_rect(rect: Rect, plane: Plane) -> Rect {
    let width = rect.width() / 3.0;
    Rect::from_min_size(
        rect.min + egui::vec2(slot(plane) as f32 * width, 0.0),
        egui::vec2(width, rect.height()),
    )
    .shrink(1.0)
}

impl Mpr {
    /// The image's rectangle in `plane`'s `cell`: the fitted one zoomed
    /// about the cell's centre and panned.
    fn image_rect(&self, shown: &ShownPlane, cell: Rect, plane: Plane) -> Rect {
        let fitted = fit(shown, cell);
        let [dx, dy] = self.pan[slot(plane)];
        Rect::from_center_size(
            fitted.center() + egui::vec2(dx, dy),
            fitted.size() * self.zoom[slot(plane)],
        )
    }
}

/// The image's rectangle in `cell`: centred, at its physical aspect ratio
/// (row and column spacing), as large as fits.
fn fit(shown: &ShownPlane, cell: Rect) -> Rect {
    let p = &shown.plane;
    let row = p
        .row_spacing
        .filter(|s| *s > 0.0)
        .unwrap_or(p.column_spacing);
    let (w_mm, h_mm) = (
        p.width as f32 * p.column_spacing as f32,
        p.height as f32 * row as f32,
    );
    let inner = cell.shrink(18.0);
    let scale = (inner.width() / w_mm.max(1e-3)).min(inner.height() / h_mm.max(1e-3));
    Rect::from_center_size(cell.center(), egui::vec2(w_mm * scale, h_mm * scale))
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
