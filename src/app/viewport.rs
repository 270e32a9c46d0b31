//! One viewport: the windowed frame as a texture (re-rendered only when
//! the frame, window or inversion changes), zoom, pan, window/level drag,
//! stack scroll, the heatmap layer and the overlays (corner text,
//! orientation labels, scale bar).

use std::sync::Arc;

use egui::{Color32, Pos2, Rect, Sense, TextureHandle, TextureOptions, Vec2};

use crate::ai::saliency::Heatmap;
use crate::ai::saliency::overlay::{OverlayStyle, heatmap_rgba};
use crate::imaging::image::Photometric;
use crate::imaging::pixels::FrameKind;
use crate::imaging::render::{GrayLut, Rendered, render_frame, render_sampled, resolve_voi};
use crate::imaging::voi::{Voi, Window};
use crate::imaging::{Image, WindowChoice};

use super::annotate::Annotator;
use super::state::{ViewState, ViewTransform, ViewportState, orientation_labels, scale_bar};

/// Pixels magnified stay sharp squares; minified ones are filtered.
pub const TEXTURE_OPTIONS: TextureOptions = TextureOptions {
    magnification: egui::TextureFilter::Nearest,
    minification: egui::TextureFilter::Linear,
    wrap_mode: egui::TextureWrapMode::ClampToEdge,
    mipmap_mode: None,
};

/// What a texture shows; a new rendering is made only when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayKey {
    /// Image index in the library.
    pub image: usize,
    /// Frame.
    pub frame: usize,
    /// Window.
    pub window: WindowChoice,
    /// Reader's inversion.
    pub invert: bool,
    /// Every `step`-th pixel in each direction: 1 shows every pixel; more
    /// only while the window is dragged on a minified image.
    pub step: usize,
}

/// The sampling step for a viewport showing an image at `scale` points
/// per pixel: 1 (every pixel) unless the window is being dragged on an
/// image shown smaller than 1 screen pixel per image pixel, where the
/// preview samples about one image pixel per screen pixel. When the drag
/// ends the full-resolution rendering is made once.
pub fn preview_step(adjusting: bool, scale: f32, pixels_per_point: f32) -> usize {
    let per_screen_pixel = scale * pixels_per_point;
    if !adjusting || per_screen_pixel >= 1.0 || per_screen_pixel <= 0.0 {
        return 1;
    }
    ((1.0 / per_screen_pixel).floor() as usize).clamp(1, 64)
}

/// The frame on screen in one viewport.
pub struct Displayed {
    /// What it shows.
    pub key: DisplayKey,
    /// The pipeline's 8-bit output (before the reader's inversion), the
    /// very pixels `hilum render` writes for the same window.
    pub rendered: Rendered,
    /// The texture.
    pub texture: TextureHandle,
    /// How many times the texture was uploaded.
    pub uploads: u64,
}

/// The heatmap layer on screen in one viewport.
pub struct HeatmapLayer {
    /// Image index, frame, the heatmap's caption and the overlay style.
    key: (usize, usize, String, OverlayStyleKey),
    texture: TextureHandle,
}

type OverlayStyleKey = (u32, u32, usize);

fn style_key(style: &OverlayStyle) -> OverlayStyleKey {
    (
        style.opacity.to_bits(),
        style.threshold.to_bits(),
        style.colormap as usize,
    )
}

/// Converts a rendering to an egui image, inverting when asked.
pub fn color_image(rendered: &Rendered, invert: bool) -> egui::ColorImage {
    let size = [rendered.width as usize, rendered.height as usize];
    let flip = |v: u8| if invert { 255 - v } else { v };
    if rendered.channels == 1 {
        egui::ColorImage::from_gray_iter(size, rendered.pixels.iter().map(|&v| flip(v)))
    } else {
        let rgb: Vec<u8> = rendered.pixels.iter().map(|&v| flip(v)).collect();
        egui::ColorImage::from_rgb(size, &rgb)
    }
}

/// A gray frame windowed by the pipeline's own lookup table
/// ([`GrayLut`], the table `render_frame` uses), written straight into the
/// texture's pixels in one pass split across the CPU's cores: the
/// window/level path for large radiographs. `None` when the frame is not
/// gray or its stored range is too wide for a table (then `render_frame`
/// is used).
pub fn render_gray_for_display(
    image: &Image,
    frame: usize,
    window: &WindowChoice,
    invert: bool,
) -> Option<crate::ImagingResult<(Rendered, egui::ColorImage)>> {
    if !is_gray(image, frame) || image.pixels.photometric == Photometric::PaletteColor {
        return None;
    }
    let f = match image.frame(frame) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let voi = match resolve_voi(image, frame, window) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    let lut = GrayLut::new(image, frame, &voi)?;
    let n = f.pixel_count();
    let mut gray = vec![0u8; n];
    let mut color = vec![Color32::BLACK; n];
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 16);
    // Below ~1 Mpixel one thread is as fast as starting several.
    let chunk = if n < 1 << 20 {
        n.max(1)
    } else {
        n.div_ceil(threads)
    };
    let (samples, lut) = (&f.samples, &lut);
    std::thread::scope(|scope| {
        for (i, (g, c)) in gray
            .chunks_mut(chunk)
            .zip(color.chunks_mut(chunk))
            .enumerate()
        {
            scope.spawn(move || {
                lut.apply_from(samples, i * chunk, g);
                for (o, &v) in c.iter_mut().zip(g.iter()) {
                    *o = Color32::from_gray(if invert { 255 - v } else { v });
                }
            });
        }
    });
    let size = [f.columns as usize, f.rows as usize];
    let rendered = Rendered {
        width: f.columns,
        height: f.rows,
        channels: 1,
        pixels: gray,
    };
    Some(Ok((rendered, egui::ColorImage::new(size, color))))
}

