//! Request decoding: RESP multibulk arrays and inline commands.
//!
//! The parser never copies arguments: it records each argument as a span of the connection's
//! read buffer, and a batch of complete requests is executed straight from that buffer. Only
//! inline arguments that carry quotes or escapes are unescaped into the batch's scratch
//! buffer. A request that is not complete yet keeps its progress (`pending`), so a huge array
//! arriving over many reads is scanned once, not once per read.
//!
//! Limits and error texts follow Redis (`networking.c`): inline requests and length lines are
//! at most 64 KiB, a bulk is at most 512 MB (`proto-max-bulk-len`), and an array has at most
//! 1M elements. Lengths are checked before anything is reserved for them, so a hostile length
//! costs nothing. Every protocol error ends the connection after its reply, as in Redis.

use crate::number::parse_int;
use std::fmt;

/// Longest inline request, and longest `*<n>` or `$<n>` line (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE_LEN: usize = 64 * 1024;
/// Longest bulk argument accepted by default (Redis's `proto-max-bulk-len`).
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Most elements in one request array.
pub const MAX_MULTIBULK_LEN: i64 = 1024 * 1024;

/// A malformed request. The connection replies `-ERR <message>` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ProtocolError {
    fn new(msg: &str) -> Self {
        Self(format!("Protocol error: {msg}"))
    }
}

/// Where one argument's bytes are: in the read buffer, or in the batch's scratch buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    len: usize,
    in_scratch: bool,
}

/// Complete requests decoded from one read buffer, ready to execute in order.
#[derive(Default, Debug)]
pub struct Batch {
    spans: Vec<Span>,
    /// For each request, the index in `spans` one past its last argument.
    ends: Vec<usize>,
    /// Unescaped inline arguments.
    scratch: Vec<u8>,
}

impl Batch {
    /// Number of complete requests.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no request.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Forget every request (keeps the allocations).
    pub fn clear(&mut self) {
        self.spans.clear();
        self.ends.clear();
        self.scratch.clear();
    }

    /// Request `i`'s arguments, borrowed from `buf` (the buffer the batch was parsed from)
    /// or from the scratch buffer.
    pub fn args<'a>(&'a self, buf: &'a [u8], i: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        self.spans[from..self.ends[i]].iter().map(move |span| {
            let src = if span.in_scratch {
                &self.scratch[..]
            } else {
                buf
            };
            &src[span.start..span.start + span.len]
        })
    }

    fn push_request(&mut self, spans: &[Span]) {
        self.spans.extend_from_slice(spans);
        self.ends.push(self.spans.len());
    }
}

/// Progress through a multibulk request that is not complete yet.
#[derive(Debug, Clone, Copy)]
struct Multibulk {
    /// Arguments still to read.
    remaining: usize,
    /// Length of the bulk being read, once its `$<len>` line is in.
    bulk_len: Option<usize>,
}

/// Incremental request decoder for one connection.
#[derive(Debug)]
pub struct RequestParser {
    /// Offset in the read buffer where parsing resumes.
    pos: usize,
    /// Start of the request being parsed (everything before it has been handed out).
    request_start: usize,
    multibulk: Option<Multibulk>,
    /// Arguments of the incomplete request so far.
    pending: Vec<Span>,
    max_bulk_len: usize,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BULK_LEN)
    }
}

impl RequestParser {
    /// A parser that refuses bulks longer than `max_bulk_len`.
    pub fn new(max_bulk_len: usize) -> Self {
        Self {
            pos: 0,
            request_start: 0,
            multibulk: None,
            pending: Vec::new(),
            max_bulk_len,
        }
    }

    /// Changes the bulk limit (`CONFIG SET proto-max-bulk-len`).
    pub fn set_max_bulk_len(&mut self, max_bulk_len: usize) {
        self.max_bulk_len = max_bulk_len;
    }

