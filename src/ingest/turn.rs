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

    /// Whether the writer is waiting for its turn: the projector ends its batch early.
    pub(crate) fn writer_waiting(&self) -> bool {
        self.writer_waiting.load(Ordering::Acquire)
    }

    /// The projector's turn, once the writer is not waiting for one.
    pub(crate) fn projector(&self) -> MutexGuard<'_, ()> {
        while self.writer_waiting() {
            std::thread::sleep(Duration::from_micros(50));
        }
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_projection_batch_sees_the_writer_waiting_and_the_writer_goes_next() {
        let turn = WriteTurn::default();
        let projecting = turn.projector();
        assert!(!turn.writer_waiting(), "nobody waits yet");
        let writer = {
            let turn = turn.clone();
            std::thread::spawn(move || {
                let _turn = turn.writer();
                Instant::now()
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !turn.writer_waiting() {
            assert!(Instant::now() < deadline, "the waiting writer never showed");
            std::thread::sleep(Duration::from_millis(1));
        }
        let released = Instant::now();
        drop(projecting);
        let written = writer.join().expect("writer thread");
        assert!(
            written >= released,
            "the writer went only once the batch ended"
        );
        assert!(
            !turn.writer_waiting(),
            "the writer no longer waits once it has its turn"
        );
    }
}
