//! RESP for the tests and benchmarks: encoding commands, and a minimal blocking RESP2 client
//! (`PING`, `INFO`, prefilling with pipelined `SET`s, reading Pub/Sub messages).

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One reply from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+text`
    Simple(String),
    /// `-text`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` bulk string; `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `*n` array; `None` for the null array.
    Array(Option<Vec<Reply>>),
}

/// A connection to one server on 127.0.0.1.
pub struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to 127.0.0.1:`port` with a read timeout, so a silent server cannot hang us.
    pub fn connect(port: u16) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .context("setting the read timeout")?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        Ok(Connection {
            stream: BufReader::new(stream),
        })
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> anyhow::Result<Reply> {
        self.send(&encode_command(args))?;
        self.read_reply()
    }

    /// Sends a command and returns its bulk-string reply as text (for `INFO`).
    pub fn call_text(&mut self, args: &[&str]) -> anyhow::Result<String> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match self.call(&args)? {
            Reply::Bulk(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            other => bail!("expected a bulk string reply, got {other:?}"),
        }
    }

    /// Sends a command and returns its integer reply (for `DBSIZE`).
    pub fn call_int(&mut self, args: &[&str]) -> anyhow::Result<i64> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match self.call(&args)? {
            Reply::Int(n) => Ok(n),
            other => bail!("expected an integer reply, got {other:?}"),
        }
    }

    /// Writes raw bytes (one or many encoded commands).
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream
            .get_mut()
            .write_all(bytes)
            .context("writing to the server")
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> anyhow::Result<Reply> {
        let mut line = Vec::new();
        self.stream
            .read_until(b'\n', &mut line)
            .context("reading a reply")?;
        if line.is_empty() {
            bail!("the server closed the connection");
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let Some(kind) = text.chars().next() else {
            bail!("empty reply line");
        };
        let rest = &text[kind.len_utf8()..];
        match kind {
            '+' => Ok(Reply::Simple(rest.to_string())),
            '-' => Ok(Reply::Error(rest.to_string())),
            ':' => {
                let n = rest
                    .parse()
                    .with_context(|| format!("bad integer reply {text:?}"))?;
                Ok(Reply::Int(n))
            }
            '$' => {
                let n: i64 = rest
                    .parse()
                    .with_context(|| format!("bad bulk length {text:?}"))?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = usize::try_from(n).context("bulk length")?;
                let mut body = vec![0; len + 2];
                self.stream
                    .read_exact(&mut body)
                    .context("reading a bulk string")?;
                body.truncate(len);
                Ok(Reply::Bulk(Some(body)))
            }
            '*' => {
                let n: i64 = rest
                    .parse()
                    .with_context(|| format!("bad array length {text:?}"))?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let items = (0..n)
                    .map(|_| self.read_reply())
                    .collect::<anyhow::Result<Vec<Reply>>>()?;
                Ok(Reply::Array(Some(items)))
            }
            _ => bail!("unsupported reply {text:?}"),
        }
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The value of `field` in an `INFO` reply (`field:value` lines), if present.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then_some(value.trim())
    })
}
