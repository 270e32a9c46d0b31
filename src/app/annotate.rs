//! Measurements and annotations in the viewer: the drawing tools, selecting
//! and editing handles, undo/redo per image, the measurement labels, and
//! saving each image's set to its sidecar on a background thread.
//!
//! Everything is stored in source-image pixel coordinates
//! ([`crate::annotations`]); the screen only ever sees them through the
//! viewport's [`ViewTransform`], so zoom, pan, rotation and flips never
//! move an annotation on the anatomy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Color32, Pos2, Stroke};

use crate::annotations::measure::{Calibration, measure};
use crate::annotations::sidecar::SidecarStore;
use crate::annotations::{Annotation, AnnotationId, AnnotationSet, Point, Shape};
use crate::imaging::Image;

use super::state::ViewTransform;

/// Screen distance (points) within which a click picks a handle or a line.
pub const PICK_DISTANCE: f32 = 6.0;

/// Drags shorter than this (points) make no shape.
const MIN_DRAG: f32 = 3.0;

/// The tool the left mouse button uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Select and edit annotations; drag elsewhere pans.
    #[default]
    Navigate,
    /// Distance between two points (drag).
    Length,
    /// Angle: drag the first arm to the vertex, then click the second end.
    Angle,
    /// Ellipse ROI (drag its bounding box).
    Ellipse,
    /// Rectangle ROI (drag corner to corner).
    Rectangle,
    /// Arrow (drag from tail to head).
    Arrow,
    /// Text note (click where it goes, then type).
    Text,
}

impl Tool {
    /// Every tool, in toolbar order.
    pub const ALL: [Tool; 7] = [
        Tool::Navigate,
        Tool::Length,
        Tool::Angle,
        Tool::Ellipse,
        Tool::Rectangle,
        Tool::Arrow,
        Tool::Text,
    ];

    /// The tool's name on its toolbar button.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Navigate => "Select / pan",
            Tool::Length => "Length",
            Tool::Angle => "Angle",
            Tool::Ellipse => "Ellipse ROI",
            Tool::Rectangle => "Rectangle ROI",
            Tool::Arrow => "Arrow",
            Tool::Text => "Text",
        }
    }
}

/// The annotations of one image with their history.
#[derive(Debug, Default)]
pub struct ImageAnnotations {
    /// The current set.
    pub set: AnnotationSet,
    undo: Vec<AnnotationSet>,
    redo: Vec<AnnotationSet>,
    /// Why the image's sidecar could not be read; the set is then never
    /// saved, so the unreadable file is not overwritten.
    pub load_error: Option<String>,
    /// Measurement text per annotation, recomputed only when its shape
    /// changes.
    measured: HashMap<AnnotationId, (Shape, Option<String>)>,
    /// Bumped by every change; saved when it differs from `saved`.
    revision: u64,
    saved: u64,
}

impl ImageAnnotations {
    /// The annotations loaded for an image, or why they could not be.
    pub fn loaded(set: Result<AnnotationSet, String>) -> Self {
        match set {
            Ok(set) => Self {
                set,
                ..Self::default()
            },
            Err(reason) => Self {
                set: AnnotationSet::new(),
                load_error: Some(reason),
                ..Self::default()
            },
        }
    }

    /// Changes the set, remembering the previous one for undo.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut AnnotationSet) -> R) -> R {
        self.undo.push(self.set.clone());
        self.redo.clear();
        self.revision += 1;
        change(&mut self.set)
    }

    /// Remembers the set before a drag that edits it in place.
    fn checkpoint(&mut self) {
        self.undo.push(self.set.clone());
        self.redo.clear();
    }

    /// Undoes the last change; false when there is none.
    pub fn undo(&mut self) -> bool {
        let Some(previous) = self.undo.pop() else {
            return false;
        };
        self.redo.push(std::mem::replace(&mut self.set, previous));
        self.revision += 1;
        true
    }

    /// Redoes the last undone change; false when there is none.
    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        self.undo.push(std::mem::replace(&mut self.set, next));
        self.revision += 1;
        true
    }

    /// The measurement of `annotation` in words (cached per shape).
    pub fn measurement(&mut self, image: &Image, annotation: &Annotation) -> Option<String> {
        if let Some((shape, text)) = self.measured.get(&annotation.id)
            && *shape == annotation.shape
        {
            return text.clone();
        }
        let calibration = Calibration::of(&image.metadata);
        let text = match measure(image, annotation) {
            Ok(m) => m.describe(&calibration),
            Err(e) => Some(format!("not measured: {e}")),
        };
        self.measured
            .insert(annotation.id, (annotation.shape.clone(), text.clone()));
        text
    }
}