    /// Decodes every complete request in `buf` (from where the last call stopped) into
    /// `batch`. Returns how many bytes of `buf` the complete requests occupy; the caller
    /// drops them from the buffer after executing the batch and then calls [`Self::consumed`].
    /// On a protocol error the requests before the bad one are still in `batch`.
    pub fn parse(&mut self, buf: &[u8], batch: &mut Batch) -> Result<usize, ProtocolError> {
        loop {
            if self.multibulk.is_none() {
                self.pos = self.request_start;
                match buf.get(self.pos) {
                    None => break,
                    Some(b'*') => match self.begin_multibulk(buf)? {
                        Some(true) => {}
                        Some(false) => continue, // `*0` or `*-1`: an empty request
                        None => break,
                    },
                    Some(_) => match self.parse_inline(buf, batch)? {
                        true => continue,
                        false => break,
                    },
                }
            }
            if !self.continue_multibulk(buf)? {
                break;
            }
            batch.push_request(&self.pending);
            self.pending.clear();
            self.multibulk = None;
            self.request_start = self.pos;
        }
        Ok(self.request_start)
    }

    /// Tells the parser that the first `n` bytes of the buffer (as returned by `parse`) were
    /// removed, so its offsets move back by `n`.
    pub fn consumed(&mut self, n: usize) {
        debug_assert!(n <= self.request_start);
        self.request_start -= n;
        self.pos -= n;
        for span in &mut self.pending {
            span.start -= n;
        }
    }

    /// Bytes the buffer must hold in total before the pending bulk is complete (0 if unknown).
    /// Lets the connection reserve room for a big argument once instead of growing repeatedly.
    pub fn bytes_needed(&self) -> usize {
        match self.multibulk {
            Some(Multibulk {
                bulk_len: Some(len),
                ..
            }) => self.pos + len + 2,
            _ => 0,
        }
    }

    /// Reads `*<count>\r\n`. `Some(true)`: a non-empty array begins; `Some(false)`: an empty
    /// array was skipped; `None`: the line is not complete yet.
    fn begin_multibulk(&mut self, buf: &[u8]) -> Result<Option<bool>, ProtocolError> {
        let Some(line) = read_line(buf, self.pos) else {
            if buf.len() - self.pos > MAX_INLINE_LEN {
                return Err(ProtocolError::new("too big mbulk count string"));
            }
            return Ok(None);
        };
        let count = parse_int(&buf[self.pos + 1..line])
            .filter(|&n| n <= MAX_MULTIBULK_LEN)
            .ok_or_else(|| ProtocolError::new("invalid multibulk length"))?;
        self.pos = line + 2;
        if count <= 0 {
            self.request_start = self.pos;
            return Ok(Some(false));
        }
        self.multibulk = Some(Multibulk {
            remaining: count as usize,
            bulk_len: None,
        });
        Ok(Some(true))
    }

    /// Reads as many `$<len>\r\n<bytes>\r\n` arguments as are buffered. True when the request
    /// is complete.
    fn continue_multibulk(&mut self, buf: &[u8]) -> Result<bool, ProtocolError> {
        let Some(mut state) = self.multibulk else {
            return Ok(false);
        };
        while state.remaining > 0 {
            let len = match state.bulk_len {
                Some(len) => len,
                None => {
                    let Some(line) = read_line(buf, self.pos) else {
                        if buf.len() - self.pos > MAX_INLINE_LEN {
                            return Err(ProtocolError::new("too big bulk count string"));
                        }
                        break;
                    };
                    if buf[self.pos] != b'$' {
                        return Err(ProtocolError(format!(
                            "Protocol error: expected '$', got '{}'",
                            char::from(buf[self.pos])
                        )));
                    }
                    let len = parse_int(&buf[self.pos + 1..line])
                        .filter(|&n| n >= 0 && n as u64 <= self.max_bulk_len as u64)
                        .ok_or_else(|| ProtocolError::new("invalid bulk length"))?;
                    self.pos = line + 2;
                    state.bulk_len = Some(len as usize);
                    len as usize
                }
            };
            // Redis does not check the two bytes after a bulk; neither do we.
            if buf.len() - self.pos < len + 2 {
                break;
            }
            self.pending.push(Span {
                start: self.pos,
                len,
                in_scratch: false,
            });
            self.pos += len + 2;
            state.bulk_len = None;
            state.remaining -= 1;
        }
        self.multibulk = Some(state);
        Ok(state.remaining == 0)
    }

