//! Undo and redo of one image's annotation set, and a revision number
//! that changes with every change (a viewer saves the set when it differs
//! from the revision last saved).

use super::AnnotationSet;

/// An annotation set with its undo and redo stacks.
#[derive(Debug, Default, Clone)]
pub struct History {
    set: AnnotationSet,
    undo: Vec<AnnotationSet>,
    redo: Vec<AnnotationSet>,
    revision: u64,
}

impl History {
    /// `set` with no history.
    pub fn new(set: AnnotationSet) -> Self {
        Self {
            set,
            ..Self::default()
        }
    }

    /// The current set.
    pub fn set(&self) -> &AnnotationSet {
        &self.set
    }

    /// Bumped by every change, undo and redo.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Changes the set, remembering the previous one for undo.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut AnnotationSet) -> R) -> R {
        self.checkpoint();
        self.revision += 1;
        change(&mut self.set)
    }

    /// Remembers the set before a change made in place over several steps
    /// (a dragged handle): [`History::in_place`] while it lasts, then
    /// [`History::touch`] when it ends. One undo step restores the set as
    /// it was here.
    pub fn checkpoint(&mut self) {
        self.undo.push(self.set.clone());
        self.redo.clear();
    }

    /// The set, to change in place after a [`History::checkpoint`].
    pub fn in_place(&mut self) -> &mut AnnotationSet {
        &mut self.set
    }

    /// Marks an in-place change as finished (a new revision).
    pub fn touch(&mut self) {
        self.revision += 1;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations::{Point, Shape};

    fn line(x: f64) -> Shape {
        Shape::Length {
            start: Point::new(0.0, 0.0),
            end: Point::new(x, 0.0),
        }
    }

    #[test]
    fn edits_undo_and_redo_in_order_and_a_new_edit_drops_the_redo_stack() {
        let mut h = History::default();
        let a = h.edit(|s| s.add(0, line(1.0)));
        let b = h.edit(|s| s.add(0, line(2.0)));
        assert_eq!(h.set().annotations.len(), 2);
        assert_eq!(h.revision(), 2);
        assert!(h.undo());
        assert!(h.set().get(b).is_none());
        assert!(h.set().get(a).is_some());
        assert!(h.redo());
        assert!(h.set().get(b).is_some());
        assert!(!h.redo(), "nothing left to redo");
        assert!(h.undo() && h.undo());
        assert!(h.set().is_empty());
        assert!(!h.undo(), "nothing left to undo");
        h.edit(|s| s.add(0, line(3.0)));
        assert!(!h.redo(), "an edit after undo keeps no redo");
        assert_eq!(h.revision(), 7);
    }

    #[test]
    fn a_drag_in_place_is_one_undo_step() {
        let mut h = History::default();
        let id = h.edit(|s| s.add(0, line(1.0)));
        h.checkpoint();
        for x in [2.0, 3.0, 4.0] {
            h.in_place().get_mut(id).unwrap().shape = line(x);
        }
        let before = h.revision();
        h.touch();
        assert_eq!(h.revision(), before + 1);
        assert_eq!(h.set().get(id).unwrap().shape, line(4.0));
        assert!(h.undo());
        assert_eq!(h.set().get(id).unwrap().shape, line(1.0));
    }
}
