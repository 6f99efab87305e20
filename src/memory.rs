//! Hands memory back to the system when the app goes quiet.
//!
//! A rep leaves the app open all day, mostly idle. A burst of work (opening the inbox on a large
//! database, a stream of deliveries) fills SQLite's page caches and the allocator's arenas, and
//! neither gives anything back by itself: the process would sit at its peak for the rest of the
//! day. Once nothing has been read or committed for a while, the engine frees SQLite's unpinned
//! cache pages and asks the allocator to return its free pages. The next read fills what it
//! needs again from the OS page cache: on 1M messages the first chat list after a release took
//! 28 ms against 20 ms warm.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

mod sqlite_heap;
pub use sqlite_heap::TooLate;

/// How long the engine must be quiet, measured between two ticks, before it releases memory.
/// A release therefore comes between one and two of these after the last read or commit.
pub const QUIET: Duration = Duration::from_secs(5);

/// Counts the reads that fill the readers' caches; commits are counted by the writer's own
/// sequence watch.
#[derive(Clone, Default)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    pub fn touch(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Decides, tick by tick, when to release: once per quiet spell that follows some work, so an
/// app that stays idle is not trimmed again and again for nothing.
#[derive(Default)]
struct QuietSpell<T> {
    last: Option<T>,
    released_at: Option<T>,
}

impl<T: PartialEq + Copy> QuietSpell<T> {
    /// `work` is a mark of everything done so far; true when it did not move since the last
    /// tick and memory was not already released at this mark.
    fn tick(&mut self, work: T) -> bool {
        let quiet = self.last == Some(work);
        self.last = Some(work);
        if quiet && self.released_at != Some(work) {
            self.released_at = Some(work);
            return true;
        }
        false
    }
}

/// Releases memory after each quiet spell; runs until the engine stops it.
pub async fn release_when_quiet(activity: Activity, committed: watch::Receiver<i64>) {
    let mut spell = QuietSpell::default();
    let mut tick = tokio::time::interval(QUIET);
    loop {
        tick.tick().await;
        if spell.tick((activity.count(), *committed.borrow())) {
            match tokio::task::spawn_blocking(release).await {
                Ok(freed) => tracing::debug!(sqlite_bytes = freed, "quiet: memory released"),
                Err(e) => tracing::warn!(error = %e, "quiet: memory release did not finish"),
            }
        }
    }
}

/// Frees SQLite's unpinned cache pages (every connection's) and returns the allocator's free
/// pages to the system; the bytes SQLite freed.
pub fn release() -> usize {
    // SAFETY: takes no pointers. The bundled SQLite is threadsafe and built with
    // SQLITE_ENABLE_MEMORY_MANAGEMENT: it locks the shared page cache and frees only pages no
    // statement holds, so connections in use on other threads are unaffected.
    let freed = unsafe { rusqlite::ffi::sqlite3_release_memory(i32::MAX) };
    trim_allocators();
    usize::try_from(freed).unwrap_or(0)
}

/// What SQLite's page caches may hold, every connection's together, in the long-running app
/// ([`bound_sqlite`]). Each connection's `cache_size` is a ceiling of its own; with the writer,
/// the projector and the readers at work at once on two files, those ceilings added up. With
/// SQLite on mimalloc this is what the process holds for it: at 16 MiB instead of 24, `serve`'s
/// peak on a million messages fell from 55 to 47 MiB and the bench's queries kept their times
/// (docs/BENCHMARKS.md, "SQLite on mimalloc").
const SQLITE_SOFT_HEAP: i64 = 16 * 1024 * 1024;

/// The allocator of everything Rust allocates: the listener's parse of each delivery, the
/// writer's rows, the projector's model. mimalloc keeps free lists per thread, so the runtime's
/// workers, the writer and the projector stop queueing on the arena locks glibc's two capped
/// arenas ([`ARENAS`]) shared between them: the closed-loop ack rate rose from 0.48 to 0.57 of
/// the durable floor, with `serve`'s peak on a million messages in the same band as glibc's
/// (docs/BENCHMARKS.md, "mimalloc, and the projector behind the listener"). Declared here so
/// both binaries, and the tests, run on the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's number for `purge_delay` (`mi_option_e` in its `mimalloc.h`): `libmimalloc-sys`
/// names only the options mimalloc 2 and 3 share. A test checks it by its documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps a freed page before giving it back (ms). Its default, a second, kept
/// `serve`'s 1M peak at 65 MiB; at once (0) it was 45–48 MiB, but each of the ~1,900 purges a
/// second under a saturating load is an `madvise` whose TLB flush interrupts the other core too:
/// at 20 ms the purges are five times fewer, the closed loop 3–4% faster, and the peak 47–51 MiB
/// (docs/BENCHMARKS.md, "SQLite on mimalloc").
const PURGE_DELAY_MS: std::ffi::c_long = 20;

