//! SQLite's allocations through mimalloc, the allocator Rust's already go through.
//!
//! Left on glibc, SQLite's page caches came back to the arena they were taken from and stayed
//! there: under the bench's queries and 1,000 deliveries a second on a million messages, glibc
//! held 31 MiB for SQLite against a soft limit of 24, and lowering the limit freed nothing the
//! process gave back. mimalloc returns a freed page within milliseconds ([`super::set_up_allocators`]), so
//! SQLite's limit becomes what the process holds (docs/BENCHMARKS.md, "SQLite on mimalloc").

use std::ffi::{c_int, c_void};

use rusqlite::ffi;

/// SQLite would not take the allocator: it had already started.
#[derive(Debug, thiserror::Error)]
#[error("SQLite had already started (code {0}); it keeps the system allocator")]
pub struct TooLate(c_int);

/// Hands SQLite mimalloc's functions. Only before SQLite starts: before the first connection
/// opens, which is why `main` calls it first.
pub(super) fn route() -> Result<(), TooLate> {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes one pointer to a sqlite3_mem_methods, which SQLite
    // copies before returning; the functions it names live for the whole program.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(TooLate(rc))
    }
}

/// SQLite never asks for a negative size; if it did, the request fails as out of memory.
fn bytes(n: c_int) -> Option<usize> {
    usize::try_from(n).ok()
}

unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
    match bytes(n) {
        // SAFETY: mi_malloc takes a size; its result is aligned for any C type, as SQLite needs.
        Some(n) => unsafe { libmimalloc_sys::mi_malloc(n) },
        None => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: SQLite frees only what `malloc` or `realloc` above gave it (or NULL).
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    match bytes(n) {
        // SAFETY: `p` came from `malloc` or `realloc` above; on failure it stays valid, as
        // SQLite expects of a failed xRealloc.
        Some(n) => unsafe { libmimalloc_sys::mi_realloc(p, n) },
        None => std::ptr::null_mut(),
    }
}

/// The usable size, which is what SQLite's memory accounting (and so its soft heap limit) counts.
unsafe extern "C" fn size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from `malloc` or `realloc` above (mimalloc answers 0 for NULL).
    let usable = unsafe { libmimalloc_sys::mi_usable_size(p) };
    c_int::try_from(usable).unwrap_or(c_int::MAX)
}

/// The size `malloc(n)` will really hand out, so SQLite can use the whole of it.
unsafe extern "C" fn roundup(n: c_int) -> c_int {
    let Some(wanted) = bytes(n) else { return n };
    // SAFETY: mi_good_size takes a size and reads no memory.
    let good = unsafe { libmimalloc_sys::mi_good_size(wanted) };
    c_int::try_from(good).unwrap_or(n)
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    // Runs in a process of its own under nextest (as `make test` runs it): SQLite must not have
    // started before the route is set.
    #[test]
    fn sqlite_allocates_from_mimalloc_once_routed() {
        route().expect("SQLite has not started in this test's process");
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(100000));")
            .expect("write");
        // SAFETY: sqlite3_malloc returns memory from the configured allocator, freed below.
        let p = unsafe { ffi::sqlite3_malloc(1000) };
        assert!(!p.is_null(), "SQLite allocates");
        // SAFETY: `p` is a live allocation; the check only compares its address.
        let owned = unsafe { libmimalloc_sys::mi_is_in_heap_region(p as *const c_void) };
        // SAFETY: `p` came from sqlite3_malloc and is freed once.
        unsafe { ffi::sqlite3_free(p) };
        assert!(owned, "SQLite's allocation comes from mimalloc's heap");
        assert!(
            // SAFETY: takes no pointers.
            unsafe { ffi::sqlite3_memory_used() } > 100_000,
            "SQLite still counts what it holds (its soft heap limit depends on it)"
        );
        assert!(
            route().is_err(),
            "once SQLite has started, the allocator cannot change under it"
        );
    }
}
