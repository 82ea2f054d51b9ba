use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::UdpSocket;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::model::{Fate, Impairment, ImpairmentConfig};

/// Which way the impairment applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    /// Client → upstream only.
    Upstream,
    /// Upstream → client only.
    Downstream,
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    pub impairment: ImpairmentConfig,
    pub direction: Direction,
}

#[derive(Debug, Default)]
pub struct RelayStats {
    pub up_forwarded: AtomicU64,
    pub up_dropped: AtomicU64,
    pub down_forwarded: AtomicU64,
    pub down_dropped: AtomicU64,
}

/// Shared by both directions: impairments are seeded per direction so runs repeat.
struct Shared {
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    up: Mutex<Impairment>,
    down: Mutex<Impairment>,
    stats: Arc<RelayStats>,
}

/// Binds the relay and returns its address, its counters and the task that runs it.
pub async fn run_relay(
    config: RelayConfig,
) -> io::Result<(SocketAddr, Arc<RelayStats>, JoinHandle<()>)> {
    let front = Arc::new(UdpSocket::bind(config.listen).await?);
    let local = front.local_addr()?;
    let clean = ImpairmentConfig::default();
    let (up_cfg, down_cfg) = match config.direction {
        Direction::Both => (config.impairment.clone(), config.impairment.clone()),
        Direction::Upstream => (config.impairment.clone(), clean),
        Direction::Downstream => (clean, config.impairment.clone()),
    };
    let mut down_cfg = down_cfg;
    down_cfg.seed = down_cfg.seed.wrapping_add(1);
    let stats = Arc::new(RelayStats::default());
    let shared = Arc::new(Shared {
        front,
        upstream: config.upstream,
        up: Mutex::new(Impairment::new(up_cfg)),
        down: Mutex::new(Impairment::new(down_cfg)),
        stats: Arc::clone(&stats),
    });
    let task = tokio::spawn(serve(shared));
    Ok((local, stats, task))
}

async fn serve(shared: Arc<Shared>) {
    // One upstream socket per client, so the TURN server sees one 5-tuple per client as it
    // would without the relay.
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((len, from)) = shared.front.recv_from(&mut buf).await else {
            continue;
        };
        let upstream = match clients.get(&from) {
            Some(sock) => Arc::clone(sock),
            None => {
                let bind = if shared.upstream.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let Ok(sock) = UdpSocket::bind(bind).await else {
                    continue;
                };
                let sock = Arc::new(sock);
                clients.insert(from, Arc::clone(&sock));
                tokio::spawn(pump_down(Arc::clone(&shared), Arc::clone(&sock), from));
                sock
            }
        };
        let fate = shared.up.lock().await.next_fate();
        let packet = buf[..len].to_vec();
        let target = shared.upstream;
        deliver(
            fate,
            &shared.stats.up_forwarded,
            &shared.stats.up_dropped,
            move || async move {
                let _ = upstream.send_to(&packet, target).await;
            },
        );
    }
}

async fn pump_down(shared: Arc<Shared>, upstream: Arc<UdpSocket>, client: SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    while let Ok((len, _)) = upstream.recv_from(&mut buf).await {
        let fate = shared.down.lock().await.next_fate();
        let packet = buf[..len].to_vec();
        let front = Arc::clone(&shared.front);
        deliver(
            fate,
            &shared.stats.down_forwarded,
            &shared.stats.down_dropped,
            move || async move {
                let _ = front.send_to(&packet, client).await;
            },
        );
    }
}

fn deliver<F, Fut>(fate: Fate, forwarded: &AtomicU64, dropped: &AtomicU64, send: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    match fate {
        Fate::Drop => {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
        Fate::DeliverAfter(delay) => {
            forwarded.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                send().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::model::LossModel;
    use super::*;

    #[tokio::test]
    async fn forwards_both_ways_with_loss_and_delay() {
        let echo = UdpSocket::bind("127.0.0.1:0").await.expect("bind echo");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(&buf[..n], from).await;
            }
        });
        let (relay, stats, _task) = run_relay(RelayConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            upstream: echo_addr,
            impairment: ImpairmentConfig {
                loss: LossModel::Random(0.2),
                delay: Duration::from_millis(15),
                seed: 9,
                ..Default::default()
            },
            direction: Direction::Upstream,
        })
        .await
        .expect("relay");
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
        let started = std::time::Instant::now();
        for i in 0..200u32 {
            client.send_to(&i.to_be_bytes(), relay).await.expect("send");
        }
        let mut got = 0;
        let mut buf = [0u8; 16];
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(300), client.recv_from(&mut buf)).await
        {
            got += 1;
        }
        assert!(started.elapsed() >= Duration::from_millis(15));
        let dropped = stats.up_dropped.load(Ordering::Relaxed);
        assert_eq!(got + dropped as usize, 200);
        assert!((20..=60).contains(&dropped), "dropped {dropped}");
        assert_eq!(stats.down_dropped.load(Ordering::Relaxed), 0);
    }
}
