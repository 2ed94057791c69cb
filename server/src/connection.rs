//! One client connection: bytes in, requests executed in batches, replies out in one write.
//!
//! Each read appends to the connection's buffer; every complete request in it is decoded into
//! a batch (see `protocol::request`), executed in order, and its reply encoded into one
//! output buffer, which is written once per batch (or whenever it passes 64 KiB, so a deep
//! pipeline never holds unbounded output). A protocol error is answered after the requests
//! before it and then closes the connection, as in Redis; so do `QUIT`, `CLIENT KILL`,
//! shutdown, the idle `timeout`, and a query buffer past `client-query-buffer-limit`.
//!
//! A request forwarded to another node (see `forward`) does not stop the batch: its reply is
//! queued as pending, the requests after it run, and their replies queue behind it; the
//! queue is drained in order before the batch's output is written, so replies always leave
//! in request order. Forwarded blocking commands and transactions wait on the spot, like
//! local blocking commands.

use crate::blocking::Waiter;
use crate::client::{BlockRequest, Client, ClientInfo, ReplyMode};
use crate::node::Node;
use crate::peer::stream::Mark;
use crate::peer::{self, Issued, Pending};
use crate::protocol::{Batch, Reply, RequestParser};
use crate::pubsub::ClientClass;
use crate::request::{self, After, Outcome};
use bytes::{Buf, Bytes, BytesMut};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Initial size of a connection's read buffer.
pub const READ_BUFFER_SIZE: usize = 16 * 1024;
/// Output written before a batch is over once it grows past this.
const FLUSH_THRESHOLD: usize = 64 * 1024;
/// Commands of one batch that share a clock reading.
const CLOCK_REFRESH: usize = 16;
/// Output buffers larger than this are released after a flush instead of kept for reuse.
const KEEP_OUTPUT_CAPACITY: usize = 1024 * 1024;
/// Replies queued behind forwarded ones before the batch waits for them.
const MAX_QUEUED: usize = 4096;
/// Argument bytes a connection executes before it lets other connections of its worker run
/// (as Redis reads 16 KiB per client per turn).
const YIELD_EVERY_BYTES: usize = 16 * 1024;
/// A read buffer larger than this is released once empty.
const KEEP_READ_CAPACITY: usize = 256 * 1024;

/// Serves one client until it leaves, then unregisters it.
pub async fn serve(node: Arc<Node>, stream: TcpStream, info: Arc<ClientInfo>) {
    let id = info.id;
    let mut connection = Connection {
        parser: RequestParser::new(node.limits.proto_max_bulk_len()),
        client: Client::new(info),
        read_buf: BytesMut::with_capacity(READ_BUFFER_SIZE),
        out: Vec::with_capacity(READ_BUFFER_SIZE),
        batch: Batch::default(),
        monitoring: false,
        monitor_feed: None,
        stream,
        node,
    };
    if let Err(error) = connection.run().await {
        tracing::debug!(client = id, %error, "connection ended with an error");
    }
    crate::command::pubsub::unsubscribe_all(&connection.node, &mut connection.client);
    connection
        .node
        .tracking
        .disable(&connection.node, &connection.client.info);
    connection.node.monitors.remove(id);
    connection.node.clients.unregister(id);
}

/// Whether the connection goes on after a batch.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

struct Connection {
    node: Arc<Node>,
    stream: TcpStream,
    client: Client,
    read_buf: BytesMut,
    out: Vec<u8>,
    parser: RequestParser,
    batch: Batch,
    /// In MONITOR mode (entered by `MONITOR`, left by `RESET`): the client only listens.
    monitoring: bool,
    /// MONITOR lines to pass on, while the client is in MONITOR mode.
    monitor_feed: Option<mpsc::UnboundedReceiver<Bytes>>,
}

