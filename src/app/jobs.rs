//! One background thread for the viewer's short computations that read
//! whole frames (auto-window percentiles, ROI statistics), so the UI thread
//! only ever collects their results. Jobs with the same key coalesce: when
//! several are queued, only the newest runs (a dragged ROI handle queues a
//! job per frame; only its last shape matters). A superseded job answers
//! [`JobState::Gone`], as does one that panicked.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Condvar, Mutex};

/// A queued computation and its coalescing key.
struct Job {
    key: String,
    run: Box<dyn FnOnce() + Send>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Option<Sender<Job>>>,
    paused: Mutex<bool>,
    resumed: Condvar,
}

/// The background thread, started at the first job; clones share it.
#[derive(Clone, Default)]
pub struct Jobs {
    shared: Arc<Shared>,
}

/// Where a job's answer stands.
#[derive(Debug, PartialEq)]
pub enum JobState<T> {
    /// Queued or running.
    Running,
    /// Finished with this answer.
    Done(T),
    /// Superseded by a newer job with its key, or it panicked.
    Gone,
}

/// The answer of one job, collected without blocking.
pub struct JobResult<T> {
    answer: Receiver<T>,
}

impl<T> std::fmt::Debug for JobResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobResult")
    }
}

impl<T> JobResult<T> {
    /// The answer if it is in; never blocks.
    pub fn poll(&self) -> JobState<T> {
        match self.answer.try_recv() {
            Ok(v) => JobState::Done(v),
            Err(TryRecvError::Empty) => JobState::Running,
            Err(TryRecvError::Disconnected) => JobState::Gone,
        }
    }
}

impl Jobs {
    /// Queues `work` under `key`; returns at once.
    pub fn run<T: Send + 'static>(
        &self,
        key: String,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> JobResult<T> {
        let (reply, answer) = channel();
        let job = Job {
            key,
            run: Box::new(move || {
                let _ = reply.send(work());
            }),
        };
        let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        let job = match queue.as_ref() {
            Some(q) => q.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = job {
            // First job (or the thread is gone): start the thread.
            let (tx, rx) = channel();
            let _ = tx.send(job);
            let shared = Arc::clone(&self.shared);
            let started = std::thread::Builder::new()
                .name("viewer jobs".into())
                .spawn(move || work_loop(&shared, rx));
            // Without a thread the job is dropped and answers `Gone`.
            if started.is_ok() {
                *queue = Some(tx);
            }
        }
        JobResult { answer }
    }

    /// Holds every queued job until resumed (tests use it to see a result
    /// arrive after the frame that asked for it).
    pub fn pause(&self, paused: bool) {
        *self.shared.paused.lock().unwrap_or_else(|e| e.into_inner()) = paused;
        self.shared.resumed.notify_all();
    }
}

fn work_loop(shared: &Shared, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        {
            let mut paused = shared.paused.lock().unwrap_or_else(|e| e.into_inner());
            while *paused {
                paused = shared
                    .resumed
                    .wait(paused)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        let mut newest: Vec<Job> = Vec::new();
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            newest.retain(|j| j.key != job.key);
            newest.push(job);
        }
        for job in newest {
            // A panicking job drops its reply: its result reads `Gone`.
            let _ = catch_unwind(AssertUnwindSafe(job.run));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait<T>(r: &JobResult<T>) -> JobState<T> {
        let start = Instant::now();
        loop {
            match r.poll() {
                JobState::Running if start.elapsed() < Duration::from_secs(20) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                other => return other,
            }
        }
    }

    #[test]
    fn newest_job_per_key_runs_and_panics_answer_gone() {
        let jobs = Jobs::default();
        jobs.pause(true);
        let old = jobs.run("roi 1".into(), || 1);
        let other = jobs.run("roi 2".into(), || 2);
        let new = jobs.run("roi 1".into(), || 3);
        let broken = jobs.run("broken".into(), || -> u32 { panic!("a failing job") });
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(new.poll(), JobState::Running, "ran while paused");
        jobs.pause(false);
        assert_eq!(wait(&new), JobState::Done(3));
        assert_eq!(wait(&other), JobState::Done(2));
        assert_eq!(wait(&old), JobState::Gone);
        assert_eq!(wait(&broken), JobState::Gone);
        // The thread survives a panicking job.
        assert_eq!(wait(&jobs.run("after".into(), || 4)), JobState::Done(4));
    }
}
