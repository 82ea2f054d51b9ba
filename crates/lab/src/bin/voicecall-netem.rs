//! A UDP relay that impairs traffic like `tc netem` (which this project's machines lack):
//! put it between a client and its TURN server. Prints `listening ADDR` first.

use std::process::ExitCode;

use clap::Parser;
use voicecall_lab::netem::{Args, run_relay};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run_relay(args.to_config()).await {
        Ok((addr, _stats, task)) => {
            println!("listening {addr}");
            let _ = task.await;
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("voicecall-netem: cannot bind {}: {err}", args.listen);
            ExitCode::from(1)
        }
    }
}