/// Makes sure `slot` shows `key`: renders through the pipeline and uploads
/// only when the key changed. Returns the error text when rendering fails.
pub fn update_texture(
    ctx: &egui::Context,
    name: &str,
    slot: &mut Option<Displayed>,
    image: &Image,
    key: DisplayKey,
) -> Result<(), String> {
    if slot.as_ref().is_some_and(|d| d.key == key) {
        return Ok(());
    }
    // Larger than the GPU allows: show a nearest-neighbour resample that
    // fits (the pipeline windows the sampled pixels) instead of failing.
    let max_side = ctx.input(|i| i.max_texture_side).max(1);
    let (w, h) = (image.pixels.columns as usize, image.pixels.rows as usize);
    let (rendered, color) = if w.max(h) > max_side || key.step > 1 {
        let step = texture_step(w, h, max_side).max(key.step);
        let xs: Vec<usize> = (0..w).step_by(step).collect();
        let ys: Vec<usize> = (0..h).step_by(step).collect();
        let rendered =
            render_sampled(image, key.frame, &key.window, &xs, &ys).map_err(|e| e.to_string())?;
        let color = color_image(&rendered, key.invert);
        (rendered, color)
    } else {
        match render_gray_for_display(image, key.frame, &key.window, key.invert) {
            Some(done) => done.map_err(|e| e.to_string())?,
            None => {
                let rendered =
                    render_frame(image, key.frame, &key.window).map_err(|e| e.to_string())?;
                let color = color_image(&rendered, key.invert);
                (rendered, color)
            }
        }
    };
    match slot {
        Some(d) => {
            d.texture.set(color, TEXTURE_OPTIONS);
            d.rendered = rendered;
            d.key = key;
            d.uploads += 1;
        }
        None => {
            let texture = ctx.load_texture(name, color, TEXTURE_OPTIONS);
            *slot = Some(Displayed {
                key,
                rendered,
                texture,
                uploads: 1,
            });
        }
    }
    Ok(())
}

/// The window currently applied to `image`'s frame, as center and width
/// (a VOI LUT is replaced by the frame's min–max window).
pub fn current_window(image: &Image, frame: usize, choice: &WindowChoice) -> Option<Window> {
    match resolve_voi(image, frame, choice).ok()? {
        Voi::Window(w) => Some(w),
        Voi::Table(_) => match resolve_voi(image, frame, &WindowChoice::MinMax).ok()? {
            Voi::Window(w) => Some(w),
            Voi::Table(_) => None,
        },
    }
}

/// True when window/level applies (gray images).
pub fn is_gray(image: &Image, frame: usize) -> bool {
    image.pixels.photometric.is_monochrome()
        && image.frame(frame).is_ok_and(|f| f.kind == FrameKind::Gray)
}

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

