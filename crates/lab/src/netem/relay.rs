use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::UdpSocket;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::arrivals::ArrivalLog;
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
    /// Impair only RTP media (inside TURN ChannelData or Send/Data indications) and pass
    /// everything else (STUN, DTLS, RTCP) untouched, with a loss/delay process of its own
    /// per client: each media stream then sees exactly the configured statistics.
    pub media_only: bool,
}

#[derive(Debug, Default)]
pub struct RelayStats {
    pub up_forwarded: AtomicU64,
    pub up_dropped: AtomicU64,
    pub down_forwarded: AtomicU64,
    pub down_dropped: AtomicU64,
    /// While set, every packet passes at once, unimpaired: a test's "the line is clean
    /// again" (see [`super::RelayThread::set_impaired`]).
    pub bypass: AtomicBool,
    /// The RTP packets received from clients, once started.
    pub arrivals: ArrivalLog,
}

/// Shared by both directions: impairments are seeded per direction so runs repeat.
struct Shared {
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    up: Mutex<Impairment>,
    down: Mutex<Impairment>,
    up_config: ImpairmentConfig,
    down_config: ImpairmentConfig,
    media_only: bool,
    stats: Arc<RelayStats>,
}

/// One client's own impairment processes (media-only mode).
struct ClientChains {
    up: Mutex<Impairment>,
    down: Mutex<Impairment>,
}

impl Shared {
    fn chains_for(&self, index: u64) -> Arc<ClientChains> {
        let seeded = |config: &ImpairmentConfig| {
            let mut config = config.clone();
            config.seed = config.seed.wrapping_add(index.wrapping_mul(1_000_003));
            Mutex::new(Impairment::new(config))
        };
        Arc::new(ClientChains {
            up: seeded(&self.up_config),
            down: seeded(&self.down_config),
        })
    }

    /// The fate of one packet: media-only mode passes non-media untouched and draws from
    /// the client's own process.
    async fn fate(&self, packet: &[u8], upstream: bool, chains: &ClientChains) -> Fate {
        if self.stats.bypass.load(Ordering::Relaxed) {
            return Fate::DeliverAfter(std::time::Duration::ZERO);
        }
        if !self.media_only {
            let chain = if upstream { &self.up } else { &self.down };
            return chain.lock().await.next_fate();
        }
        if !carries_rtp(packet) {
            return Fate::DeliverAfter(std::time::Duration::ZERO);
        }
        let chain = if upstream { &chains.up } else { &chains.down };
        chain.lock().await.next_fate()
    }
}

/// True when a TURN packet carries an RTP (not RTCP) packet: ChannelData (RFC 8656
/// §12.4) or a Send/Data indication's DATA attribute, holding a version-2 packet whose
/// second byte is outside RTCP's 192–223 (RFC 5761 §4).
pub fn carries_rtp(packet: &[u8]) -> bool {
    rtp_inside(packet).is_some()
}

/// The RTP packet inside a TURN packet (see [`carries_rtp`]).
fn rtp_inside(packet: &[u8]) -> Option<&[u8]> {
    let inner = match packet.first() {
        Some(0x40..=0x7F) => packet.get(4..),
        Some(0x00 | 0x01) => stun_data(packet),
        _ => None,
    }?;
    match inner {
        [b0, b1, ..] if b0 & 0xC0 == 0x80 && !(192..=223).contains(b1) => Some(inner),
        _ => None,
    }
}

/// The DATA attribute of a STUN Send (0x0016) or Data (0x0017) indication.
fn stun_data(packet: &[u8]) -> Option<&[u8]> {
    let kind = u16::from_be_bytes([*packet.first()?, *packet.get(1)?]);
    if kind != 0x0016 && kind != 0x0017 {
        return None;
    }
    let mut pos = 20;
    while let (Some(t), Some(l)) = (packet.get(pos..pos + 2), packet.get(pos + 2..pos + 4)) {
        let attr = u16::from_be_bytes([t[0], t[1]]);
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        let value = packet.get(pos + 4..pos + 4 + len)?;
        if attr == 0x0013 {
            return Some(value);
        }
        pos += 4 + len.div_ceil(4) * 4;
    }
    None
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
        up: Mutex::new(Impairment::new(up_cfg.clone())),
        down: Mutex::new(Impairment::new(down_cfg.clone())),
        up_config: up_cfg,
        down_config: down_cfg,
        media_only: config.media_only,
        stats: Arc::clone(&stats),
    });
    let task = tokio::spawn(serve(shared));
    Ok((local, stats, task))
}

async fn serve(shared: Arc<Shared>) {
    // One upstream socket per client, so the TURN server sees one 5-tuple per client as it
    // would without the relay.
    let mut clients: HashMap<SocketAddr, (Arc<UdpSocket>, Arc<ClientChains>)> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((len, from)) = shared.front.recv_from(&mut buf).await else {
            continue;
        };
        let (upstream, chains) = match clients.get(&from) {
            Some((sock, chains)) => (Arc::clone(sock), Arc::clone(chains)),
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
                let chains = shared.chains_for(clients.len() as u64);
                clients.insert(from, (Arc::clone(&sock), Arc::clone(&chains)));
                tokio::spawn(pump_down(
                    Arc::clone(&shared),
                    Arc::clone(&sock),
                    from,
                    Arc::clone(&chains),
                ));
                (sock, chains)
            }
        };
        if let Some(rtp) = rtp_inside(&buf[..len]) {
            shared.stats.arrivals.record(rtp);
        }
        let fate = shared.fate(&buf[..len], true, &chains).await;
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

async fn pump_down(
    shared: Arc<Shared>,
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    chains: Arc<ClientChains>,
) {
    let mut buf = vec![0u8; 65_536];
    while let Ok((len, _)) = upstream.recv_from(&mut buf).await {
        let fate = shared.fate(&buf[..len], false, &chains).await;
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

    #[test]
    fn finds_rtp_inside_turn_framing() {
        let rtp = [0x80u8, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA];
        let rtcp = [0x81u8, 200, 0, 6];
        let channel = |inner: &[u8]| {
            let mut p = vec![0x40, 0x00, 0, inner.len() as u8];
            p.extend_from_slice(inner);
            p
        };
        assert!(carries_rtp(&channel(&rtp)));
        assert!(!carries_rtp(&channel(&rtcp)));
        assert!(!carries_rtp(&channel(&[22, 254, 253])), "DTLS");
        let mut send = vec![0x00, 0x16, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        send.extend_from_slice(&[0; 12]);
        // XOR-PEER-ADDRESS (8 bytes), then DATA.
        send.extend_from_slice(&[0x00, 0x12, 0, 8, 0, 1, 0, 0, 1, 2, 3, 4]);
        send.extend_from_slice(&[0x00, 0x13, 0, rtp.len() as u8]);
        send.extend_from_slice(&rtp);
        assert!(carries_rtp(&send));
        assert!(!carries_rtp(&send[..30]), "truncated");
        assert!(!carries_rtp(&[]));
        assert!(!carries_rtp(&[0x00, 0x01, 0, 0]), "binding request");
    }

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
            media_only: false,
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