/// A shape being drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Draft {
    /// A drag in progress with `tool`.
    Drag {
        /// The tool.
        tool: Tool,
        /// Where the drag started.
        start: Point,
        /// Where the pointer is.
        current: Point,
    },
    /// An angle whose first arm is drawn; the next click ends the second.
    SecondArm {
        /// End of the first arm.
        first: Point,
        /// The vertex.
        vertex: Point,
        /// Where the pointer is.
        current: Point,
    },
    /// A text note waiting for its text.
    Text {
        /// Where it goes.
        anchor: Point,
        /// What has been typed.
        text: String,
    },
}

/// A handle being dragged: in which viewport, which annotation and which
/// point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HandleDrag {
    viewport: egui::Id,
    image: usize,
    id: AnnotationId,
    handle: usize,
}

/// A save for the background writer.
struct SaveJob {
    image: Arc<Image>,
    set: AnnotationSet,
}

/// Writes sidecars on its own thread (the UI thread never touches the
/// disk) and reports failures back.
struct Saver {
    jobs: Sender<SaveJob>,
    errors: Receiver<String>,
}

impl Saver {
    fn start(store: SidecarStore) -> Self {
        let (jobs, inbox) = channel::<SaveJob>();
        let (report, errors) = channel();
        std::thread::Builder::new()
            .name("annotation saver".into())
            .spawn(move || {
                while let Ok(first) = inbox.recv() {
                    // Only the newest set of each image is written.
                    let mut newest = vec![first];
                    for job in inbox.try_iter() {
                        newest.retain(|j: &SaveJob| j.image.path != job.image.path);
                        newest.push(job);
                    }
                    for job in newest {
                        if let Err(e) = store.save_for(&job.image, &job.set) {
                            let _ = report.send(format!(
                                "annotations of {} not saved: {e}",
                                job.image.path.display()
                            ));
                        }
                    }
                }
            })
            .expect("spawning the annotation saver");
        Self { jobs, errors }
    }
}

/// The viewer's annotation state across images.
#[derive(Default)]
pub struct Annotator {
    /// The left button's tool.
    pub tool: Tool,
    /// The selected annotation: image index and id.
    pub selected: Option<(usize, AnnotationId)>,
    /// The shape being drawn: image index, frame, and the draft.
    pub draft: Option<(usize, usize, Draft)>,
    per_image: HashMap<usize, ImageAnnotations>,
    handle: Option<HandleDrag>,
    saver: Option<Saver>,
    /// Why saving failed, newest last.
    pub save_errors: Vec<String>,
}

impl Annotator {
    /// Saves every change into `store` (on a background thread).
    pub fn with_store(store: SidecarStore) -> Self {
        Self {
            saver: Some(Saver::start(store)),
            ..Self::default()
        }
    }

    /// True when changes are saved somewhere.
    pub fn saves(&self) -> bool {
        self.saver.is_some()
    }

    /// Takes over the annotations loaded for image `index` (replacing any
    /// held for it: the file was reloaded).
    pub fn loaded(&mut self, index: usize, set: Result<AnnotationSet, String>) {
        self.per_image.insert(index, ImageAnnotations::loaded(set));
        if self.selected.is_some_and(|(i, _)| i == index) {
            self.selected = None;
        }
    }

    /// The annotations of image `index`.
    pub fn of(&self, index: usize) -> Option<&ImageAnnotations> {
        self.per_image.get(&index)
    }

    /// The annotations of image `index`, to change.
    pub fn of_mut(&mut self, index: usize) -> &mut ImageAnnotations {
        self.per_image.entry(index).or_default()
    }

    /// Deletes the selected annotation; false when none is selected.
    pub fn delete_selected(&mut self) -> bool {
        let Some((image, id)) = self.selected.take() else {
            return false;
        };
        self.of_mut(image).edit(|set| set.remove(id)).is_some()
    }

    /// Undoes the last change on image `index`.
    pub fn undo(&mut self, index: usize) -> bool {
        self.selected = None;
        self.of_mut(index).undo()
    }

