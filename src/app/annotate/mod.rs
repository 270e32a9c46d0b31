//! Measurements and annotations in the viewer: the drawing tools, selecting
//! and editing handles (`input`), undo/redo per image (through
//! [`crate::annotations::history`]), the measurement labels and list
//! (`paint`; ROI statistics computed on the viewer's background thread),
//! and saving each image's set to its sidecar on a background thread
//! (`saver`).
//!
//! Everything is stored in source-image pixel coordinates
//! ([`crate::annotations`]); the screen only ever sees them through the
//! viewport's [`ViewTransform`](crate::app::state::ViewTransform), so zoom,
//! pan, rotation and flips never move an annotation on the anatomy.

use std::collections::HashMap;
use std::sync::Arc;

use crate::annotations::history::History;
use crate::annotations::measure::{Calibration, measure};
use crate::annotations::sidecar::SidecarStore;
use crate::annotations::{Annotation, AnnotationId, AnnotationSet, Point, Shape};
use crate::imaging::Image;

use super::jobs::{JobResult, JobState, Jobs};

mod input;
mod paint;
mod saver;

pub use self::paint::list_ui;
use self::saver::Saver;
pub use crate::annotations::geometry::{handles, move_handle};

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

/// A measurement's text: ready, or being computed on the background
/// thread (with the text of the shape before, while it was being edited).
#[derive(Debug)]
enum Measured {
    Ready(Option<String>),
    Pending {
        job: JobResult<Option<String>>,
        previous: Option<String>,
    },
}

/// The annotations of one image with their history.
#[derive(Debug, Default)]
pub struct ImageAnnotations {
    history: History,
    /// Why the image's sidecar could not be read; the set is then never
    /// saved, so the unreadable file is not overwritten.
    pub load_error: Option<String>,
    /// Measurement text per annotation, recomputed only when its shape
    /// changes.
    measured: HashMap<AnnotationId, (Shape, Measured)>,
    /// The history's revision last sent to the saver.
    saved: u64,
}

impl ImageAnnotations {
    /// The annotations loaded for an image, or why they could not be.
    pub fn loaded(set: Result<AnnotationSet, String>) -> Self {
        match set {
            Ok(set) => Self {
                history: History::new(set),
                ..Self::default()
            },
            Err(reason) => Self {
                load_error: Some(reason),
                ..Self::default()
            },
        }
    }

    /// The current set.
    pub fn set(&self) -> &AnnotationSet {
        self.history.set()
    }

    /// Changes the set, remembering the previous one for undo.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut AnnotationSet) -> R) -> R {
        self.history.edit(change)
    }

    /// Undoes the last change; false when there is none.
    pub fn undo(&mut self) -> bool {
        self.history.undo()
    }

    /// Redoes the last undone change; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.history.redo()
    }

    /// True while a measurement is being computed.
    pub fn measuring(&self) -> bool {
        self.measured
            .values()
            .any(|(_, m)| matches!(m, Measured::Pending { .. }))
    }

    /// The measurement of `annotation` of image `index` in words (cached
    /// per shape). ROI statistics read every pixel inside the region, so
    /// they are computed on `jobs`' thread: until they arrive the text says
    /// so ("measuring…", or the previous value marked as updating).
    pub fn measurement(
        &mut self,
        jobs: &Jobs,
        image: &Arc<Image>,
        index: usize,
        annotation: &Annotation,
    ) -> Option<String> {
        let previous = match self.measured.get_mut(&annotation.id) {
            Some((shape, measured)) if *shape == annotation.shape => {
                if let Measured::Pending { job, previous } = measured {
                    *measured = match job.poll() {
                        JobState::Running => return Some(updating(previous.as_deref())),
                        JobState::Done(text) => Measured::Ready(text),
                        JobState::Gone => {
                            Measured::Ready(Some("not measured: the computation stopped".into()))
                        }
                    };
                }
                return match measured {
                    Measured::Ready(text) => text.clone(),
                    Measured::Pending { .. } => None,
                };
            }
            Some((_, Measured::Ready(text))) => text.clone(),
            Some((_, Measured::Pending { previous, .. })) => previous.clone(),
            None => None,
        };
        let roi = matches!(
            annotation.shape,
            Shape::Ellipse { .. } | Shape::Rectangle { .. }
        );
        let (text, measured) = if roi {
            let (image, a) = (Arc::clone(image), annotation.clone());
            let job = jobs.run(format!("roi {index}/{}", annotation.id.0), move || {
                measurement_text(&image, &a)
            });
            let text = updating(previous.as_deref());
            (Some(text), Measured::Pending { job, previous })
        } else {
            let text = measurement_text(image, annotation);
            (text.clone(), Measured::Ready(text))
        };
        self.measured
            .insert(annotation.id, (annotation.shape.clone(), measured));
        text
    }
}

/// The text shown while a measurement is computed.
fn updating(previous: Option<&str>) -> String {
    match previous {
        Some(p) => format!("{p} (updating…)"),
        None => "measuring…".into(),
    }
}

/// `annotation`'s measurement in words, with the calibration it rests on.
fn measurement_text(image: &Image, annotation: &Annotation) -> Option<String> {
    let calibration = Calibration::of(&image.metadata);
    match measure(image, annotation) {
        Ok(m) => m.describe(&calibration),
        Err(e) => Some(format!("not measured: {e}")),
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
    jobs: Jobs,
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

    /// Computes ROI statistics on `jobs`' thread (the viewer's).
    pub fn with_jobs(mut self, jobs: Jobs) -> Self {
        self.jobs = jobs;
        self
    }

    /// True while a measurement is being computed.
    pub fn measuring(&self) -> bool {
        self.per_image.values().any(ImageAnnotations::measuring)
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
        self.save_errors.extend(saver.errors());
        for (&index, a) in &mut self.per_image {
            let revision = a.history.revision();
            if revision == a.saved || a.load_error.is_some() || self.handle.is_some() {
                continue;
            }
            if let Some(image) = image(index) {
                saver.save(image, a.set().clone());
            }
            a.saved = revision;
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
        Tool::Ellipse => crate::annotations::geometry::ellipse_in_box(start, end),
        Tool::Navigate | Tool::Angle | Tool::Text => return None,
    })
}
