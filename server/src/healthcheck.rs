//! `shoal --healthcheck [--ready]`: a node's own probe, for images that carry no `redis-cli`
//! (part of the `shoal` binary, not of the library).
//!
//! It reads the configuration as a node would (flags, `SHOAL_*` environment variables, the
//! config file of `--config` or `SHOAL_CONFIG`), so inside a container it finds the node's
//! port by itself; then connects to the node's first bind address (loopback when that is a
//! wildcard), sends `PING` and expects `+PONG`. With `--ready` it also asks `CLUSTER INFO`
//! and expects `cluster_state:ok` and `shoal_phase:serving`: the node has joined its cluster,
//! holds the data of the slots it owns (its hand-off is over) and its keys are not fenced.
//! Exit status 0 when healthy (or ready), 1 otherwise, with the reason on stderr. Every
//! network step has a short timeout, so a stopped or wedged node fails the probe instead of
//! hanging it.

use shoal_server::config::{Config, shoal_environment};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long each connect, write and read may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest reply line read (a status or a bulk header).
const MAX_LINE: usize = 64 * 1024;
/// The longest `CLUSTER INFO` reply read.
const MAX_BULK: usize = 1024 * 1024;

/// Runs the probe with the command line `args` (the program name left out); returns the
/// process's exit status.
pub(crate) fn run(args: &[String]) -> i32 {
    let ready = args.iter().any(|a| a == "--ready");
    let rest: Vec<String> = args
        .iter()
        .filter(|a| *a != "--healthcheck" && *a != "--ready")
        .cloned()
        .collect();
    match probe(&rest, ready) {
        Ok(what) => {
            let _ = writeln!(std::io::stdout().lock(), "{what}");
            0
        }
        Err(why) => {
            let _ = writeln!(std::io::stderr().lock(), "shoal healthcheck: {why}");
            1
        }
    }
}

/// The address the probe connects to: the first bind address on `port`, loopback for a
/// wildcard (`0.0.0.0`, `::`, `*`) or a name.
fn target(config: &Config) -> Result<SocketAddr, String> {
    if config.port == 0 {
        return Err("port 0 (a port picked at startup) cannot be probed: give --port".into());
    }
    let first = config
        .bind
        .first()
        .map_or("127.0.0.1", |b| b.trim_start_matches('-'));
    let ip = match first.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Ok(SocketAddr::new(ip, config.port))
}

fn probe(args: &[String], ready: bool) -> Result<String, String> {
    let env = shoal_environment().map_err(|e| e.to_string())?;
    let (config, _) = Config::from_args_and_env(args, &env).map_err(|e| e.to_string())?;
    let addr = target(&config)?;
    let addr = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or(addr);
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(b"*1\r\n$4\r\nPING\r\n")
        .map_err(|e| format!("{addr}: sending PING: {e}"))?;
    let pong = read_line(&mut reader).map_err(|e| format!("{addr}: PING: {e}"))?;
    if pong != "+PONG" {
        return Err(format!("{addr}: PING answered {pong:?}"));
    }
    if !ready {
        return Ok(format!("{addr}: PONG"));
    }
    if !config.cluster.enabled {
        return Ok(format!("{addr}: ready (standalone)"));
    }
    reader
        .get_mut()
        .write_all(b"*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n")
        .map_err(|e| format!("{addr}: sending CLUSTER INFO: {e}"))?;
    let info = read_bulk(&mut reader).map_err(|e| format!("{addr}: CLUSTER INFO: {e}"))?;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or("?")
            .to_string()
    };
    let (state, phase) = (field("cluster_state"), field("shoal_phase"));
    if state == "ok" && phase == "serving" {
        Ok(format!(
            "{addr}: ready (cluster_state:ok, shoal_phase:serving)"
        ))
    } else {
        Err(format!(
            "{addr}: not ready: cluster_state:{state}, shoal_phase:{phase}"
        ))
    }
}

/// One reply line without its CRLF, at most [`MAX_LINE`] bytes.
fn read_line(reader: &mut impl BufRead) -> Result<String, String> {
    let mut line = Vec::new();
    let read = reader
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    if read == 0 {
        return Err("connection closed".into());
    }
    if !line.ends_with(b"\r\n") {
        return Err("reply line too long or cut short".into());
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// A bulk string reply (`$len`, the bytes, CRLF) as text; an error reply as `Err`.
fn read_bulk(reader: &mut impl BufRead) -> Result<String, String> {
    let header = read_line(reader)?;
    if let Some(error) = header.strip_prefix('-') {
        return Err(error.to_string());
    }
    let len: usize = header
        .strip_prefix('$')
        .or_else(|| header.strip_prefix('='))
        .and_then(|n| n.parse().ok())
        .filter(|&n| n <= MAX_BULK)
        .ok_or_else(|| format!("unexpected reply {header:?}"))?;
    let mut body = vec![0; len + 2];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    body.truncate(len);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &str) -> Config {
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        Config::from_args(&args).expect("valid")
    }

    #[test]
    fn probes_loopback_for_wildcards() {
        assert_eq!(
            target(&config("--bind 0.0.0.0 --port 7000")),
            Ok("127.0.0.1:7000".parse().expect("addr"))
        );
        assert_eq!(
            target(&config("--bind :: --port 7000")),
            Ok("[::1]:7000".parse().expect("addr"))
        );
        assert_eq!(
            target(&config("--bind -10.1.2.3 127.0.0.1")),
            Ok("10.1.2.3:6379".parse().expect("addr"))
        );
        assert!(target(&config("--port 0")).is_err());
    }

    #[test]
    fn reads_bounded_replies() {
        let mut ok = &b"$5\r\nhello\r\n"[..];
        assert_eq!(read_bulk(&mut ok), Ok("hello".to_string()));
        let mut error = &b"-ERR nope\r\n"[..];
        assert_eq!(read_bulk(&mut error), Err("ERR nope".to_string()));
        let mut huge = &b"$999999999999\r\n"[..];
        assert!(read_bulk(&mut huge).is_err());
        let mut cut = &b"$10\r\nabc"[..];
        assert!(read_bulk(&mut cut).is_err());
        let mut no_crlf = &b"+PONG"[..];
        assert!(read_line(&mut no_crlf).is_err());
    }
}