/// Allocator arenas glibc's malloc may have ([`set_up_allocators`]): the C libraries other than
/// SQLite (the desktop's GTK and WebKit) still allocate through it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Sets both allocators up for an app that runs all day, and hands SQLite's allocations to
/// mimalloc; call first thing in `main`, before any thread starts or any database opens.
///
/// Errors: [`TooLate`] when SQLite had already started; it then keeps glibc, which works, only
/// with a higher peak.
///
/// By default mimalloc gives freed pages back a second after they empty; here after
/// [`PURGE_DELAY_MS`] (its arenas are also kept off transparent huge pages, at build time: see
/// `Cargo.toml`).
///
/// glibc gives a thread that meets contention an arena of its own (up to eight a core) and keeps
/// what is freed in an arena for that arena: capped at two, with [`bound_sqlite`], `serve`'s peak
/// was 47–56 MiB instead of 71–75 (docs/BENCHMARKS.md, "Two files, merged").
pub fn set_up_allocators() -> Result<(), TooLate> {
    // SAFETY: mi_option_set takes no pointers; mimalloc reads the delay each time it purges.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointers; M_ARENA_MAX only bounds arenas created from now on.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
    sqlite_heap::route()
}

/// Puts SQLite's caches together under [`SQLITE_SOFT_HEAP`], for the app that runs all day
/// (`serve`, the desktop app). Not for `import` and `rebuild`: their one transaction wants its
/// big cache, and they end soon.
pub fn bound_sqlite() {
    // SAFETY: takes no pointers; the bundled SQLite is threadsafe and built with
    // SQLITE_ENABLE_MEMORY_MANAGEMENT, so the limit applies to every connection at once and is
    // kept by recycling unpinned cache pages, never by failing.
    unsafe {
        rusqlite::ffi::sqlite3_soft_heap_limit64(SQLITE_SOFT_HEAP);
    }
}

/// Gives both allocators' free pages back to the system.
fn trim_allocators() {
    // SAFETY: mi_collect takes no pointers; it frees what the calling thread's heap and abandoned
    // heaps no longer use.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: glibc's malloc_trim takes each arena's lock itself; it only gives back pages that
    // hold no allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn releases_once_per_quiet_spell_that_follows_work() {
        let mut spell = QuietSpell::default();
        assert!(!spell.tick(0), "the first tick has nothing to compare with");
        assert!(spell.tick(0), "a tick without work releases");
        assert!(!spell.tick(0), "an idle app is not released again");
        assert!(!spell.tick(3), "work since the last tick: not quiet");
        assert!(!spell.tick(5), "still working");
        assert!(spell.tick(5), "quiet again after work");
        assert!(
            !spell.tick(5),
            "one release per quiet spell: the next quiet tick does nothing"
        );
    }

    #[test]
    fn the_purge_delay_set_at_start_is_mimallocs() {
        // SAFETY: mi_option_get takes no pointers.
        let delay = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // Recognised first by its default in mimalloc 3, so a renumbering in a newer mimalloc
        // fails here instead of setting some other option.
        assert_eq!(
            delay(),
            1000,
            "option 15 is purge_delay, 1000 ms by default"
        );
        set_up_allocators().expect("SQLite has not started in this test's process");
        assert_eq!(
            delay(),
            PURGE_DELAY_MS,
            "freed pages are given back after our delay"
        );
    }

    #[test]
    fn release_frees_the_page_cache_of_an_open_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.execute_batch(
            "PRAGMA cache_size = -16000;
             CREATE TABLE t(x);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO t SELECT randomblob(2000) FROM n;",
        )
        .expect("fill");
        let sum: i64 = conn
            .query_row("SELECT sum(length(x)) FROM t", [], |r| r.get(0))
            .expect("read");
        assert_eq!(
            sum, 4_000_000,
            "the table was read in full, filling the page cache"
        );
        let freed = release();
        assert!(
            freed > 2_000_000,
            "the 4 MB just read should be freed from the cache, was {freed} bytes"
        );
        let again: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("the connection still reads after a release");
        assert_eq!(
            again, 2000,
            "the connection reads every row after a release"
        );
    }
}
