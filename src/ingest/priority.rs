//! The projector's place in the scheduler: behind the threads that answer Linq.
//!
//! Under load the projector's folds compete with the runtime's workers and the writer for the
//! cores. A delivery waiting for a worker delays its acknowledgement; a fold waiting for a core
//! only delays what the inbox shows, and the projector catches up as soon as the load eases. At
//! nice 10 the ack p99 at 5,000/s fell from 1.83–2.40× the durable floor's to 1.47–1.67×, with
//! the stream's p99 at 1,000/s unchanged (docs/BENCHMARKS.md, "mimalloc, and the projector behind
//! the listener"). Nice 10 rather than 19: on a desktop busy with other work the projector still
//! gets a share of a core, not the scraps.

/// The projector's niceness: the default is 0, the lowest priority 19.
pub const PROJECTOR_NICE: i32 = 10;

/// Lowers the calling thread (and only it: Linux keeps niceness per thread) to
/// [`PROJECTOR_NICE`]. Raising one's own niceness needs no privilege; should it fail all the
/// same, the projector runs at the default priority, as it did before.
pub fn behind_the_listener() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: gettid and setpriority take no pointers and act on this thread only.
        let done = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, PROJECTOR_NICE)
        };
        if done != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "projector left at the default priority"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn niceness() -> i32 {
        // SAFETY: gettid and getpriority take no pointers.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn only_the_calling_thread_steps_back() {
        let before = niceness();
        let lowered = std::thread::spawn(|| {
            behind_the_listener();
            niceness()
        })
        .join()
        .expect("the thread ends");
        assert_eq!(
            lowered, PROJECTOR_NICE,
            "the thread that asked runs at the projector's niceness"
        );
        assert_eq!(
            niceness(),
            before,
            "the thread that spawned it keeps its own priority"
        );
    }
}
