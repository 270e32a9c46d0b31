//! Writing annotation sidecars on a thread of their own: the UI thread
//! never touches the disk.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::annotations::AnnotationSet;
use crate::annotations::sidecar::SidecarStore;
use crate::imaging::Image;

/// A save for the background writer.
struct SaveJob {
    image: Arc<Image>,
    set: AnnotationSet,
}

/// Writes sidecars on its own thread (the UI thread never touches the
/// disk) and reports failures back.
pub(super) struct Saver {
    jobs: Sender<SaveJob>,
    errors: Receiver<String>,
}

impl Saver {
    pub(super) fn start(store: SidecarStore) -> Self {
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

impl Saver {
    /// Queues `set` to be written as `image`'s sidecar.
    pub(super) fn save(&self, image: Arc<Image>, set: AnnotationSet) {
        let _ = self.jobs.send(SaveJob { image, set });
    }

    /// The failures reported since the last call.
    pub(super) fn errors(&self) -> impl Iterator<Item = String> + '_ {
        self.errors.try_iter()
    }
}