/// Every how many pixels a `w`×`h` image is sampled so that its texture
/// fits `max_side` (1 when it fits).
fn texture_step(w: usize, h: usize, max_side: usize) -> usize {
    w.max(h).div_ceil(max_side.max(1)).max(1)
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
    let x0 = corners
        .iter()
        .map(|c| c[0])
        .fold(f32::MAX, f32::min)
        .clamp(0.0, w);
    let x1 = corners
        .iter()
        .map(|c| c[0])
        .fold(f32::MIN, f32::max)
        .clamp(0.0, w);
    let y0 = corners
        .iter()
        .map(|c| c[1])
        .fold(f32::MAX, f32::min)
        .clamp(0.0, h);
    let y1 = corners
        .iter()
        .map(|c| c[1])
        .fold(f32::MIN, f32::max)
        .clamp(0.0, h);
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

fn textured_mesh(texture: egui::TextureId, t: &ViewTransform, tint: Color32) -> egui::Mesh {
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
    /// The texture.
    pub displayed: &'a Displayed,
    /// Heatmap to draw, if shown.
    pub heatmap: Option<(&'a Heatmap, OverlayStyle)>,
    /// Draw the four-corner text.
    pub corner_text: bool,
    /// Highlight as the active viewport.
    pub active: bool,
}

/// Draws a viewport and applies zoom, pan and window/level drags to
/// `state`; the left button goes to `annotator`'s tool first (drawing,
/// picking, dragging handles) and pans only when the tool leaves it.
pub fn show(
    ui: &mut egui::Ui,
    rect: Rect,
    state: &mut ViewportState,
    input: ViewportInput<'_>,
    layer: &mut Option<HeatmapLayer>,
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
    if response.double_clicked() && annotator.tool == super::annotate::Tool::Navigate {
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
    let image_index = input.displayed.key.image;
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
        window_drag(state, image, input.frame, d, modifiers);
    }
    t = view_transform(&state.view, image, rect);

    painter.add(textured_mesh(
        input.displayed.texture.id(),
        &t,
        Color32::WHITE,
    ));
    if let Some((heatmap, style)) = input.heatmap {
        let key = (
            input.displayed.key.image,
            input.frame,
            heatmap.caption(),
            style_key(&style),
        );
        if layer.as_ref().is_none_or(|l| l.key != key) {
            let mut rgba = heatmap_rgba(heatmap, &style);
            // Larger than the GPU allows: the same sampling as the image.
            let max_side = ui.ctx().input(|i| i.max_texture_side).max(1) as u32;
            if rgba.width().max(rgba.height()) > max_side {
                let step = texture_step(
                    rgba.width() as usize,
                    rgba.height() as usize,
                    max_side as usize,
                ) as u32;
                rgba = image::imageops::resize(
                    &rgba,
                    rgba.width().div_ceil(step),
                    rgba.height().div_ceil(step),
                    image::imageops::FilterType::Nearest,
                );
            }
            let color = egui::ColorImage::from_rgba_unmultiplied(
                [rgba.width() as usize, rgba.height() as usize],
                rgba.as_raw(),
            );
            let texture =
                ui.ctx()
                    .load_texture(format!("heatmap {}", input.index), color, TEXTURE_OPTIONS);
            *layer = Some(HeatmapLayer { key, texture });
        }
        if let Some(l) = layer.as_ref()
            && (heatmap.width, heatmap.height) == (image.pixels.columns, image.pixels.rows)
        {
            painter.add(textured_mesh(l.texture.id(), &t, Color32::WHITE));
        }
    }

    annotator.paint(&painter, &t, image, image_index, input.frame);

    if let Some(pos) = response.hover_pos()
        && let Some((c, r)) = t.pixel_at(pos.x, pos.y)
    {
        let value = value_text(image, input.frame, c, r).unwrap_or_default();
        out.hover = Some(format!("x {c}, y {r}: {value}"));
    }
    draw_overlays(&painter, rect, state, &input, &t);
    // The corner text is painted, so it is also given to assistive
    // technology as the viewport's value.
    let corners: Vec<String> = corner_lines(image, state, &input, &t)
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

/// Right-drag: horizontal changes the width, vertical the level. Shift is
/// fine (×0.2), Ctrl coarse (×5).
pub fn window_drag(
    state: &mut ViewportState,
    image: &Image,
    frame: usize,
    delta: Vec2,
    modifiers: egui::Modifiers,
) {
    let Some(mut w) = current_window(image, frame, &state.view.window) else {
        return;
    };
    let mut step = w.width.max(20.0) / 300.0;
    if modifiers.shift {
        step *= 0.2;
    }
    if modifiers.command || modifiers.ctrl {
        step *= 5.0;
    }
    w.width = (w.width + delta.x as f64 * step).max(1.0);
    w.center += delta.y as f64 * step;
    state.view.window = WindowChoice::Explicit(w);
}

fn corner_lines(
    image: &Image,
    state: &ViewportState,
    input: &ViewportInput,
    t: &ViewTransform,
) -> [String; 4] {
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
        current_window(image, input.frame, &state.view.window)
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

fn draw_overlays(
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
        let [tl, tr, bl, br] = corner_lines(image, state, input, t);
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
    if let Some([l, r, top, bottom]) = orientation_labels(&image.metadata, &state.view) {
        let big = egui::FontId::proportional(16.0);
        painter.text(
            rect.left_center() + Vec2::new(6.0, 0.0),
            egui::Align2::LEFT_CENTER,
            l,
            big.clone(),
            color,
        );
        painter.text(
            rect.right_center() - Vec2::new(6.0, 0.0),
            egui::Align2::RIGHT_CENTER,
            r,
            big.clone(),
            color,
        );
        painter.text(
            rect.center_top() + Vec2::new(0.0, 6.0),
            egui::Align2::CENTER_TOP,
            top,
            big.clone(),
            color,
        );
        painter.text(
            rect.center_bottom() - Vec2::new(0.0, 6.0),
            egui::Align2::CENTER_BOTTOM,
            bottom,
            big,
            color,
        );
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
