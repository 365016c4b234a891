//! The `workgate` binary; see `workgate --help` and the README's self-hosting section.

// mimalloc: the server allocates many small, short-lived buffers per request on several
// threads, where glibc's malloc spends a noticeable share of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    workgate::cli::main()
}
