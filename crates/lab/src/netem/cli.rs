//! The relay's command line, shared by the `voicecall-netem` binary and by tests and
//! benchmarks that describe a network condition as netem-style arguments.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use super::{Direction, ImpairmentConfig, LossModel, RelayConfig};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Dir {
    Both,
    Up,
    Down,
}

#[derive(Debug, Parser)]
#[command(
    name = "voicecall-netem",
    about = "Userspace UDP relay with loss, delay, jitter and reordering"
)]
pub struct Args {
    /// Address to receive client packets on (port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Where to forward them (e.g. the TURN server).
    #[arg(long)]
    pub upstream: SocketAddr,
    /// Random loss probability, 0–1.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Bursty (Gilbert–Elliott) loss instead: long-run rate, 0–1 …
    #[arg(long, conflicts_with = "loss")]
    pub burst_loss: Option<f64>,
    /// … and mean burst length in packets.
    #[arg(long, default_value_t = 3.0)]
    pub burst_length: f64,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    pub delay: Duration,
    /// Extra per-packet delay, uniform in 0..=jitter.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    pub jitter: Duration,
    /// Probability of holding a packet back by --reorder-gap.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "40ms")]
    pub reorder_gap: Duration,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "both")]
    pub direction: Dir,
    /// Impair only RTP media, with one loss/delay process per client (benchmarks).
    #[arg(long)]
    pub media_only: bool,
}

impl Args {
    /// The relay this command line describes.
    pub fn to_config(&self) -> RelayConfig {
        let loss = match self.burst_loss {
            Some(rate) => LossModel::bursty(rate, self.burst_length),
            None if self.loss > 0.0 => LossModel::Random(self.loss),
            None => LossModel::None,
        };
        RelayConfig {
            listen: self.listen,
            upstream: self.upstream,
            impairment: ImpairmentConfig {
                loss,
                delay: self.delay,
                jitter: self.jitter,
                reorder: self.reorder,
                reorder_gap: self.reorder_gap,
                seed: self.seed,
            },
            direction: match self.direction {
                Dir::Both => Direction::Both,
                Dir::Up => Direction::Upstream,
                Dir::Down => Direction::Downstream,
            },
            media_only: self.media_only,
        }
    }
}