impl Connection {
    async fn run(&mut self) -> io::Result<()> {
        // Resolves when the client is killed (`CLIENT KILL`, or shutdown, which kills every
        // client): made once, so waiting for it costs nothing per read.
        let info = self.client.info.clone();
        let stopped = info.killed();
        tokio::pin!(stopped);
        loop {
            if !self.read_more(stopped.as_mut()).await? {
                return Ok(());
            }
            self.parser
                .set_max_bulk_len(self.node.limits.proto_max_bulk_len());
            let parsed = self.parser.parse(&self.read_buf, &mut self.batch);
            // Messages published before this batch arrived come before its replies, as in
            // Redis (where a message is in the client's buffer as soon as it is published).
            self.take_messages();
            let mut flow = self.execute_batch(stopped.as_mut()).await?;
            self.batch.clear();
            // Messages published during the batch follow its replies.
            self.take_messages();
            match parsed {
                Ok(consumed) => {
                    self.read_buf.advance(consumed);
                    self.parser.consumed(consumed);
                }
                Err(error) => {
                    // Redis answers `-ERR Protocol error: ...`, unless replies are off.
                    if flow == Flow::Continue && self.client.reply_mode != ReplyMode::Off {
                        Reply::Error(format!("ERR {}", error.0).into())
                            .encode(self.client.protocol, &mut self.out);
                    }
                    if flow == Flow::Continue {
                        self.node.count_error(&format!("ERR {}", error.0));
                    }
                    tracing::debug!(client = self.client.id, %error, "protocol error");
                    flow = Flow::Close;
                }
            }
            self.flush().await?;
            self.client
                .info
                .query_buffer
                .store(self.read_buf.len(), Ordering::Relaxed);
            if flow == Flow::Close {
                return Ok(());
            }
            self.update_monitoring();
            if self.read_buf.len() > self.node.limits.query_buffer_limit() {
                self.node.stats.query_buffer_limit_disconnections.add(1);
                tracing::warn!(
                    client = self.client.id,
                    bytes = self.read_buf.len(),
                    "closing client that reached max query buffer length"
                );
                return Ok(());
            }
        }
    }

    /// Reads more bytes. False when the connection should end: the peer closed, the client
    /// was killed (or the node is shutting down: `stopped` resolved) or the idle timeout
    /// passed.
    async fn read_more(
        &mut self,
        mut stopped: Pin<&mut impl Future<Output = ()>>,
    ) -> io::Result<bool> {
        // A buffer that grew for a big request is given back once it is consumed, so an idle
        // client holds no more than the default (as Redis shrinks idle query buffers).
        if self.read_buf.is_empty() && self.read_buf.capacity() > KEEP_READ_CAPACITY {
            self.read_buf = BytesMut::with_capacity(READ_BUFFER_SIZE);
        }
        // Grow towards what the pending bulk needs, but never more than doubling what has
        // actually arrived: a client announcing a huge bulk gets no memory for free.
        let needed = self
            .parser
            .bytes_needed()
            .saturating_sub(self.read_buf.len());
        let grow = needed.clamp(4096, self.read_buf.len().max(64 * 1024));
        self.read_buf.reserve(grow);
        let timeout = self.node.limits.timeout_secs();
        let n = loop {
            let feed = next_line(&mut self.monitor_feed);
            let info = self.client.info.clone();
            let subscribed = self.client.subscriptions.any();
            // A RESP3 client hears pushes (invalidations) without subscribing.
            let listening = subscribed || self.client.protocol == crate::protocol::Protocol::Resp3;
            let messages = async {
                if listening {
                    info.inbox.ready().await
                } else {
                    std::future::pending().await
                }
            };
            let read = self.stream.read_buf(&mut self.read_buf);
            let idle = async {
                match timeout {
                    // A subscriber waits for messages, not commands: never idle (as Redis).
                    0 => std::future::pending().await,
                    _ if subscribed => std::future::pending().await,
                    secs => tokio::time::sleep(Duration::from_secs(secs)).await,
                }
            };
            let line = tokio::select! {
                biased;
                _ = stopped.as_mut() => return Ok(false),
                _ = idle => return Ok(false),
                line = feed => line,
                () = messages => {
                    // Listening: pass messages on, then keep waiting for input.
                    self.take_messages();
                    self.flush().await?;
                    continue;
                }
                n = read => break n?,
            };
            // MONITOR mode: pass the command line on, then keep waiting for input.
            self.stream.write_all(&line).await?;
            self.node.stats.net_output_bytes.add(line.len() as u64);
        };
        self.node.stats.reads_processed.add(1);
        self.node.stats.net_input_bytes.add(n as u64);
        Ok(n > 0)
    }

