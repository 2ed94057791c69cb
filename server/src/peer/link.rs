//! One pipelined TCP link to a peer, shared by many clients.
//!
//! A link is two tasks over one socket. The writer takes requests from a channel, queues each
//! one's reply sender, and writes whatever is waiting in one `write_all`; the reader cuts the
//! reply stream into replies (`frame::reply_len`) and hands each to the oldest waiting sender,
//! since the peer answers a connection's requests in order. Reading and writing in separate
//! tasks means a link never stops reading because it is blocked writing (both sides filling
//! their buffers could otherwise wait on each other forever).
//!
//! When the socket fails or closes, the queue of waiting senders is closed and dropped at once:
//! every request in flight is answered with an error by its caller (see `pool`), nothing waits
//! for a peer that is gone. A request sent to a dead link fails the same way.
//!
//! Before any request, the link authenticates (`handshake`): `SHOAL.NONCE`, then
//! `SHOAL.AUTH <HMAC of the nonce under the cluster secret>`.

use super::frame;
use super::stats::{ForwardStats, PeerStats};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use shoal_cluster::TopologyHandle;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// How long connecting and authenticating to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes the writer gathers into one write.
const WRITE_BATCH: usize = 256 * 1024;

/// A request on its way to a peer: its encoded bytes and where its reply goes.
pub struct Outgoing {
    pub bytes: Vec<u8>,
    pub reply: oneshot::Sender<Bytes>,
}

/// A waiting reply: its sender and when the request was queued (for the latency histogram).
type Waiting = (oneshot::Sender<Bytes>, Instant);

/// The client side of one link.
pub struct Link {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Cleared once the link failed; a pool replaces it.
    alive: Arc<AtomicBool>,
    /// Set once connected and authenticated.
    up: Arc<AtomicBool>,
}

impl Link {
    /// Opens a link to `peer` (connecting in the background: requests sent meanwhile wait in
    /// the channel). Must run inside a tokio runtime; its tasks run on that runtime.
    pub fn open(
        peer: super::Peer,
        secret: Option<Arc<str>>,
        topology: Option<TopologyHandle>,
        peer_stats: Arc<PeerStats>,
        stats: Arc<ForwardStats>,
    ) -> Link {
        let (tx, rx) = mpsc::unbounded_channel();
        let alive = Arc::new(AtomicBool::new(true));
        let up = Arc::new(AtomicBool::new(false));
        let flags = (alive.clone(), up.clone());
        let target = Target {
            peer,
            secret,
            topology,
        };
        tokio::spawn(run(target, rx, flags, peer_stats, stats));
        Link { tx, alive, up }
    }

    /// Whether the link ever got connected and authenticated.
    pub fn was_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Whether the link is (or may still become) usable.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire) && !self.tx.is_closed()
    }

    /// Queues a request; its reply (or the sender dropped, when the link fails) arrives on the
    /// receiver. Err: the link is gone.
    pub fn send(&self, request: Outgoing) -> Result<(), Outgoing> {
        self.tx.send(request).map_err(|e| e.0)
    }
}

/// Whom a link connects to.
struct Target {
    peer: super::Peer,
    secret: Option<Arc<str>>,
    /// To close the link once the cluster declares the peer down.
    topology: Option<TopologyHandle>,
}

/// Connects, authenticates, then runs the reader and writer until the link fails or the
/// peer is declared down.
async fn run(
    Target {
        peer: super::Peer { id, addr: peer },
        secret,
        topology,
    }: Target,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    (alive, up): (Arc<AtomicBool>, Arc<AtomicBool>),
    peer_stats: Arc<PeerStats>,
    stats: Arc<ForwardStats>,
) {
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, connect(peer, secret.as_deref())).await;
    let (stream, leftover) = match connected {
        Ok(Ok(connected)) => connected,
        Ok(Err(error)) => {
            tracing::warn!(%peer, %error, "peer link failed to connect");
            peer_stats.connect_failures.fetch_add(1, Ordering::Relaxed);
            return fail(&alive, &mut rx, &peer_stats);
        }
        Err(_) => {
            tracing::warn!(%peer, "peer link timed out connecting");
            peer_stats.connect_failures.fetch_add(1, Ordering::Relaxed);
            return fail(&alive, &mut rx, &peer_stats);
        }
    };
    up.store(true, Ordering::Release);
    tracing::debug!(%peer, "peer link up");
    peer_stats.links_up.fetch_add(1, Ordering::Relaxed);
    let waiting: Arc<Mutex<Option<VecDeque<Waiting>>>> =
        Arc::new(Mutex::new(Some(VecDeque::new())));
    let (read_half, write_half) = stream.into_split();
    let reader = tokio::spawn(read_replies(
        read_half,
        leftover,
        waiting.clone(),
        alive.clone(),
        stats.clone(),
    ));
    let mut reader = reader;
    tokio::select! {
        _ = write_requests(write_half, &mut rx, &waiting) => {}
        _ = &mut reader => {}
        _ = super::peer_gone(topology, id) => {
            tracing::debug!(%peer, "peer declared down: its link closes");
        }
    }
    // The writer stops when the node drops the link or a write fails; the reader when the
    // socket closes. Either way every waiting request fails now.
    alive.store(false, Ordering::Release);
    reader.abort();
    let lost = waiting.lock().take().map_or(0, |w| w.len());
    peer_stats.failed.fetch_add(lost as u64, Ordering::Relaxed);
    peer_stats.links_up.fetch_sub(1, Ordering::Relaxed);
    fail(&alive, &mut rx, &peer_stats);
    tracing::debug!(%peer, "peer link down");
}

