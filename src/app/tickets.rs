//! The plumbing classification and heatmaps share: one request in flight
//! (for what is on screen), the answers already in, and cancelling the
//! request when something else is wanted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use crate::ai::AiError;
use crate::ai::saliency::occlusion::Progress;
use crate::ai::worker::Ticket;

/// A request in flight (a worker's [`Ticket`], or a test double).
pub trait Pending<T> {
    /// The result when ready; never blocks.
    fn poll(&mut self) -> Option<Result<T, AiError>>;
    /// Asks for the request to be dropped (the worker checks between
    /// steps and answers `Cancelled`).
    fn cancel(&self);
    /// How far a long run (occlusion) got, once it has started.
    fn progress(&self) -> Option<Progress> {
        None
    }
}

impl<T> Pending<T> for Ticket<T> {
    fn poll(&mut self) -> Option<Result<T, AiError>> {
        self.try_result()
    }

    fn cancel(&self) {
        Ticket::cancel(self);
    }

    fn progress(&self) -> Option<Progress> {
        Ticket::progress(self)
    }
}

/// A finished answer: the result, or the reason it failed.
pub type Answer<T> = Result<Arc<T>, String>;

/// Answers per key and at most one request in flight. A cancelled request
/// leaves nothing behind; dropping the cache cancels its request.
pub struct TicketCache<K, T> {
    done: HashMap<K, Answer<T>>,
    pending: Option<(K, Box<dyn Pending<T>>)>,
}

impl<K, T> Default for TicketCache<K, T> {
    fn default() -> Self {
        Self {
            done: HashMap::new(),
            pending: None,
        }
    }
}

impl<K: Eq + Hash + Clone, T> TicketCache<K, T> {
    /// The finished answer for `key`, if any.
    pub fn get(&self, key: &K) -> Option<&Answer<T>> {
        self.done.get(key)
    }

    /// The key of the request in flight.
    pub fn running_key(&self) -> Option<&K> {
        self.pending.as_ref().map(|(k, _)| k)
    }

    /// Progress of the request in flight when it is for `key`.
    pub fn progress_of(&self, key: &K) -> Option<Progress> {
        self.pending
            .as_ref()
            .filter(|(k, _)| k == key)
            .and_then(|(_, p)| p.progress())
    }

    /// True while a request is in flight.
    pub fn is_running(&self) -> bool {
        self.pending.is_some()
    }

    /// Asks for `key` through `submit` unless it is answered or already
    /// running; a request for another key is cancelled first.
    pub fn request(&mut self, key: K, submit: impl FnOnce() -> Box<dyn Pending<T>>) {
        if self.done.contains_key(&key) || self.running_key() == Some(&key) {
            return;
        }
        self.cancel();
        self.pending = Some((key, submit()));
    }

    /// Cancels the request in flight unless `keep` wants its key.
    pub fn forget_stale(&mut self, keep: impl Fn(&K) -> bool) {
        if self.running_key().is_some_and(|k| !keep(k)) {
            self.cancel();
        }
    }

    /// Collects a finished request; true when one arrived (a cancelled
    /// one too, though it stores nothing).
    pub fn poll(&mut self) -> bool {
        let Some((_, pending)) = &mut self.pending else {
            return false;
        };
        let Some(result) = pending.poll() else {
            return false;
        };
        let Some((key, _)) = self.pending.take() else {
            return false;
        };
        match result {
            Err(AiError::Cancelled) => {}
            Ok(value) => {
                self.done.insert(key, Ok(Arc::new(value)));
            }
            Err(e) => {
                self.done.insert(key, Err(e.to_string()));
            }
        }
        true
    }

    /// Cancels the request in flight, if any.
    pub fn cancel(&mut self) {
        if let Some((_, pending)) = self.pending.take() {
            pending.cancel();
        }
    }

    /// Cancels the request in flight and forgets every answer.
    pub fn clear(&mut self) {
        self.cancel();
        self.done.clear();
    }

    /// Number of answers kept.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// True when no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

impl<K, T> Drop for TicketCache<K, T> {
    fn drop(&mut self) {
        if let Some((_, pending)) = self.pending.take() {
            pending.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Answers `value` once `ready` is set; records a cancel.
    struct Fake {
        value: u32,
        ready: Arc<AtomicBool>,
        cancelled: Arc<AtomicBool>,
    }

    impl Pending<u32> for Fake {
        fn poll(&mut self) -> Option<Result<u32, AiError>> {
            if self.cancelled.load(Ordering::SeqCst) {
                return Some(Err(AiError::Cancelled));
            }
            self.ready.load(Ordering::SeqCst).then_some(Ok(self.value))
        }

        fn cancel(&self) {
            self.cancelled.store(true, Ordering::SeqCst);
        }
    }

    fn fake(value: u32, ready: &Arc<AtomicBool>) -> (Box<dyn Pending<u32>>, Arc<AtomicBool>) {
        let cancelled = Arc::new(AtomicBool::new(false));
        let pending = Fake {
            value,
            ready: Arc::clone(ready),
            cancelled: Arc::clone(&cancelled),
        };
        (Box::new(pending), cancelled)
    }

    #[test]
    fn one_request_in_flight_stale_ones_cancelled_answers_kept() {
        let ready = Arc::new(AtomicBool::new(false));
        let mut cache = TicketCache::<&str, u32>::default();
        let (a, a_cancelled) = fake(1, &ready);
        cache.request("a", || a);
        // The same key again submits nothing.
        cache.request("a", || unreachable!("a is already running"));
        assert_eq!(cache.running_key(), Some(&"a"));
        assert!(!cache.poll());
        // Another key cancels the first.
        let (b, b_cancelled) = fake(2, &ready);
        cache.request("b", || b);
        assert!(a_cancelled.load(Ordering::SeqCst));
        ready.store(true, Ordering::SeqCst);
        assert!(cache.poll());
        assert_eq!(**cache.get(&"b").unwrap().as_ref().unwrap(), 2);
        assert!(
            cache.get(&"a").is_none(),
            "a cancelled run cached something"
        );
        assert!(!cache.is_running());
        // Answered keys are not asked again.
        cache.request("b", || unreachable!("b is answered"));
        assert!(!b_cancelled.load(Ordering::SeqCst));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn stale_work_and_dropped_caches_cancel_their_request() {
        let ready = Arc::new(AtomicBool::new(false));
        let mut cache = TicketCache::<&str, u32>::default();
        let (a, a_cancelled) = fake(1, &ready);
        cache.request("a", || a);
        cache.forget_stale(|k| *k == "a");
        assert!(!a_cancelled.load(Ordering::SeqCst));
        cache.forget_stale(|k| *k == "b");
        assert!(a_cancelled.load(Ordering::SeqCst));
        assert!(!cache.is_running());
        let (c, c_cancelled) = fake(3, &ready);
        cache.request("c", || c);
        drop(cache);
        assert!(c_cancelled.load(Ordering::SeqCst));
    }
}
