//! One viewport: the windowed frame as a texture (re-rendered only when
//! the frame, window or inversion changes), zoom, pan, window/level drag,
//! stack scroll, the heatmap layer and the overlays (corner text,
//! orientation labels, scale bar).

use std::sync::Arc;

use egui::{Color32, Pos2, Rect, Sense, Vec2};

use crate::ai::saliency::Heatmap;
use crate::ai::saliency::overlay::OverlayStyle;
use crate::imaging::pixels::FrameKind;
use crate::imaging::voi::Window;
use crate::imaging::{Image, WindowChoice};

use super::annotate::{Annotator, Tool};
use super::state::{ViewState, ViewTransform, ViewportState};

mod foreign_layer;
mod overlays;
mod texture;

pub use self::foreign_layer::{ForeignInput, ForeignTextures};

pub(crate) use self::overlays::paint_edge_labels;
pub use self::overlays::value_text;
pub use self::texture::{
    DisplayKey, Displayed, HeatmapLayer, TEXTURE_OPTIONS, color_image, preview_step,
    render_gray_for_display, rgba_texture, update_texture,
};
pub use super::window_cache::current_window;

/// True when window/level applies (gray images).
pub fn is_gray(image: &Image, frame: usize) -> bool {
    image.pixels.photometric.is_monochrome()
        && image.frame(frame).is_ok_and(|f| f.kind == FrameKind::Gray)
}

/// What the viewport reports back after drawing.
#[derive(Debug, Default)]
pub struct ViewportOutput {
    /// The viewport was clicked or dragged (make it active).
    pub activated: bool,
    /// Stack steps from the wheel.
    pub scroll_steps: i64,
    /// Position and value under the cursor.
    pub hover: Option<String>,
}

/// Where `image` is drawn in a viewport `rect` under `view`.
pub fn view_transform(view: &ViewState, image: &Image, rect: Rect) -> ViewTransform {
    ViewTransform::new(
        view,
        [image.pixels.columns as f32, image.pixels.rows as f32],
        [rect.center().x, rect.center().y],
        [rect.width(), rect.height()],
    )
}

/// The source pixels visible in a viewport `rect` under `view`, clipped to
/// the image; `None` when the whole image is visible.
pub fn visible_region(
    view: &ViewState,
    image: &Image,
    rect: Rect,
) -> Option<crate::reports::Region> {
    let t = view_transform(view, image, rect);
    let corners = [
        rect.left_top(),
        rect.right_top(),
        rect.right_bottom(),
        rect.left_bottom(),
    ]
    .map(|p| t.to_image(p.x, p.y));
    let (w, h) = (image.pixels.columns as f32, image.pixels.rows as f32);
    // The corners' extent along one image axis, clamped to the image.
    let extent = |axis: usize, limit: f32| {
        let values = corners.iter().map(|c| c[axis]);
        let low = values.clone().fold(f32::MAX, f32::min).clamp(0.0, limit);
        let high = values.fold(f32::MIN, f32::max).clamp(0.0, limit);
        (low, high)
    };
    let (x0, x1) = extent(0, w);
    let (y0, y1) = extent(1, h);
    let region = crate::reports::Region {
        x: x0.floor() as u32,
        y: y0.floor() as u32,
        width: (x1.ceil() - x0.floor()).max(1.0) as u32,
        height: (y1.ceil() - y0.floor()).max(1.0) as u32,
    };
    let whole = region.x == 0
        && region.y == 0
        && region.width >= image.pixels.columns
        && region.height >= image.pixels.rows;
    (!whole).then_some(region)
}

pub(crate) fn textured_mesh(
    texture: egui::TextureId,
    t: &ViewTransform,
    tint: Color32,
) -> egui::Mesh {
    let mut mesh = egui::Mesh::with_texture(texture);
    let [w, h] = t.image_size;
    let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    for (x, y) in corners {
        let [sx, sy] = t.to_screen(x, y);
        mesh.vertices.push(egui::epaint::Vertex {
            pos: Pos2::new(sx, sy),
            uv: Pos2::new(x / w, y / h),
            color: tint,
        });
    }
    mesh.add_triangle(0, 1, 2);
    mesh.add_triangle(0, 2, 3);
    mesh
}

/// How a viewport's frame reaches the screen.
pub enum FramePicture {
    /// The CPU path's 8-bit texture.
    Texture(egui::TextureId),
    /// The GPU path: stored values and a display table on the GPU.
    Gpu(crate::app::gpu::GpuSource),
    /// Nothing could be rendered (the error is shown instead).
    Missing,
}