/// Marks the link dead and fails every request still in its channel.
fn fail(alive: &AtomicBool, rx: &mut mpsc::UnboundedReceiver<Outgoing>, stats: &PeerStats) {
    alive.store(false, Ordering::Release);
    rx.close();
    while let Ok(request) = rx.try_recv() {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        drop(request.reply);
    }
}

/// Writes requests as they come, several per write when they queue up.
async fn write_requests(
    mut socket: tokio::net::tcp::OwnedWriteHalf,
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
    waiting: &Mutex<Option<VecDeque<Waiting>>>,
) {
    let mut out = Vec::with_capacity(16 * 1024);
    let mut senders = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let now = Instant::now();
        while let Some(request) = next.take() {
            senders.push((request.reply, now));
            out.extend_from_slice(&request.bytes);
            if out.len() < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        // Queued before the bytes leave, so the reader always finds a reply's sender.
        match waiting.lock().as_mut() {
            Some(queue) => queue.extend(senders.drain(..)),
            // The reader closed the queue: the socket is gone.
            None => return,
        }
        if socket.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
        if out.capacity() > 4 * WRITE_BATCH {
            out = Vec::with_capacity(16 * 1024);
        }
    }
}

/// Reads replies and hands each to the oldest waiting request, until the socket closes.
async fn read_replies(
    mut socket: tokio::net::tcp::OwnedReadHalf,
    mut buf: BytesMut,
    waiting: Arc<Mutex<Option<VecDeque<Waiting>>>>,
    alive: Arc<AtomicBool>,
    stats: Arc<ForwardStats>,
) {
    read_until_closed(&mut socket, &mut buf, &waiting, &stats).await;
    // Fail what waits and make the pool replace the link before its next request.
    alive.store(false, Ordering::Release);
    waiting.lock().take();
}

async fn read_until_closed(
    socket: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut BytesMut,
    waiting: &Mutex<Option<VecDeque<Waiting>>>,
    stats: &ForwardStats,
) {
    loop {
        loop {
            let len = match frame::reply_len(buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(frame::Malformed) => {
                    tracing::warn!("peer sent a malformed reply; closing the link");
                    return;
                }
            };
            let reply = buf.split_to(len).freeze();
            let next = waiting.lock().as_mut().and_then(VecDeque::pop_front);
            let Some((sender, sent)) = next else {
                tracing::warn!("peer sent a reply nobody asked for; closing the link");
                return;
            };
            stats.record_latency(sent.elapsed());
            let _ = sender.send(reply);
        }
        buf.reserve(16 * 1024);
        match socket.read_buf(buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Connects to `peer` and authenticates; returns the socket and any bytes read past the
/// handshake's replies.
pub async fn connect(peer: SocketAddr, secret: Option<&str>) -> io::Result<(TcpStream, BytesMut)> {
    let mut stream = TcpStream::connect(peer).await?;
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    stream
        .write_all(&encode(&[b"SHOAL.NONCE".as_slice()]))
        .await?;
    let nonce = read_reply(&mut stream, &mut buf).await?;
    let nonce = frame::bulk(&nonce)
        .ok_or_else(|| refused("SHOAL.NONCE", &nonce))?
        .to_vec();
    let proof = shoal_cluster::peer_auth::proof(secret, &nonce);
    stream
        .write_all(&encode(&[b"SHOAL.AUTH".as_slice(), proof.as_bytes()]))
        .await?;
    let answer = read_reply(&mut stream, &mut buf).await?;
    if answer.as_ref() != b"+OK\r\n" {
        return Err(refused("SHOAL.AUTH", &answer));
    }
    Ok((stream, buf))
}

fn refused(what: &str, reply: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{what} refused: {}",
            String::from_utf8_lossy(reply).trim_end()
        ),
    )
}

/// Reads one complete reply from `stream`, buffering in `buf`.
pub async fn read_reply(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<Bytes> {
    loop {
        match frame::reply_len(buf) {
            Ok(Some(len)) => return Ok(buf.split_to(len).freeze()),
            Ok(None) => {}
            Err(frame::Malformed) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "malformed reply from peer",
                ));
            }
        }
        buf.reserve(16 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// A request as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    push_header(&mut out, b'*', args.len());
    for arg in args {
        push_bulk(&mut out, arg);
    }
    out
}

/// Appends `<kind><n>\r\n`.
pub fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one bulk string.
pub fn push_bulk(out: &mut Vec<u8>, arg: &[u8]) {
    push_header(out, b'$', arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}