    /// Redoes the last undone change on image `index`.
    pub fn redo(&mut self, index: usize) -> bool {
        self.selected = None;
        self.of_mut(index).redo()
    }

    /// What the current tool expects next, for the status bar.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match (self.tool, &self.draft) {
            (_, Some((_, _, Draft::SecondArm { .. }))) => "Angle: click the end of the second arm",
            (Tool::Navigate, _) => return None,
            (Tool::Angle, _) => "Angle: drag the first arm to the vertex",
            (Tool::Text, _) => "Text: click where the note goes",
            (Tool::Length | Tool::Arrow, _) => "Drag from one end to the other (Esc: stop)",
            (Tool::Ellipse | Tool::Rectangle, _) => "Drag across the region (Esc: stop)",
        })
    }

    /// Stops drawing and returns to the navigate tool (Esc).
    pub fn cancel(&mut self) -> bool {
        let busy = self.draft.is_some() || self.tool != Tool::Navigate;
        self.draft = None;
        self.handle = None;
        self.tool = Tool::Navigate;
        busy
    }

    /// Sends changed sets to the saver and collects its errors; `image`
    /// gives the image of an index.
    pub fn save_changes(&mut self, image: impl Fn(usize) -> Option<Arc<Image>>) {
        let Some(saver) = &self.saver else { return };
        self.save_errors.extend(saver.errors.try_iter());
        for (&index, a) in &mut self.per_image {
            if a.revision == a.saved || a.load_error.is_some() || self.handle.is_some() {
                continue;
            }
            if let Some(image) = image(index) {
                let _ = saver.jobs.send(SaveJob {
                    image,
                    set: a.set.clone(),
                });
            }
            a.saved = a.revision;
        }
    }

    /// Adds a finished text note from the text draft; false when there was
    /// no text.
    pub fn finish_text(&mut self) -> bool {
        let Some((image, frame, Draft::Text { anchor, text })) = self.draft.take() else {
            return false;
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            return false;
        }
        let id = self
            .of_mut(image)
            .edit(|set| set.add(frame, Shape::Text { anchor, text }));
        self.selected = Some((image, id));
        true
    }

    /// Handles the pointer over a viewport showing image `index`'s `frame`;
    /// true when the left button was used here (so it does not pan).
    pub fn interact(
        &mut self,
        response: &egui::Response,
        t: &ViewTransform,
        index: usize,
        frame: usize,
    ) -> bool {
        let pointer = response
            .interact_pointer_pos()
            .or_else(|| response.hover_pos());
        let to_image = |p: Pos2| {
            let [x, y] = t.to_image(p.x, p.y);
            Point::new(x as f64, y as f64)
        };
        let primary = response.dragged_by(egui::PointerButton::Primary)
            || response.drag_stopped_by(egui::PointerButton::Primary)
            || response.drag_started_by(egui::PointerButton::Primary);
        if self.tool == Tool::Navigate {
            return self.navigate(response, t, index, frame, pointer);
        }
        let Some(pos) = pointer else {
            return primary;
        };
        let here = to_image(pos);
        // The second arm of an angle follows the pointer; a click ends it.
        if let Some((i, f, Draft::SecondArm { first, vertex, .. })) = self.draft.clone()
            && i == index
            && f == frame
        {
            self.draft = Some((
                i,
                f,
                Draft::SecondArm {
                    first,
                    vertex,
                    current: here,
                },
            ));
            if response.clicked() {
                self.draft = None;
                let id = self.of_mut(index).edit(|set| {
                    set.add(
                        frame,
                        Shape::Angle {
                            first,
                            vertex,
                            second: here,
                        },
                    )
                });
                self.selected = Some((index, id));
            }
            return true;
        }
        if self.tool == Tool::Text {
            if response.clicked() {
                self.draft = Some((
                    index,
                    frame,
                    Draft::Text {
                        anchor: here,
                        text: String::new(),
                    },
                ));
            }
            return true;
        }
        if response.drag_started_by(egui::PointerButton::Primary) {
            // The drag starts where the button went down, not where the
            // pointer is once it has moved far enough to count as a drag.
            let start = press_origin(response).map_or(here, to_image);
            self.draft = Some((
                index,
                frame,
                Draft::Drag {
                    tool: self.tool,
                    start,
                    current: here,
                },
            ));
        }
        if let Some((i, f, Draft::Drag { tool, start, .. })) = self.draft.clone()
            && i == index
        {
            if response.dragged_by(egui::PointerButton::Primary) {
                self.draft = Some((
                    i,
                    f,
                    Draft::Drag {
                        tool,
                        start,
                        current: here,
                    },
                ));
            }
            if response.drag_stopped_by(egui::PointerButton::Primary) {
                self.draft = None;
                let [sx, sy] = t.to_screen(start.x as f32, start.y as f32);
                if (Pos2::new(sx, sy) - pos).length() >= MIN_DRAG {
                    self.finish_drag(index, f, tool, start, here);
                }
            }
        }
        primary
    }

    fn finish_drag(&mut self, index: usize, frame: usize, tool: Tool, start: Point, end: Point) {
        if tool == Tool::Angle {
            self.draft = Some((
                index,
                frame,
                Draft::SecondArm {
                    first: start,
                    vertex: end,
                    current: end,
                },
            ));
            return;
        }
        let Some(shape) = shape_of(tool, start, end) else {
            return;
        };
        let id = self.of_mut(index).edit(|set| set.add(frame, shape));
        self.selected = Some((index, id));
    }

    fn navigate(
        &mut self,
        response: &egui::Response,
        t: &ViewTransform,
        index: usize,
        frame: usize,
        pointer: Option<Pos2>,
    ) -> bool {
        if let Some(drag) = self.handle {
            // Another viewport (perhaps showing the same image) is not the
            // one being dragged in.
            if drag.viewport != response.id || drag.image != index {
                return false;
            }
            if let Some(pos) = pointer
                && response.dragged_by(egui::PointerButton::Primary)
            {
                let [x, y] = t.to_image(pos.x, pos.y);
                let p = Point::new(x as f64, y as f64);
                if let Some(a) = self.of_mut(index).set.get_mut(drag.id) {
                    move_handle(&mut a.shape, drag.handle, p);
                }
            }
            if response.drag_stopped() || !response.dragged() {
                self.handle = None;
                self.of_mut(index).revision += 1;
            }
            return true;
        }
        let Some(pos) = pointer else { return false };
        if response.drag_started_by(egui::PointerButton::Primary) {
            let start = press_origin(response).unwrap_or(pos);
            if let Some((id, handle)) = self.pick_handle(t, index, frame, start) {
                self.selected = Some((index, id));
                self.of_mut(index).checkpoint();
                self.handle = Some(HandleDrag {
                    viewport: response.id,
                    image: index,
                    id,
                    handle,
                });
                return true;
            }
            return false;
        }
        if response.clicked() {
            self.selected = self.pick(t, index, frame, pos).map(|id| (index, id));
        }
        false
    }

    /// The handle of the selected annotation (or else of any annotation)
    /// under `pos`.
    fn pick_handle(
        &self,
        t: &ViewTransform,
        index: usize,
        frame: usize,
        pos: Pos2,
    ) -> Option<(AnnotationId, usize)> {
        let set = &self.per_image.get(&index)?.set;
        let selected = self
            .selected
            .filter(|(i, _)| *i == index)
            .and_then(|(_, id)| set.get(id));
        let others = set.on_frame(frame).rev();
        selected.into_iter().chain(others).find_map(|a| {
            handles(&a.shape)
                .iter()
                .position(|p| (screen(t, *p) - pos).length() <= PICK_DISTANCE)
                .map(|h| (a.id, h))
        })
    }

    /// The annotation under `pos` (its handles or outline), newest first.
    fn pick(
        &self,
        t: &ViewTransform,
        index: usize,
        frame: usize,
        pos: Pos2,
    ) -> Option<AnnotationId> {
        let set = &self.per_image.get(&index)?.set;
        set.on_frame(frame)
            .rev()
            .find(|a| {
                outline(&a.shape).windows(2).any(|w| {
                    segment_distance(pos, screen(t, w[0]), screen(t, w[1])) <= PICK_DISTANCE
                }) || handles(&a.shape)
                    .iter()
                    .any(|p| (screen(t, *p) - pos).length() <= PICK_DISTANCE)
            })
            .map(|a| a.id)
    }

    /// Draws image `index`'s annotations on `frame`, the draft, and the
    /// measurement labels.
    pub fn paint(
        &mut self,
        painter: &egui::Painter,
        t: &ViewTransform,
        image: &Image,
        index: usize,
        frame: usize,
    ) {
        let selected = self.selected.filter(|(i, _)| *i == index).map(|(_, id)| id);
        let font = egui::FontId::proportional(13.0);
        if let Some(a) = self.per_image.get_mut(&index) {
            let on_frame: Vec<Annotation> = a.set.on_frame(frame).cloned().collect();
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
                if let Some(text) = a.measurement(image, annotation) {
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
    image: &Image,
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
    let on_frame: Vec<Annotation> = a.set.on_frame(frame).cloned().collect();
    if on_frame.is_empty() {
        ui.label("None on this image.");
    }
    let mut pick = None;
    for annotation in &on_frame {
        let name = annotation
            .label
            .clone()
            .unwrap_or_else(|| annotation.shape.kind_name().to_string());
        let text = match (&annotation.shape, a.measurement(image, annotation)) {
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

/// The shape a drag from `start` to `end` makes with `tool`.
pub fn shape_of(tool: Tool, start: Point, end: Point) -> Option<Shape> {
    Some(match tool {
        Tool::Length => Shape::Length { start, end },
        Tool::Arrow => Shape::Arrow {
            tail: start,
            head: end,
        },
        Tool::Rectangle => Shape::Rectangle {
            corner: start,
            opposite: end,
        },
        Tool::Ellipse => Shape::Ellipse {
            center: Point::new((start.x + end.x) / 2.0, (start.y + end.y) / 2.0),
            radius_x: (end.x - start.x).abs() / 2.0,
            radius_y: (end.y - start.y).abs() / 2.0,
        },
        Tool::Navigate | Tool::Angle | Tool::Text => return None,
    })
}

/// The points a reader can drag to edit `shape`.
pub fn handles(shape: &Shape) -> Vec<Point> {
    match shape {
        Shape::Length { start, end } => vec![*start, *end],
        Shape::Angle {
            first,
            vertex,
            second,
        } => vec![*first, *vertex, *second],
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => vec![
            *center,
            Point::new(center.x + radius_x, center.y + radius_y),
        ],
        Shape::Rectangle { corner, opposite } => vec![*corner, *opposite],
        Shape::Arrow { tail, head } => vec![*tail, *head],
        Shape::Text { anchor, .. } => vec![*anchor],
    }
}

/// Moves handle `handle` of `shape` to `p` (an ellipse's centre handle
/// moves it whole; its corner handle sets the radii).
pub fn move_handle(shape: &mut Shape, handle: usize, p: Point) {
    match shape {
        Shape::Length { start, end } => *[start, end][handle.min(1)] = p,
        Shape::Angle {
            first,
            vertex,
            second,
        } => *[first, vertex, second][handle.min(2)] = p,
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => {
            if handle == 0 {
                *center = p;
            } else {
                *radius_x = (p.x - center.x).abs();
                *radius_y = (p.y - center.y).abs();
            }
        }
        Shape::Rectangle { corner, opposite } => *[corner, opposite][handle.min(1)] = p,
        Shape::Arrow { tail, head } => *[tail, head][handle.min(1)] = p,
        Shape::Text { anchor, .. } => *anchor = p,
    }
}

/// The outline of `shape` as a polyline in image coordinates.
fn outline(shape: &Shape) -> Vec<Point> {
    match shape {
        Shape::Length { start, end } => vec![*start, *end],
        Shape::Arrow { tail, head } => vec![*tail, *head],
        Shape::Angle {
            first,
            vertex,
            second,
        } => vec![*first, *vertex, *second],
        Shape::Rectangle { corner, opposite } => vec![
            *corner,
            Point::new(opposite.x, corner.y),
            *opposite,
            Point::new(corner.x, opposite.y),
            *corner,
        ],
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => (0..=64)
            .map(|i| {
                let a = i as f64 / 64.0 * std::f64::consts::TAU;
                Point::new(center.x + radius_x * a.cos(), center.y + radius_y * a.sin())
            })
            .collect(),
        Shape::Text { anchor, .. } => vec![*anchor],
    }
}

fn press_origin(response: &egui::Response) -> Option<Pos2> {
    response.ctx.input(|i| i.pointer.press_origin())
}

fn screen(t: &ViewTransform, p: Point) -> Pos2 {
    let [x, y] = t.to_screen(p.x as f32, p.y as f32);
    Pos2::new(x, y)
}

fn segment_distance(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_sq();
    if len2 == 0.0 {
        return (p - a).length();
    }
    let s = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
    (p - (a + ab * s)).length()
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
