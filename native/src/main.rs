//! The `workgate` binary; see `workgate --help` and README-native.md.

fn main() -> std::process::ExitCode {
    workgate::cli::main()
}