/// A viewport's layer textures, kept between frames.
#[derive(Default)]
pub struct Layers {
    /// The AI heatmap.
    pub heatmap: Option<HeatmapLayer>,
    /// Other systems' maps and segments.
    pub foreign: ForeignTextures,
}

/// Everything needed to draw one viewport.
pub struct ViewportInput<'a> {
    /// Index, for ids and labels.
    pub index: usize,
    /// The image and frame shown.
    pub image: &'a Arc<Image>,
    /// Frame shown.
    pub frame: usize,
    /// Position in the stack and its length.
    pub stack: (usize, usize),
    /// The image's index in the library.
    pub image_index: usize,
    /// How the frame reaches the screen.
    pub picture: FramePicture,
    /// Heatmap to draw, if shown.
    pub heatmap: Option<(&'a Heatmap, OverlayStyle)>,
    /// What other systems put on this image and frame.
    pub foreign: Option<ForeignInput<'a>>,
    /// Draw the four-corner text.
    pub corner_text: bool,
    /// Highlight as the active viewport.
    pub active: bool,
    /// The window applied, resolved (see `app::window_cache`), for the
    /// corner text and the start of a window drag.
    pub window: Option<Window>,
    /// Where the active viewport's slice crosses this image (image
    /// coordinates), drawn as a reference line.
    pub reference_line: Option<[[f32; 2]; 2]>,
}

/// The colour of reference lines (the active slice on other viewports).
pub const REFERENCE_LINE_COLOR: Color32 = Color32::from_rgb(240, 220, 40);

/// Draws a viewport and applies zoom, pan and window/level drags to
/// `state`; the left button goes to `annotator`'s tool first (drawing,
/// picking, dragging handles) and pans only when the tool leaves it.
pub fn show(
    ui: &mut egui::Ui,
    rect: Rect,
    state: &mut ViewportState,
    input: ViewportInput<'_>,
    layers: &mut Layers,
    annotator: &mut Annotator,
) -> ViewportOutput {
    let mut out = ViewportOutput::default();
    let id = egui::Id::unique(("viewport", input.index));
    let response = ui
        .interact(rect, id, Sense::click_and_drag())
        .on_hover_cursor(egui::CursorIcon::Crosshair);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    let image = input.image.as_ref();
    let mut t = view_transform(&state.view, image, rect);

    if response.clicked() || response.drag_started() || response.secondary_clicked() {
        out.activated = true;
    }
    if response.double_clicked() && annotator.tool == Tool::Navigate {
        state.view.zoom = None;
        state.view.pan = [0.0, 0.0];
    }
    // Wheel scrolls the stack (zooms a single image); Ctrl + wheel or a
    // pinch zooms about the cursor.
    if response.hovered() {
        let (wheel, zoom, command, pointer) = ui.input(|i| {
            let wheel: f32 = i
                .events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::MouseWheel { delta, .. } => Some(delta.y),
                    _ => None,
                })
                .sum();
            (
                wheel,
                i.zoom_delta(),
                i.modifiers.command,
                i.pointer.hover_pos(),
            )
        });
        let notch = if wheel > 0.0 { 1.1 } else { 1.0 / 1.1 };
        if zoom != 1.0 {
            zoom_about(state, &t, rect, zoom, pointer);
        } else if wheel != 0.0 && (command || input.stack.1 <= 1) {
            zoom_about(state, &t, rect, notch, pointer);
        } else if wheel != 0.0 {
            out.scroll_steps = if wheel < 0.0 { 1 } else { -1 };
        }
    }
    t = view_transform(&state.view, image, rect);
    let image_index = input.image_index;
    let used = annotator.interact(&response, &t, image_index, input.frame);
    if !used && response.dragged_by(egui::PointerButton::Primary) {
        let d = response.drag_delta();
        state.view.pan[0] += d.x;
        state.view.pan[1] += d.y;
    }
    let was_adjusting = state.adjusting;
    state.adjusting =
        response.dragged_by(egui::PointerButton::Secondary) && is_gray(image, input.frame);
    if was_adjusting && !state.adjusting {
        // One more frame, to replace the drag's preview at full resolution.
        ui.ctx().request_repaint();
    }
    if state.adjusting {
        let d = response.drag_delta();
        let modifiers = ui.input(|i| i.modifiers);
        window_drag(state, input.window, d, modifiers);
    }
    t = view_transform(&state.view, image, rect);

    match &input.picture {
        FramePicture::Texture(id) => {
            painter.add(textured_mesh(*id, &t, Color32::WHITE));
        }
        FramePicture::Gpu(source) => {
            let [w, h] = t.image_size;
            let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)].map(|(x, y)| {
                let [sx, sy] = t.to_screen(x, y);
                Pos2::new(sx, sy)
            });
            let frame = source.frame(Arc::clone(input.image), input.frame, corners);
            painter.add(frame.callback(rect));
        }
        FramePicture::Missing => {}
    }
    if let Some((heatmap, style)) = input.heatmap {
        let name = format!("heatmap {}", input.index);
        let shown = (input.image_index, input.frame);
        HeatmapLayer::update(ui.ctx(), &name, &mut layers.heatmap, shown, heatmap, &style);
        if let Some(l) = layers.heatmap.as_ref()
            && (heatmap.width, heatmap.height) == (image.pixels.columns, image.pixels.rows)
        {
            painter.add(textured_mesh(l.texture().id(), &t, Color32::WHITE));
        }
        if heatmap.is_unfaithful() {
            // Drawn only because the reader asked: the warning stays on it.
            painter.text(
                rect.center_top() + egui::vec2(0.0, 24.0),
                egui::Align2::CENTER_TOP,
                "Heatmap NOT FAITHFUL: shown on request; do not read it as where the model looked",
                egui::FontId::proportional(14.0),
                Color32::from_rgb(255, 170, 60),
            );
        }
    }

    if let Some(foreign) = &input.foreign {
        foreign_layer::paint(
            &painter,
            rect,
            &t,
            (image_index, input.frame),
            foreign,
            &mut layers.foreign,
            &format!("foreign {}", input.index),
        );
    }

    if let Some(line) = input.reference_line {
        let [a, b] = line.map(|[x, y]| {
            let [sx, sy] = t.to_screen(x, y);
            Pos2::new(sx, sy)
        });
        painter.line_segment([a, b], egui::Stroke::new(1.5, REFERENCE_LINE_COLOR));
    }
    annotator.paint(&painter, &t, input.image, image_index, input.frame);

    if let Some(pos) = response.hover_pos()
        && let Some((c, r)) = t.pixel_at(pos.x, pos.y)
    {
        let value = value_text(image, input.frame, c, r).unwrap_or_default();
        let mut hover = format!("x {c}, y {r}: {value}");
        if let Some(foreign) = &input.foreign {
            for line in foreign.results.readout(&foreign.on, c as usize, r as usize) {
                hover.push_str(&format!(" · {line}"));
            }
        }
        out.hover = Some(hover);
    }
    overlays::draw_overlays(&painter, rect, state, &input, &t);
    // The corner text is painted, so it is also given to assistive
    // technology as the viewport's value.
    let corners: Vec<String> = overlays::corner_lines(image, &input, &t)
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect();
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::labeled(
            egui::Role::Canvas,
            true,
            format!("Viewport {}", input.index + 1),
        );
        info.current_text_value = Some(corners.join("\n"));
        info
    });
    let stroke = if input.active {
        egui::Stroke::new(2.0, Color32::from_rgb(70, 130, 200))
    } else {
        egui::Stroke::new(1.0, Color32::DARK_GRAY)
    };
    painter.rect_stroke(rect, 0.0, stroke, egui::StrokeKind::Inside);
    out
}

