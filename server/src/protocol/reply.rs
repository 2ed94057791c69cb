//! Replies: what a command answers, and its encoding as RESP2 or RESP3.
//!
//! Commands build a [`Reply`] in the richest form (maps, sets, doubles, booleans, nulls as
//! RESP3 has them); [`Reply::encode`] writes it for the connection's protocol, downgrading as
//! Redis does for RESP2 clients: maps become flat arrays, sets become arrays, doubles become
//! bulk strings, booleans become integers and nulls become `$-1` or `*-1`.

use bytes::Bytes;
use std::borrow::Cow;

/// The protocol a connection speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

impl Protocol {
    /// The protocol version number, as `HELLO` and `CLIENT LIST` report it.
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// A command's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string (`+PONG`).
    Status(Cow<'static, str>),
    /// An error, with its code as the first word (`ERR syntax error`, `WRONGTYPE ...`).
    Error(Cow<'static, str>),
    Int(i64),
    Bulk(Bytes),
    /// A missing value: RESP2 `$-1`, RESP3 `_`.
    Null,
    /// A missing array: RESP2 `*-1`, RESP3 `_`.
    NullArray,
    Array(Vec<Reply>),
    /// RESP3 set (`~`), an array in RESP2.
    Set(Vec<Reply>),
    /// RESP3 map (`%`), a flat array of keys and values in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 double (`,`), a bulk string in RESP2 (formatted as Redis's `%.17g`).
    Double(f64),
    /// RESP3 boolean (`#`), an integer 1/0 in RESP2.
    Bool(bool),
    /// RESP3 verbatim text (`=txt:`), a bulk string in RESP2.
    Verbatim(Bytes),
    /// RESP3 push (`>`: Pub/Sub messages and confirmations), an array in RESP2.
    Push(Vec<Reply>),
    /// Several replies sent one after the other for one command (`SUBSCRIBE a b` confirms
    /// each channel with its own push).
    Several(Vec<Reply>),
}

impl Reply {
    /// An error reply from a static text (`"ERR syntax error"`).
    pub const fn err(text: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(text))
    }

    /// A simple-string reply from a static text.
    pub const fn status(text: &'static str) -> Reply {
        Reply::Status(Cow::Borrowed(text))
    }

    /// A bulk reply holding a copy of `bytes`.
    pub fn bulk(bytes: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(bytes))
    }

    /// A bulk reply from a static string.
    pub fn bulk_static(text: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(text.as_bytes()))
    }

    /// A bulk reply from an owned string.
    pub fn bulk_string(text: String) -> Reply {
        Reply::Bulk(Bytes::from(text))
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::bulk(b.as_ref())).collect())
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the encoding of this reply in `protocol` to `out`.
    pub fn encode(&self, protocol: Protocol, out: &mut Vec<u8>) {
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
            Reply::Status(text) => line(out, b'+', text.as_bytes()),
            Reply::Error(text) => error_line(out, text.as_bytes()),
            Reply::Int(n) => int_line(out, b':', *n),
            Reply::Bulk(bytes) => bulk(out, bytes),
            Reply::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                int_line(out, b'*', items.len() as i64);
                items.iter().for_each(|item| item.encode(protocol, out));
            }
            Reply::Set(items) => {
                int_line(out, if resp3 { b'~' } else { b'*' }, items.len() as i64);
                items.iter().for_each(|item| item.encode(protocol, out));
            }
            Reply::Map(pairs) => {
                if resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (key, value) in pairs {
                    key.encode(protocol, out);
                    value.encode(protocol, out);
                }
            }
            Reply::Double(d) if resp3 => line(out, b',', format_double(*d).as_bytes()),
            Reply::Double(d) => bulk(out, format_double(*d).as_bytes()),
            Reply::Bool(b) if resp3 => {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" })
            }
            Reply::Bool(b) => int_line(out, b':', i64::from(*b)),
            Reply::Verbatim(text) if resp3 => {
                int_line(out, b'=', text.len() as i64 + 4);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Verbatim(text) => bulk(out, text),
            Reply::Push(items) => {
                int_line(out, if resp3 { b'>' } else { b'*' }, items.len() as i64);
                items.iter().for_each(|item| item.encode(protocol, out));
            }
            Reply::Several(replies) => replies.iter().for_each(|r| r.encode(protocol, out)),
        }
    }
}

