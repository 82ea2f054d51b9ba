//! The `voicecall` binary: a thin shell over the `voicecall` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
