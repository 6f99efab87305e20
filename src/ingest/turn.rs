//! Whose turn it is to write. SQLite lets one connection write at a time, and when the lock is
//! taken its busy handler sleeps (1, 2, 5, 10 ms and more) before trying again: the writer's
//! acknowledgements would wait out those sleeps behind a projection batch. The writer and the
//! projector take turns in process instead, the writer first: the projector does not start a
//! batch while the writer is waiting for its turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone, Default)]
pub(crate) struct WriteTurn {
    lock: Arc<Mutex<()>>,
    writer_waiting: Arc<AtomicBool>,
}

impl WriteTurn {
    /// The writer's turn, as soon as the current holder is done.
    pub(crate) fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer_waiting.store(true, Ordering::Release);
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.writer_waiting.store(false, Ordering::Release);
        guard
    }

    /// The projector's turn, once the writer is not waiting for one.
    pub(crate) fn projector(&self) -> MutexGuard<'_, ()> {
        while self.writer_waiting.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_micros(50));
        }
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}
