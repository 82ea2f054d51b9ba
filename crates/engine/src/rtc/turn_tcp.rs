//! TURN over TCP for a TURN client that only speaks UDP.
//!
//! webrtc-rs allocates relays over UDP only, yet some networks let nothing but TCP out.
//! A bridge listens on a local UDP port; the TURN client is pointed at it and every
//! datagram is carried over one TCP connection to the real TURN server (RFC 5766 §2.1).
//! STUN messages and ChannelData are self-delimiting, so the TCP stream splits back into
//! the same datagrams; only ChannelData needs padding to four bytes on TCP. For `turns:`
//! the TCP connection is wrapped in TLS first (RFC 7065), which is what gets through
//! networks that only allow HTTPS-looking traffic on port 443.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Datagrams queued towards the TURN server per client before the connection catches up.
const QUEUE: usize = 512;
const MAX_FRAME: usize = 4 + 65_535 + 3;

/// A running bridge; stops when dropped.
pub struct TurnTcpBridge {
    local: SocketAddr,
    task: JoinHandle<()>,
}

/// TLS towards the TURN server: the name its certificate must carry and who we trust.
#[derive(Clone)]
pub struct TurnTls {
    pub domain: String,
    pub connector: tokio_native_tls::TlsConnector,
}

impl TurnTls {
    /// Trusts the system's roots plus `extra_roots` (PEM), e.g. a private deployment's CA.
    pub fn new(domain: &str, extra_roots: &[Vec<u8>]) -> io::Result<Self> {
        let mut builder = native_tls::TlsConnector::builder();
        for pem in extra_roots {
            let cert = native_tls::Certificate::from_pem(pem).map_err(io::Error::other)?;
            builder.add_root_certificate(cert);
        }
        let connector = builder.build().map_err(io::Error::other)?;
        Ok(Self {
            domain: domain.to_owned(),
            connector: connector.into(),
        })
    }
}

