//! The `voicecall` binary: a thin shell over the `voicecall` library.

mod cli;
mod ui;

fn main() -> std::process::ExitCode {
    cli::main()
}
