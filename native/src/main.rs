//! The `workgate` binary; see `workgate --help` and the README's self-hosting section.

// mimalloc: the server allocates many small, short-lived buffers per request on several
// threads, where glibc's malloc spends a noticeable share of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tune_allocator();
    workgate::cli::main()
}

/// mimalloc gives freed memory back to the OS by decommitting it (after 10 ms), and the next
/// large allocation — every bulk's body and records — faults it in again, the kernel zeroing a
/// 2 MiB transparent huge page at a time: a quarter of the server's CPU during `rg.log`
/// (profiled; 12k page faults for 20k records). Purging with `MADV_FREE` instead ("reset")
/// still lets the OS take the memory when it needs it, and costs nothing when it is reused
/// first (1.4k page faults). `MIMALLOC_PURGE_DECOMMITS` in the environment still decides.
fn tune_allocator() {
    /// `mi_option_purge_decommits` in mimalloc.h (v2 and v3); the bindings do not name it.
    const PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;
    if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
        // SAFETY: a plain setter, called before any other thread exists (mimalloc's options
        // are not synchronised).
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DECOMMITS, 0) };
    }
}
