//! The window each viewport applies, resolved once per image, frame and
//! choice: without a window in the file the default is the frame's
//! min–max, a full-frame scan that must not run on every repaint (the
//! corner text and the window drag read it every frame).

use std::sync::{Arc, Weak};

use crate::imaging::render::resolve_voi;
use crate::imaging::voi::{Voi, Window};
use crate::imaging::{Image, WindowChoice};

/// How many resolved windows are kept (a few per viewport and frame).
const KEPT: usize = 64;

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

/// One resolved window. The image is held weakly (its pixels are not kept
/// alive), and a weak pointer keeps its address from being reused, so a
/// reloaded image never matches an old entry.
struct Entry {
    image: Weak<Image>,
    frame: usize,
    choice: WindowChoice,
    window: Option<Window>,
}

/// Resolved windows, newest last.
#[derive(Default)]
pub struct WindowCache {
    entries: Vec<Entry>,
    /// How many times a window was resolved (a scan may have run).
    pub resolved: u64,
}

impl WindowCache {
    /// [`current_window`] for `image`'s `frame` and `choice`, resolved only
    /// the first time it is asked for.
    pub fn get(
        &mut self,
        image: &Arc<Image>,
        frame: usize,
        choice: &WindowChoice,
    ) -> Option<Window> {
        if let WindowChoice::Explicit(w) = choice {
            return Some(*w);
        }
        let found = self.entries.iter().position(|e| {
            e.frame == frame
                && e.choice == *choice
                && Weak::ptr_eq(&e.image, &Arc::downgrade(image))
        });
        if let Some(i) = found {
            return self.entries[i].window;
        }
        let window = current_window(image, frame, choice);
        self.resolved += 1;
        self.entries.retain(|e| e.image.strong_count() > 0);
        if self.entries.len() >= KEPT {
            self.entries.remove(0);
        }
        self.entries.push(Entry {
            image: Arc::downgrade(image),
            frame,
            choice: choice.clone(),
            window,
        });
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::LoadOptions;

    fn chest() -> Arc<Image> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/chest-xray/person1946_bacteria_4874.jpeg");
        Arc::new(crate::imaging::load_path(&path, &LoadOptions::default()).unwrap())
    }

    #[test]
    fn a_window_is_resolved_once_per_image_frame_and_choice() {
        let image = chest();
        let mut cache = WindowCache::default();
        let first = cache.get(&image, 0, &WindowChoice::FileDefault);
        assert_eq!(first, current_window(&image, 0, &WindowChoice::FileDefault));
        assert!(first.is_some());
        for _ in 0..10 {
            assert_eq!(cache.get(&image, 0, &WindowChoice::FileDefault), first);
        }
        assert_eq!(cache.resolved, 1);
        cache.get(&image, 0, &WindowChoice::MinMax);
        assert_eq!(cache.resolved, 2);
        // The same file loaded again is another image: resolved anew.
        let again = chest();
        assert_eq!(cache.get(&again, 0, &WindowChoice::FileDefault), first);
        assert_eq!(cache.resolved, 3);
        // Explicit windows need no resolving.
        let w = Window::linear(40.0, 400.0);
        assert_eq!(cache.get(&image, 0, &WindowChoice::Explicit(w)), Some(w));
        assert_eq!(cache.resolved, 3);
    }
}
