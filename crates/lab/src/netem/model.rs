use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How packets get lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossModel {
    None,
    /// Each packet independently, with this probability.
    Random(f64),
    /// Gilbert–Elliott: a good and a bad state; `p` = P(good→bad), `r` = P(bad→good) per
    /// packet, and the loss probability in each state. Mean burst length is 1/r.
    GilbertElliott {
        p: f64,
        r: f64,
        loss_good: f64,
        loss_bad: f64,
    },
}

impl LossModel {
    /// Bursty loss with the given long-run loss rate and mean burst length (in packets),
    /// losing every packet in the bad state and none in the good one.
    pub fn bursty(rate: f64, mean_burst: f64) -> Self {
        let r = 1.0 / mean_burst.max(1.0);
        // Stationary P(bad) = p / (p + r) = rate  →  p = rate·r / (1 − rate).
        let p = rate * r / (1.0 - rate).max(f64::EPSILON);
        LossModel::GilbertElliott {
            p,
            r,
            loss_good: 0.0,
            loss_bad: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImpairmentConfig {
    pub loss: LossModel,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from 0..=jitter per packet (reorders when > packet gap).
    pub jitter: Duration,
    /// Probability that a packet is held back by an extra `reorder_gap`.
    pub reorder: f64,
    pub reorder_gap: Duration,
    pub seed: u64,
}

impl Default for ImpairmentConfig {
    fn default() -> Self {
        Self {
            loss: LossModel::None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: 0.0,
            reorder_gap: Duration::from_millis(40),
            seed: 1,
        }
    }
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Drop,
    DeliverAfter(Duration),
}

/// Seeded per-packet decisions; the same seed gives the same fates in the same order.
#[derive(Debug)]
pub struct Impairment {
    config: ImpairmentConfig,
    rng: StdRng,
    bad_state: bool,
}

impl Impairment {
    pub fn new(config: ImpairmentConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Self {
            config,
            rng,
            bad_state: false,
        }
    }

    pub fn next_fate(&mut self) -> Fate {
        let lost = match self.config.loss {
            LossModel::None => false,
            LossModel::Random(p) => self.rng.random_bool(p.clamp(0.0, 1.0)),
            LossModel::GilbertElliott {
                p,
                r,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.bad_state { r } else { p };
                if self.rng.random_bool(flip.clamp(0.0, 1.0)) {
                    self.bad_state = !self.bad_state;
                }
                let loss = if self.bad_state { loss_bad } else { loss_good };
                self.rng.random_bool(loss.clamp(0.0, 1.0))
            }
        };
        if lost {
            return Fate::Drop;
        }
        let mut delay = self.config.delay;
        if !self.config.jitter.is_zero() {
            let extra = self
                .rng
                .random_range(0..=self.config.jitter.as_micros() as u64);
            delay += Duration::from_micros(extra);
        }
        if self.config.reorder > 0.0 && self.rng.random_bool(self.config.reorder.clamp(0.0, 1.0)) {
            delay += self.config.reorder_gap;
        }
        Fate::DeliverAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss_rate(model: LossModel, n: usize) -> (f64, f64) {
        let mut imp = Impairment::new(ImpairmentConfig {
            loss: model,
            seed: 7,
            ..Default::default()
        });
        let fates: Vec<bool> = (0..n).map(|_| imp.next_fate() == Fate::Drop).collect();
        let lost = fates.iter().filter(|l| **l).count();
        // Mean length of runs of consecutive losses.
        let mut runs = 0;
        let mut prev = false;
        for &l in &fates {
            if l && !prev {
                runs += 1;
            }
            prev = l;
        }
        (lost as f64 / n as f64, lost as f64 / runs.max(1) as f64)
    }

    #[test]
    fn random_loss_hits_its_rate_with_short_bursts() {
        let (rate, burst) = loss_rate(LossModel::Random(0.1), 100_000);
        assert!((rate - 0.1).abs() < 0.005, "{rate}");
        assert!(burst < 1.3, "{burst}");
    }

    #[test]
    fn bursty_loss_hits_its_rate_with_long_bursts() {
        let (rate, burst) = loss_rate(LossModel::bursty(0.05, 4.0), 200_000);
        assert!((rate - 0.05).abs() < 0.007, "{rate}");
        assert!((burst - 4.0).abs() < 0.6, "{burst}");
    }

    #[test]
    fn same_seed_same_fates() {
        let config = ImpairmentConfig {
            loss: LossModel::Random(0.3),
            jitter: Duration::from_millis(30),
            reorder: 0.1,
            seed: 42,
            ..Default::default()
        };
        let mut a = Impairment::new(config.clone());
        let mut b = Impairment::new(config);
        for _ in 0..1000 {
            assert_eq!(a.next_fate(), b.next_fate());
        }
    }

    #[test]
    fn delays_stay_within_delay_plus_jitter_plus_reorder() {
        let mut imp = Impairment::new(ImpairmentConfig {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(30),
            reorder: 0.2,
            reorder_gap: Duration::from_millis(40),
            seed: 3,
            ..Default::default()
        });
        let mut max = Duration::ZERO;
        let mut min = Duration::MAX;
        for _ in 0..10_000 {
            if let Fate::DeliverAfter(d) = imp.next_fate() {
                max = max.max(d);
                min = min.min(d);
            }
        }
        assert!(min >= Duration::from_millis(20));
        assert!(max <= Duration::from_millis(90));
        assert!(max > Duration::from_millis(80), "reordering never happened");
    }
}
