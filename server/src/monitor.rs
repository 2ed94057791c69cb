//! `MONITOR`: every command the node runs, streamed to the clients that asked, in Redis's
//! format: `+<unix secs>.<µs> [<db> <ip:port>] "cmd" "arg" ...`.
//!
//! While nobody monitors, the request path pays one atomic load. Each monitoring client has
//! an unbounded channel its connection drains; a client gone is dropped on the next send.

use bytes::Bytes;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// The clients in MONITOR mode.
#[derive(Default)]
pub struct Monitors {
    count: AtomicUsize,
    feeds: Mutex<Vec<(u64, mpsc::UnboundedSender<Bytes>)>>,
}

impl Monitors {
    /// Starts feeding client `id`; its connection reads the returned receiver.
    pub fn add(&self, id: u64) -> mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut feeds = self.feeds.lock();
        feeds.push((id, tx));
        self.count.store(feeds.len(), Ordering::Relaxed);
        rx
    }

    /// Stops feeding client `id`.
    pub fn remove(&self, id: u64) {
        let mut feeds = self.feeds.lock();
        feeds.retain(|(client, _)| *client != id);
        self.count.store(feeds.len(), Ordering::Relaxed);
    }

    /// Whether anyone monitors.
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Sends a command's line to every monitor (not to the client that ran it).
    pub fn feed(&self, from_client: u64, db: usize, addr: SocketAddr, args: &[&[u8]]) {
        if !self.active() {
            return;
        }
        let line = Bytes::from(format_line(crate::clock::now_us(), db, addr, args));
        let mut feeds = self.feeds.lock();
        feeds.retain(|(client, tx)| *client == from_client || tx.send(line.clone()).is_ok());
        self.count.store(feeds.len(), Ordering::Relaxed);
    }
}

/// One MONITOR line.
pub fn format_line(now_us: u64, db: usize, addr: SocketAddr, args: &[&[u8]]) -> Vec<u8> {
    let mut line = format!(
        "+{}.{:06} [{db} {addr}]",
        now_us / 1_000_000,
        now_us % 1_000_000
    )
    .into_bytes();
    for arg in args {
        line.push(b' ');
        quote(arg, &mut line);
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// Quotes bytes as Redis's `sdscatrepr`: printable ASCII as is, `\\` and `"` escaped, the
/// usual control escapes, anything else as `\xhh`.
pub fn quote(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b' '..=b'~' => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_redis_monitor_output() {
        let addr: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let line = format_line(
            1_339_518_083_107_412,
            0,
            addr,
            &[b"set", b"k\"ey", b"a\r\n\x01 b"],
        );
        assert_eq!(
            String::from_utf8_lossy(&line),
            "+1339518083.107412 [0 127.0.0.1:50000] \"set\" \"k\\\"ey\" \"a\\r\\n\\x01 b\"\r\n"
        );
    }
}