    /// Executes every request of the batch in order, encoding replies into `out`. A command
    /// that blocks (BLPOP…) is waited for right there, as Redis holds a blocked client's
    /// later commands until it is answered.
    async fn execute_batch(
        &mut self,
        mut stopped: Pin<&mut impl Future<Output = ()>>,
    ) -> io::Result<Flow> {
        let Connection {
            node,
            stream,
            client,
            read_buf,
            out,
            batch,
            monitoring,
            ..
        } = self;
        let mut now = crate::clock::now_ms();
        client
            .info
            .last_interaction_ms
            .store(now, Ordering::Relaxed);
        let mut flow = Flow::Continue;
        // Replies that must wait for a forwarded one before them, in request order.
        let mut queue: VecDeque<Queued> = VecDeque::new();
        let mut since_yield = 0usize;
        for i in 0..batch.len() {
            // Commands run at the clock read for their batch, refreshed every few commands so
            // that a deep pipeline never runs on a stale time for long.
            if i > 0 && i % CLOCK_REFRESH == 0 {
                now = crate::clock::now_ms();
            }
            let args: SmallVec<[&[u8]; 16]> = batch.args(read_buf, i).collect();
            // A client in MONITOR mode only listens: QUIT and RESET are all it can still do.
            if *monitoring
                && !args[0].eq_ignore_ascii_case(b"quit")
                && !args[0].eq_ignore_ascii_case(b"reset")
            {
                continue;
            }
            // `CLIENT REPLY SKIP` silences the command after it.
            if client.reply_mode == ReplyMode::SkipNext {
                client.reply_mode = ReplyMode::Skipping;
            }
            since_yield += args.iter().map(|a| a.len()).sum::<usize>();
            let mut after = None;
            let reply = match request::execute(node, client, &args, now) {
                Outcome::Silent => continue,
                Outcome::Reply(reply) => reply,
                Outcome::AwaitReplicas(waiting) => {
                    let (reply, marks, timeout) = *waiting;
                    // Its reply waits for the replicas in its turn; later replies queue
                    // behind it.
                    if audible(client) {
                        let mut bytes = Vec::new();
                        emit(client, &mut bytes, &reply);
                        let deadline = std::time::Instant::now() + timeout;
                        queue.push_back(Queued::Replicated(bytes, marks, deadline));
                    }
                    if queue.len() >= MAX_QUEUED {
                        drain(node, &mut queue, out).await;
                    }
                    continue;
                }
                Outcome::WaitReplicas { wanted, timeout } => {
                    // Every earlier write (local or forwarded) has run before the wait.
                    drop(args);
                    drain(node, &mut queue, out).await;
                    write_out(node, &client.info, stream, out).await?;
                    let waited = wait_replicas(
                        node,
                        stream,
                        client,
                        read_buf,
                        stopped.as_mut(),
                        wanted,
                        timeout,
                    )
                    .await?;
                    now = crate::clock::now_ms();
                    match waited {
                        Some(reached) => Reply::Int(reached as i64),
                        None => {
                            flow = Flow::Close;
                            break;
                        }
                    }
                }
                Outcome::ReplyThen(reply, then) => {
                    after = Some(then);
                    reply
                }
                Outcome::Forward(plan) => match peer::issue(node, client, *plan, now) {
                    Issued::Waiting(pending) => {
                        // Its reply goes out in its turn; later local replies queue behind it.
                        if audible(client) {
                            queue.push_back(Queued::Remote(pending));
                        }
                        if queue.len() >= MAX_QUEUED {
                            drain(node, &mut queue, out).await;
                        }
                        if out.len() >= FLUSH_THRESHOLD {
                            write_out(node, &client.info, stream, out).await?;
                        }
                        continue;
                    }
                    Issued::Session(job) => {
                        // The wait may read more input into the buffer the arguments point
                        // into; everything before it is answered first.
                        drop(args);
                        drain(node, &mut queue, out).await;
                        write_out(node, &client.info, stream, out).await?;
                        let waited =
                            wait_session(node, stream, client, read_buf, stopped.as_mut(), job)
                                .await?;
                        let Some(answer) = waited else {
                            flow = Flow::Close;
                            break;
                        };
                        if audible(client) {
                            count_forwarded_error(node, &answer);
                            out.extend_from_slice(&answer);
                        }
                        now = crate::clock::now_ms();
                        continue;
                    }
                },
                Outcome::Block(request) => {
                    let retry_args = request
                        .args
                        .clone()
                        .unwrap_or_else(|| args.iter().map(|a| a.to_vec()).collect());
                    // The wait may read more input into the buffer the arguments point into.
                    drop(args);
                    drain(node, &mut queue, out).await;
                    write_out(node, &client.info, stream, out).await?;
                    let waited = wait_blocked(
                        node,
                        stream,
                        client,
                        read_buf,
                        stopped.as_mut(),
                        *request,
                        retry_args,
                    )
                    .await?;
                    now = crate::clock::now_ms();
                    match waited {
                        Some(answer) => answer,
                        None => {
                            flow = Flow::Close;
                            break;
                        }
                    }
                }
            };
            if let Reply::Error(text) = &reply {
                node.count_error(text);
            }
            match queue.back_mut() {
                None => {
                    emit(client, out, &reply);
                    let class = if client.subscriptions.any() {
                        ClientClass::PubSub
                    } else {
                        ClientClass::Normal
                    };
                    if node.pubsub.check_output(&client.info, class, out.len()) {
                        flow = Flow::Close;
                        break;
                    }
                }
                Some(Queued::Encoded(bytes)) => emit(client, bytes, &reply),
                Some(Queued::Remote(_) | Queued::Replicated(..)) => {
                    let mut bytes = Vec::new();
                    emit(client, &mut bytes, &reply);
                    queue.push_back(Queued::Encoded(bytes));
                }
            }
            match after {
                None => {}
                Some(After::Close) => {
                    flow = Flow::Close;
                    break;
                }
                Some(After::Sleep(pause)) => {
                    drain(node, &mut queue, out).await;
                    write_out(node, &client.info, stream, out).await?;
                    tokio::time::sleep(pause).await;
                    now = crate::clock::now_ms();
                }
                Some(After::Monitor) => *monitoring = true,
                Some(After::Reset) => *monitoring = false,
                Some(After::WaitReplicas { .. }) => {}
            }
            if out.len() >= FLUSH_THRESHOLD {
                write_out(node, &client.info, stream, out).await?;
            }
            // A pipeline of big writes lets the worker's other clients in every so often, as
            // Redis serves each client a 16 KiB read at a time: a GET never waits for a whole
            // megabyte of SETs from someone else.
            if since_yield >= YIELD_EVERY_BYTES {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
        }
        drain(node, &mut queue, out).await;
        // A peer's replication stream: acknowledge what this batch applied.
        if client.peer.ack_due {
            client.peer.ack_due = false;
            if let Some(incoming) = &client.peer.stream {
                crate::replication::ack(node, incoming);
            }
        }
        Ok(flow)
    }

    /// Starts or stops receiving MONITOR lines as the client enters or leaves MONITOR mode.
    fn update_monitoring(&mut self) {
        match (self.monitoring, self.monitor_feed.is_some()) {
            (true, false) => {
                self.monitor_feed = Some(self.node.monitors.add(self.client.id));
                self.client.info.monitor.store(true, Ordering::Relaxed);
            }
            (false, true) => {
                self.node.monitors.remove(self.client.id);
                self.monitor_feed = None;
                self.client.info.monitor.store(false, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Appends the Pub/Sub messages waiting for this client to its output. (`CLIENT REPLY
    /// OFF` does not silence them: Redis 7 delivers pushed messages regardless.)
    fn take_messages(&mut self) {
        let inbox = &self.client.info.inbox;
        if inbox.bytes() > 0 {
            inbox.drain_into(&mut self.out);
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        write_out(
            &self.node,
            &self.client.info,
            &mut self.stream,
            &mut self.out,
        )
        .await
    }
}

/// Encodes `reply` into `out` unless the client's reply mode silences it. Whether it goes out
/// depends on the mode the command leaves behind, as in Redis: `CLIENT REPLY ON` is answered
/// even when it was the skipped command, `CLIENT REPLY OFF` and `SKIP` are never answered.
fn emit(client: &mut Client, out: &mut Vec<u8>, reply: &Reply) {
    match client.reply_mode {
        ReplyMode::On => reply.encode(client.protocol, out),
        ReplyMode::Skipping => client.reply_mode = ReplyMode::On,
        ReplyMode::Off | ReplyMode::SkipNext => {}
    }
}

/// A reply that is not in `out` yet because a forwarded reply comes before it.
enum Queued {
    /// Local replies, encoded.
    Encoded(Vec<u8>),
    /// A forwarded request's reply, on its way.
    Remote(Pending),
    /// A write's reply (encoded), sent once its replicas acknowledge these positions by the
    /// deadline, else `-NOREPLICAS` (`cluster-write-concern all`).
    Replicated(Vec<u8>, Vec<Mark>, std::time::Instant),
}

/// Whether the current command's reply is sent, by the same rules as [`emit`].
fn audible(client: &mut Client) -> bool {
    match client.reply_mode {
        ReplyMode::On => true,
        ReplyMode::Skipping => {
            client.reply_mode = ReplyMode::On;
            false
        }
        ReplyMode::Off | ReplyMode::SkipNext => false,
    }
}

/// Waits for every queued reply in order and appends them to `out`.
async fn drain(node: &Node, queue: &mut VecDeque<Queued>, out: &mut Vec<u8>) {
    while let Some(next) = queue.pop_front() {
        match next {
            Queued::Encoded(bytes) => out.extend_from_slice(&bytes),
            Queued::Replicated(bytes, marks, deadline) => {
                if crate::replication::wait_acked(node, &marks, deadline).await {
                    out.extend_from_slice(&bytes);
                } else {
                    node.replication
                        .stats
                        .write_concern_failures
                        .fetch_add(1, Ordering::Relaxed);
                    let text = NOREPLICAS.trim_start_matches('-').trim_end();
                    node.count_error(text);
                    out.extend_from_slice(NOREPLICAS.as_bytes());
                }
            }
            Queued::Remote(pending) => {
                let reply = pending.resolve().await;
                count_forwarded_error(node, &reply);
                out.extend_from_slice(&reply);
            }
        }
    }
}

/// The reply to a write whose replicas did not acknowledge it in time.
const NOREPLICAS: &str = "-NOREPLICAS Not enough good replicas to write.\r\n";

/// `WAIT`: waits for replicas while still reading the socket (as for a blocked command), so
/// a client that leaves ends the wait. `None`: the connection must close.
async fn wait_replicas(
    node: &Node,
    stream: &mut TcpStream,
    client: &mut Client,
    read_buf: &mut BytesMut,
    mut stopped: Pin<&mut impl Future<Output = ()>>,
    wanted: usize,
    timeout: Option<std::time::Duration>,
) -> io::Result<Option<usize>> {
    client.info.blocked.store(true, Ordering::Relaxed);
    let outcome = {
        let wait = crate::replication::wait(node, client, wanted, timeout);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                biased;
                reached = &mut wait => break Some(reached),
                _ = stopped.as_mut() => break None,
                readable = stream.readable() => {
                    readable?;
                    read_buf.reserve(4096);
                    match stream.try_read_buf(read_buf) {
                        Ok(0) => break None,
                        Ok(n) => {
                            node.stats.reads_processed.add(1);
                            node.stats.net_input_bytes.add(n as u64);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    };
    client.info.blocked.store(false, Ordering::Relaxed);
    Ok(outcome)
}

/// Counts a forwarded error reply like a local one (INFO errorstats).
fn count_forwarded_error(node: &Node, reply: &[u8]) {
    if peer::frame::is_error(reply) {
        let end = reply.len().saturating_sub(2);
        node.count_error(&String::from_utf8_lossy(&reply[1..end.max(1)]));
    }
}

/// Runs a forwarded blocking command or transaction on the client's session. Meanwhile the
/// socket is still read, as for a local blocking command, so a client that leaves stops the
/// wait at once (closing the session makes the peer drop its blocked command). `None`: the
/// connection must close.
async fn wait_session(
    node: &Node,
    stream: &mut TcpStream,
    client: &mut Client,
    read_buf: &mut BytesMut,
    mut stopped: Pin<&mut impl Future<Output = ()>>,
    job: peer::SessionJob,
) -> io::Result<Option<Bytes>> {
    let secret = node.forward.secret.clone();
    let stats = node.forward.stats.peer(job.peer.addr);
    stats
        .forwarded
        .fetch_add(job.replies as u64, Ordering::Relaxed);
    client.info.blocked.store(true, Ordering::Relaxed);
    let outcome = {
        let topology = node.cluster.get().map(|c| c.topology.clone());
        let call = peer::run_session(&mut client.session, secret.as_deref(), topology, job);
        tokio::pin!(call);
        loop {
            tokio::select! {
                biased;
                reply = &mut call => break Some(reply),
                _ = stopped.as_mut() => break None,
                readable = stream.readable() => {
                    readable?;
                    read_buf.reserve(4096);
                    match stream.try_read_buf(read_buf) {
                        Ok(0) => break None,
                        Ok(n) => {
                            node.stats.reads_processed.add(1);
                            node.stats.net_input_bytes.add(n as u64);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    };
    client.info.blocked.store(false, Ordering::Relaxed);
    if outcome.is_none() {
        client.session = None;
    }
    Ok(outcome)
}

/// Waits for a blocked command's answer: a serve after one of its keys became ready, or its
/// timeout. Meanwhile the socket is still read (whatever the client pipelines after the
/// blocking command waits in the buffer), so that a client that disconnects stops waiting at
/// once and can never be handed an element it would not receive. `None`: the connection must
/// close (it was killed or the peer left).
async fn wait_blocked(
    node: &Node,
    stream: &mut TcpStream,
    client: &mut Client,
    read_buf: &mut BytesMut,
    mut stopped: Pin<&mut impl Future<Output = ()>>,
    request: BlockRequest,
    args: Vec<Vec<u8>>,
) -> io::Result<Option<Reply>> {
    let (waiter, mut answer) = Waiter::new(
        request.db,
        request.keys.clone(),
        args,
        client.protocol,
        client.info.clone(),
    );
    node.blocked.add(node, &waiter);
    client.info.blocked.store(true, Ordering::Relaxed);
    // A push may have landed between the command's attempt and this registration.
    let keys = request
        .keys
        .iter()
        .map(|k| (request.db, k.clone()))
        .collect();
    node.blocked.serve(node, keys);
    let outcome = loop {
        let deadline = async {
            match request.deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            served = &mut answer => break served.ok(),
            _ = deadline => {
                if waiter.give_up() {
                    break Some(request.timeout_reply.clone());
                }
                // Answered at the same moment: the reply is on its way.
                break (&mut answer).await.ok();
            }
            _ = stopped.as_mut() => {
                if !waiter.give_up() {
                    let _ = (&mut answer).await;
                }
                break None;
            }
            readable = stream.readable() => {
                readable?;
                read_buf.reserve(4096);
                match stream.try_read_buf(read_buf) {
                    Ok(0) => {
                        if !waiter.give_up() {
                            let _ = (&mut answer).await;
                        }
                        break None;
                    }
                    Ok(n) => {
                        node.stats.reads_processed.add(1);
                        node.stats.net_input_bytes.add(n as u64);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        waiter.give_up();
                        node.blocked.remove(node, &waiter);
                        return Err(e);
                    }
                }
            }
        }
    };
    node.blocked.remove(node, &waiter);
    client.info.blocked.store(false, Ordering::Relaxed);
    Ok(outcome)
}

/// The next MONITOR line, or never when the client is not monitoring.
async fn next_line(feed: &mut Option<mpsc::UnboundedReceiver<Bytes>>) -> Bytes {
    match feed {
        Some(feed) => match feed.recv().await {
            Some(line) => line,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Writes and empties `out`. While the bytes wait for the socket they count as the client's
/// pending output (`client-output-buffer-limit`); a client killed meanwhile (by that limit,
/// `CLIENT KILL` or shutdown) stops the write at once.
async fn write_out(
    node: &Node,
    info: &ClientInfo,
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    info.output_buffer.store(out.len(), Ordering::Relaxed);
    // The write goes first: a killed client still gets what its socket can take at once
    // (the last batch's replies at shutdown); only a write that blocks is abandoned.
    let written = tokio::select! {
        biased;
        written = stream.write_all(out) => written,
        () = info.killed() => Err(io::ErrorKind::ConnectionAborted.into()),
    };
    info.output_buffer.store(0, Ordering::Relaxed);
    written?;
    node.stats.writes_processed.add(1);
    node.stats.net_output_bytes.add(out.len() as u64);
    out.clear();
    if out.capacity() > KEEP_OUTPUT_CAPACITY {
        *out = Vec::with_capacity(READ_BUFFER_SIZE);
    }
    Ok(())
}