impl From<i64> for Reply {
    fn from(n: i64) -> Reply {
        Reply::Int(n)
    }
}

fn line(out: &mut Vec<u8>, prefix: u8, text: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// Error lines never carry a newline (Redis replaces them with spaces).
fn error_line(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'-');
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

fn int_line(out: &mut Vec<u8>, prefix: u8, n: i64) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    int_line(out, b'$', bytes.len() as i64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Formats a double as Redis 7.0's replies do: `inf`/`-inf`/`nan`, else C's `%.17g`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g(d, 17)
}

/// C's `%.<precision>g` for a finite double: `precision` significant digits, fixed notation
/// when the decimal exponent is in `-4..precision`, else `d.ddde±XX`; trailing zeros dropped.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{:.*e}", precision - 1, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    trim_fraction(&format!("{d:.decimals$}")).to_string()
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing follows.
fn trim_fraction(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(reply: &Reply, protocol: Protocol) -> String {
        let mut out = Vec::new();
        reply.encode(protocol, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn resp2_downgrades_resp3_types() {
        let map = Reply::Map(vec![(Reply::bulk(b"a"), Reply::Int(1))]);
        assert_eq!(enc(&map, Protocol::Resp2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, Protocol::Resp3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Reply::Null, Protocol::Resp2), "$-1\r\n");
        assert_eq!(enc(&Reply::NullArray, Protocol::Resp2), "*-1\r\n");
        assert_eq!(enc(&Reply::Null, Protocol::Resp3), "_\r\n");
        assert_eq!(enc(&Reply::Double(1.5), Protocol::Resp2), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Double(1.5), Protocol::Resp3), ",1.5\r\n");
        assert_eq!(
            enc(&Reply::Double(f64::NEG_INFINITY), Protocol::Resp3),
            ",-inf\r\n"
        );
        assert_eq!(enc(&Reply::Double(f64::NAN), Protocol::Resp3), ",nan\r\n");
        assert_eq!(
            enc(&Reply::Double(f64::INFINITY), Protocol::Resp2),
            "$3\r\ninf\r\n"
        );
        assert_eq!(enc(&Reply::Bool(true), Protocol::Resp2), ":1\r\n");
        assert_eq!(enc(&Reply::Bool(false), Protocol::Resp3), "#f\r\n");
        assert_eq!(enc(&Reply::Set(vec![]), Protocol::Resp3), "~0\r\n");
        let text = Reply::Verbatim(Bytes::from_static(b"hi"));
        assert_eq!(enc(&text, Protocol::Resp3), "=6\r\ntxt:hi\r\n");
        assert_eq!(enc(&text, Protocol::Resp2), "$2\r\nhi\r\n");
    }

    #[test]
    fn errors_never_break_the_line() {
        assert_eq!(
            enc(&Reply::err("ERR a\r\nb"), Protocol::Resp2),
            "-ERR a  b\r\n"
        );
    }

    #[test]
    fn doubles_format_like_printf_17g() {
        let cases = [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (3.0, "3"),
            (-2.25, "-2.25"),
            (1e17, "1e+17"),
            (1.5e16, "15000000000000000"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (123456789.123, "123456789.123"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0"),
        ];
        for (d, text) in cases {
            assert_eq!(format_double(d), text, "{d}");
        }
    }

    #[test]
    fn encodings_decode_with_redis_protocol() {
        use redis_protocol::resp3::decode::complete::decode;
        let reply = Reply::Array(vec![
            Reply::Map(vec![(Reply::status("x"), Reply::Double(2.5))]),
            Reply::Null,
            Reply::Bool(true),
            Reply::err("ERR x"),
            Reply::Verbatim(Bytes::from_static(b"text")),
        ]);
        let mut out = Vec::new();
        reply.encode(Protocol::Resp3, &mut out);
        let (_, used) = decode(&out).expect("valid RESP3").expect("complete");
        assert_eq!(used, out.len());
    }
}