impl TurnTcpBridge {
    /// Binds a UDP port on `bind_ip` that relays to the TURN server at `server` over TCP,
    /// inside TLS when `tls` is given.
    pub async fn start(
        bind_ip: IpAddr,
        server: SocketAddr,
        tls: Option<TurnTls>,
    ) -> io::Result<Self> {
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(bind_ip, 0)).await?);
        let local = socket.local_addr()?;
        let task = tokio::spawn(serve(socket, server, tls));
        Ok(Self { local, task })
    }

    /// The address to give the TURN client instead of the server's.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for TurnTcpBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(socket: Arc<UdpSocket>, server: SocketAddr, tls: Option<TurnTls>) {
    let mut connections: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut tasks = Vec::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((len, client)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(frame) = tcp_frame(&buf[..len]) else {
            continue; // neither STUN nor ChannelData: not TURN traffic
        };
        let alive = connections.get(&client).is_some_and(|tx| !tx.is_closed());
        if !alive {
            let (tx, rx) = mpsc::channel(QUEUE);
            tasks.push(AbortOnDrop(tokio::spawn(carry(
                Arc::clone(&socket),
                client,
                server,
                tls.clone(),
                rx,
            ))));
            connections.insert(client, tx);
        }
        if let Some(tx) = connections.get(&client) {
            // A full queue means TCP is stalled; dropping is what UDP would have done.
            let _ = tx.try_send(frame);
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One client's TCP (or TLS) connection: datagrams out, frames back.
async fn carry(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    server: SocketAddr,
    tls: Option<TurnTls>,
    outgoing: mpsc::Receiver<Vec<u8>>,
) {
    let stream = match TcpStream::connect(server).await {
        Ok(stream) => stream,
        Err(err) => {
            tracing::warn!(%server, error = %err, "TURN over TCP: cannot connect");
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    match tls {
        None => pump(stream, socket, client, outgoing).await,
        Some(tls) => match tls.connector.connect(&tls.domain, stream).await {
            Ok(stream) => pump(stream, socket, client, outgoing).await,
            Err(err) => {
                tracing::warn!(%server, domain = %tls.domain, error = %err, "TURN over TLS: handshake failed");
            }
        },
    }
}

async fn pump<S: AsyncRead + AsyncWrite>(
    stream: S,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        while let Some(frame) = outgoing.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let read = async {
        let mut frame = vec![0u8; MAX_FRAME];
        loop {
            if reader.read_exact(&mut frame[..4]).await.is_err() {
                break;
            }
            let Some((datagram_len, tcp_len)) = frame_lengths(&frame[..4]) else {
                tracing::warn!("TURN over TCP: the server sent something that is not TURN");
                break;
            };
            if reader.read_exact(&mut frame[4..tcp_len]).await.is_err() {
                break;
            }
            let _ = socket.send_to(&frame[..datagram_len], client).await;
        }
    };
    tokio::select! {
        _ = write => {}
        _ = read => {}
    }
}

/// (length as a datagram, length on TCP including padding) from a frame's first 4 bytes.
fn frame_lengths(header: &[u8]) -> Option<(usize, usize)> {
    let declared = u16::from_be_bytes([header[2], header[3]]) as usize;
    match header[0] >> 6 {
        // STUN: 20-byte header, attributes already 4-byte aligned.
        0b00 => Some((20 + declared, 20 + declared)),
        // ChannelData: 4-byte header, padded to 4 bytes over TCP (RFC 5766 §11.5).
        0b01 => Some((4 + declared, (4 + declared + 3) & !3)),
        _ => None,
    }
}

/// The bytes to write on TCP for one datagram (padding ChannelData), or None if the
/// datagram is not TURN traffic or its length field disagrees with its size.
fn tcp_frame(datagram: &[u8]) -> Option<Vec<u8>> {
    if datagram.len() < 4 {
        return None;
    }
    let (len, tcp_len) = frame_lengths(datagram)?;
    if datagram.len() < len {
        return None;
    }
    let mut frame = Vec::with_capacity(tcp_len);
    frame.extend_from_slice(&datagram[..len]);
    frame.resize(tcp_len, 0);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_passes_unchanged_and_channel_data_is_padded() {
        // A STUN binding request: type 0x0001, length 0, magic cookie, transaction id.
        let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        assert_eq!(tcp_frame(&stun).as_deref(), Some(&stun[..]));
        // ChannelData on channel 0x4000 with 5 bytes of data → 12 bytes on TCP.
        let cd = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5];
        let framed = tcp_frame(&cd).expect("channel data");
        assert_eq!(framed.len(), 12);
        assert_eq!(&framed[..9], &cd);
        assert_eq!(frame_lengths(&framed[..4]), Some((9, 12)));
        // Garbage and truncated datagrams are refused.
        assert_eq!(tcp_frame(&[0xFF, 0, 0, 0]), None);
        assert_eq!(tcp_frame(&[0x40, 0x00, 0x00, 0x09, 1]), None);
    }

    #[tokio::test]
    async fn datagrams_cross_a_tcp_connection_and_come_back_split() {
        // A fake TURN server over TCP that echoes every frame it reads.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        let bridge = TurnTcpBridge::start("127.0.0.1".parse().expect("ip"), server, None)
            .await
            .expect("bridge");
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
        let mut stun = vec![0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[9; 12]);
        stun.extend_from_slice(&[1, 2, 3, 4]);
        let cd = vec![0x40, 0x01, 0x00, 0x03, 7, 8, 9];
        for datagram in [&stun, &cd, &stun] {
            client
                .send_to(datagram, bridge.local_addr())
                .await
                .expect("send");
        }
        let mut buf = [0u8; 256];
        for expected in [&stun, &cd, &stun] {
            let (n, _) = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                client.recv_from(&mut buf),
            )
            .await
            .expect("reply in time")
            .expect("recv");
            assert_eq!(&buf[..n], &expected[..]);
        }
    }
}
