//! The pointer over a viewport: drawing with the current tool, picking
//! annotations and dragging their handles.

use egui::Pos2;

use super::{Annotator, Draft, HandleDrag, MIN_DRAG, PICK_DISTANCE, Tool, shape_of};
use crate::annotations::geometry::{self, ScreenPos, move_handle};
use crate::annotations::{AnnotationId, Point, Shape};
use crate::app::state::ViewTransform;

impl Annotator {
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
                if let Some(a) = self.of_mut(index).history.in_place().get_mut(drag.id) {
                    move_handle(&mut a.shape, drag.handle, p);
                }
            }
            if response.drag_stopped() || !response.dragged() {
                self.handle = None;
                self.of_mut(index).history.touch();
            }
            return true;
        }
        let Some(pos) = pointer else { return false };
        if response.drag_started_by(egui::PointerButton::Primary) {
            let start = press_origin(response).unwrap_or(pos);
            if let Some((id, handle)) = self.pick_handle(t, index, frame, start) {
                self.selected = Some((index, id));
                self.of_mut(index).history.checkpoint();
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
        let set = self.per_image.get(&index)?.set();
        let selected = self
            .selected
            .filter(|(i, _)| *i == index)
            .and_then(|(_, id)| set.get(id));
        let others = set.on_frame(frame).rev();
        let to_screen = screen_pos(t);
        selected.into_iter().chain(others).find_map(|a| {
            geometry::handle_at(&a.shape, &to_screen, [pos.x, pos.y], PICK_DISTANCE)
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
        let set = self.per_image.get(&index)?.set();
        let to_screen = screen_pos(t);
        set.on_frame(frame)
            .rev()
            .find(|a| geometry::hits(&a.shape, &to_screen, [pos.x, pos.y], PICK_DISTANCE))
            .map(|a| a.id)
    }
}

fn press_origin(response: &egui::Response) -> Option<Pos2> {
    response.ctx.input(|i| i.pointer.press_origin())
}

fn screen_pos(t: &ViewTransform) -> impl Fn(Point) -> ScreenPos + '_ {
    move |p| t.to_screen(p.x as f32, p.y as f32)
}