    /// Reads one inline request (a line of space-separated, optionally quoted words).
    /// Returns false when the line is not complete yet.
    fn parse_inline(&mut self, buf: &[u8], batch: &mut Batch) -> Result<bool, ProtocolError> {
        let start = self.pos;
        let Some(newline) = buf[start..].iter().position(|&b| b == b'\n') else {
            if buf.len() - start > MAX_INLINE_LEN {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(false);
        };
        let mut end = start + newline;
        if end > start && buf[end - 1] == b'\r' {
            end -= 1;
        }
        self.pending.clear();
        split_inline(buf, start, end, &mut self.pending, &mut batch.scratch)
            .ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
        if !self.pending.is_empty() {
            batch.push_request(&self.pending);
            self.pending.clear();
        }
        self.request_start = start + newline + 1;
        Ok(true)
    }
}

/// Index of the `\r` ending the line that starts at `from`, if the whole `\r\n` is buffered.
fn read_line(buf: &[u8], from: usize) -> Option<usize> {
    let cr = from + buf[from..].iter().position(|&b| b == b'\r')?;
    (cr + 1 < buf.len()).then_some(cr)
}

/// Splits `buf[start..end]` into words as Redis's `sdssplitargs`: whitespace separates words,
/// `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'` understands `\'`, and a closing quote
/// must be followed by whitespace or the end. Plain words are spans of `buf`; words with quotes
/// are unescaped into `scratch`. `None` means unbalanced quotes.
fn split_inline(
    buf: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<Span>,
    scratch: &mut Vec<u8>,
) -> Option<()> {
    let line = &buf[start..end];
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Some(());
        }
        let word_start = i;
        while i < line.len() && !is_space(line[i]) && line[i] != b'"' && line[i] != b'\'' {
            i += 1;
        }
        if i == line.len() || is_space(line[i]) {
            out.push(Span {
                start: start + word_start,
                len: i - word_start,
                in_scratch: false,
            });
            continue;
        }
        // The word contains quotes: rebuild it in the scratch buffer.
        let scratch_start = scratch.len();
        scratch.extend_from_slice(&line[word_start..i]);
        i = unquote_word(line, i, scratch)?;
        out.push(Span {
            start: scratch_start,
            len: scratch.len() - scratch_start,
            in_scratch: true,
        });
    }
}

