//! A client's own link to one peer, for what cannot share a pipelined link: blocking commands
//! (a BLPOP would hold up every request behind it) and transactions (WATCH state and
//! MULTI…EXEC live in the peer's connection state).
//!
//! A session is opened on first need, authenticated like a shared link, used for one request
//! (or one MULTI…EXEC block) at a time and kept for the client's next ones; the client's
//! connection owns it, so it closes with the client, and closing it makes the peer drop the
//! client's WATCHes and stop a blocked command (it sees its client leave).

use super::link;
use bytes::{Bytes, BytesMut};
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long opening a session may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A dedicated, authenticated connection to one peer.
pub struct Session {
    pub peer: super::Peer,
    stream: TcpStream,
    buf: BytesMut,
}

impl Session {
    /// Connects to `peer` and authenticates.
    pub async fn open(peer: super::Peer, secret: Option<&str>) -> io::Result<Session> {
        let connect = link::connect(peer.addr, secret);
        let (stream, buf) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        Ok(Session { peer, stream, buf })
    }

    /// Sends `requests` (encoded, pipelined) and reads `replies` replies.
    pub async fn call(&mut self, requests: &[u8], replies: usize) -> io::Result<Vec<Bytes>> {
        self.stream.write_all(requests).await?;
        let mut out = Vec::with_capacity(replies);
        for _ in 0..replies {
            out.push(link::read_reply(&mut self.stream, &mut self.buf).await?);
        }
        Ok(out)
    }
}