fn zoom_about(
    state: &mut ViewportState,
    t: &ViewTransform,
    rect: Rect,
    factor: f32,
    pointer: Option<Pos2>,
) {
    let new_scale = (t.scale * factor).clamp(0.02, 64.0);
    let factor = new_scale / t.scale;
    let anchor = pointer.unwrap_or(rect.center()) - rect.center();
    let pan = Vec2::new(state.view.pan[0], state.view.pan[1]);
    let pan = anchor - (anchor - pan) * factor;
    state.view.pan = [pan.x, pan.y];
    state.view.zoom = Some(new_scale);
}

/// Right-drag: horizontal changes the width, vertical the level, from the
/// `current` window. Shift is fine (×0.2), Ctrl coarse (×5).
pub fn window_drag(
    state: &mut ViewportState,
    current: Option<Window>,
    delta: Vec2,
    modifiers: egui::Modifiers,
) {
    let Some(w) = current else {
        return;
    };
    state.view.window = WindowChoice::Explicit(dragged_window(w, delta, modifiers));
}

/// The window `w` becomes by a right drag of `delta`: horizontal changes
/// the width, vertical the level; Shift is fine (×0.2), Ctrl coarse (×5).
pub fn dragged_window(mut w: Window, delta: Vec2, modifiers: egui::Modifiers) -> Window {
    let mut step = w.width.max(20.0) / 300.0;
    if modifiers.shift {
        step *= 0.2;
    }
    if modifiers.command || modifiers.ctrl {
        step *= 5.0;
    }
    w.width = (w.width + delta.x as f64 * step).max(1.0);
    w.center += delta.y as f64 * step;
    w
}