/// Continues a word at `line[i]` (a quote or a plain byte) until it ends; returns the index
/// after it.
fn unquote_word(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    while i < line.len() && !is_space(line[i]) {
        match line[i] {
            b'"' => i = unquote_double(line, i + 1, out)?,
            b'\'' => i = unquote_single(line, i + 1, out)?,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(i)
}

/// Reads a `"..."` body starting after the opening quote; returns the index after the closing
/// quote, which must be followed by whitespace or the end of the line.
fn unquote_double(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        match *line.get(i)? {
            b'\\'
                if i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit() =>
            {
                out.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                i += 4;
            }
            b'\\' if i + 1 < line.len() => {
                out.push(match line[i + 1] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                i += 2;
            }
            b'"' => return closing_quote(line, i),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Reads a `'...'` body starting after the opening quote.
fn unquote_single(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        match *line.get(i)? {
            b'\\' if line.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\'' => return closing_quote(line, i),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

fn closing_quote(line: &[u8], quote: usize) -> Option<usize> {
    match line.get(quote + 1) {
        None => Some(quote + 1),
        Some(&b) if is_space(b) => Some(quote + 1),
        Some(_) => None,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parses `input` in one go and returns every complete request's arguments.
    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<usize, ProtocolError>) {
        let mut parser = RequestParser::default();
        let mut batch = Batch::default();
        let result = parser.parse(input, &mut batch);
        (collect(&batch, input), result)
    }

    fn collect(batch: &Batch, buf: &[u8]) -> Vec<Vec<Vec<u8>>> {
        (0..batch.len())
            .map(|i| batch.args(buf, i).map(<[u8]>::to_vec).collect())
            .collect()
    }

    fn words(ws: &[&str]) -> Vec<Vec<u8>> {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn decodes_a_pipeline_of_multibulk_requests() {
        let input = b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n";
        let (reqs, consumed) = parse_all(input);
        assert_eq!(reqs, vec![words(&["PING"]), words(&["SET", "a", ""])]);
        assert_eq!(consumed, Ok(input.len()));
    }

    #[test]
    fn inline_requests_split_like_redis() {
        let (reqs, _) = parse_all(b"PING\r\nset a  b\n\r\n  \r\n");
        assert_eq!(reqs, vec![words(&["PING"]), words(&["set", "a", "b"])]);
        let (reqs, _) = parse_all(b"set \"a b\" 'c\\'d' \"\\x41\\n\" x\"y\"\r\n");
        assert_eq!(reqs, vec![words(&["set", "a b", "c'd", "A\n", "xy"])]);
    }

    #[test]
    fn unbalanced_quotes_are_a_protocol_error() {
        for bad in [
            &b"set \"a\r\n"[..],
            b"set \"a\"b\r\n",
            b"set 'a\r\n",
            b"x\"y\"z\r\n",
        ] {
            let (_, result) = parse_all(bad);
            assert_eq!(
                result,
                Err(ProtocolError(
                    "Protocol error: unbalanced quotes in request".into()
                ))
            );
        }
    }

    #[test]
    fn limits_are_refused_with_redis_texts() {
        let cases: [(&[u8], &str); 5] = [
            (b"*1048577\r\n", "Protocol error: invalid multibulk length"),
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*1\r\n$536870913\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n+OK\r\n", "Protocol error: expected '$', got '+'"),
        ];
        for (input, text) in cases {
            assert_eq!(
                parse_all(input).1,
                Err(ProtocolError(text.into())),
                "{input:?}"
            );
        }
        let long = vec![b'a'; MAX_INLINE_LEN + 1];
        assert_eq!(
            parse_all(&long).1,
            Err(ProtocolError(
                "Protocol error: too big inline request".into()
            ))
        );
        // Length lines without their `\r` past 64 KiB.
        let mut count = b"*".to_vec();
        count.resize(MAX_INLINE_LEN + 2, b'1');
        assert_eq!(
            parse_all(&count).1,
            Err(ProtocolError(
                "Protocol error: too big mbulk count string".into()
            ))
        );
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.resize(MAX_INLINE_LEN + 10, b'1');
        assert_eq!(
            parse_all(&bulk).1,
            Err(ProtocolError(
                "Protocol error: too big bulk count string".into()
            ))
        );
        // Up to the limits, lengths are accepted and simply wait for their bytes.
        assert_eq!(parse_all(b"*1048576\r\n").1, Ok(0));
        assert_eq!(parse_all(b"*1\r\n$536870912\r\nab").1, Ok(0));
    }

    #[test]
    fn requests_before_an_error_are_kept() {
        let (reqs, result) = parse_all(b"PING\r\n*1\r\n+x\r\n");
        assert_eq!(reqs, vec![words(&["PING"])]);
        assert!(result.is_err());
    }

    #[test]
    fn empty_arrays_are_skipped() {
        let (reqs, consumed) = parse_all(b"*0\r\n*-1\r\n*1\r\n$1\r\nx\r\n");
        assert_eq!(reqs, vec![words(&["x"])]);
        assert_eq!(consumed, Ok(20));
    }

    /// Feeds `input` to a parser in chunks of `chunk` bytes, the way a socket would deliver
    /// it, executing and dropping complete requests between reads.
    fn parse_in_chunks(input: &[u8], chunk: usize) -> Vec<Vec<Vec<u8>>> {
        let mut parser = RequestParser::default();
        let mut batch = Batch::default();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            let consumed = parser.parse(&buf, &mut batch).expect("valid input");
            out.extend(collect(&batch, &buf));
            batch.clear();
            buf.drain(..consumed);
            parser.consumed(consumed);
        }
        out
    }

    fn encode(reqs: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for req in reqs {
            out.extend_from_slice(format!("*{}\r\n", req.len()).as_bytes());
            for arg in req {
                out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                out.extend_from_slice(arg);
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    proptest! {
        #[test]
        fn any_split_of_a_pipeline_decodes_the_same(
            reqs in prop::collection::vec(
                prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6), 1..8),
            chunk in 1usize..64,
        ) {
            let input = encode(&reqs);
            prop_assert_eq!(parse_in_chunks(&input, chunk), reqs);
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_all(&input);
        }

        #[test]
        fn plain_inline_words_round_trip(
            ws in prop::collection::vec("[a-zA-Z0-9:_-]{1,12}", 1..6),
            chunk in 1usize..16,
        ) {
            let line = format!("{}\r\n", ws.join(" "));
            let expected: Vec<Vec<u8>> = ws.iter().map(|w| w.as_bytes().to_vec()).collect();
            prop_assert_eq!(parse_in_chunks(line.as_bytes(), chunk), vec![expected]);
        }
    }
}
