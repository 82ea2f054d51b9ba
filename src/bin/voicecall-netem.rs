//! A UDP relay that impairs traffic like `tc netem` (which this project's machines lack):
//! put it between a client and its TURN server. Prints `listening ADDR` first.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use voicecall::netem::{Direction, ImpairmentConfig, LossModel, RelayConfig, run_relay};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Dir {
    Both,
    Up,
    Down,
}

#[derive(Debug, Parser)]
#[command(
    name = "voicecall-netem",
    about = "Userspace UDP relay with loss, delay, jitter and reordering"
)]
struct Args {
    /// Address to receive client packets on (port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to forward them (e.g. the TURN server).
    #[arg(long)]
    upstream: SocketAddr,
    /// Random loss probability, 0–1.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Bursty (Gilbert–Elliott) loss instead: long-run rate, 0–1 …
    #[arg(long, conflicts_with = "loss")]
    burst_loss: Option<f64>,
    /// … and mean burst length in packets.
    #[arg(long, default_value_t = 3.0)]
    burst_length: f64,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    delay: Duration,
    /// Extra per-packet delay, uniform in 0..=jitter.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    jitter: Duration,
    /// Probability of holding a packet back by --reorder-gap.
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "40ms")]
    reorder_gap: Duration,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value = "both")]
    direction: Dir,
    /// Impair only RTP media, with one loss/delay process per client (benchmarks).
    #[arg(long)]
    media_only: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let loss = match args.burst_loss {
        Some(rate) => LossModel::bursty(rate, args.burst_length),
        None if args.loss > 0.0 => LossModel::Random(args.loss),
        None => LossModel::None,
    };
    let config = RelayConfig {
        listen: args.listen,
        upstream: args.upstream,
        impairment: ImpairmentConfig {
            loss,
            delay: args.delay,
            jitter: args.jitter,
            reorder: args.reorder,
            reorder_gap: args.reorder_gap,
            seed: args.seed,
        },
        direction: match args.direction {
            Dir::Both => Direction::Both,
            Dir::Up => Direction::Upstream,
            Dir::Down => Direction::Downstream,
        },
        media_only: args.media_only,
    };
    match run_relay(config).await {
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
