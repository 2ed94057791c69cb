//! Command errors, and the one place they become RESP error replies.
//!
//! Each variant is a condition a command can hit; its text is Redis's, byte for byte, so
//! clients that match on error strings keep working.

use crate::protocol::Reply;
use std::borrow::Cow;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `ERR syntax error`.
    Syntax,
    /// `WRONGTYPE ...`: the key holds another type.
    WrongType,
    /// `ERR value is not an integer or out of range`.
    NotInteger,
    /// `ERR value is not a valid float`.
    NotFloat,
    /// `ERR increment or decrement would overflow`.
    Overflow,
    /// `ERR no such key`.
    NoSuchKey,
    /// `ERR DB index is out of range`.
    DbIndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`.
    InvalidExpireTime(&'static str),
    /// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
    StringTooLong,
    /// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
    SubcommandSyntax { command: &'static str, sub: String },
    /// Any other error; the text starts with its code (`ERR ...`, `NOPROTO ...`).
    Other(Cow<'static, str>),
}

/// What a command returns.
pub type CommandResult = Result<Reply, Error>;

impl Error {
    /// An error with a fixed text, code included.
    pub const fn msg(text: &'static str) -> Error {
        Error::Other(Cow::Borrowed(text))
    }

    /// An `ERR` error with a formatted text (the `ERR ` prefix is added).
    pub fn err(text: impl Into<String>) -> Error {
        Error::Other(Cow::Owned(format!("ERR {}", text.into())))
    }

    /// The reply text, code first.
    pub fn text(&self) -> Cow<'static, str> {
        match self {
            Error::Syntax => "ERR syntax error".into(),
            Error::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            Error::NotInteger => "ERR value is not an integer or out of range".into(),
            Error::NotFloat => "ERR value is not a valid float".into(),
            Error::Overflow => "ERR increment or decrement would overflow".into(),
            Error::NoSuchKey => "ERR no such key".into(),
            Error::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            Error::InvalidExpireTime(cmd) => {
                format!("ERR invalid expire time in '{cmd}' command").into()
            }
            Error::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
            }
            Error::SubcommandSyntax { command, sub } => format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
                truncate(sub, 128),
                command.to_ascii_uppercase()
            )
            .into(),
            Error::Other(text) => text.clone(),
        }
    }
}

impl From<Error> for Reply {
    fn from(error: Error) -> Reply {
        Reply::Error(error.text())
    }
}

/// At most `max` bytes of `s`, cut on a character boundary (Redis's `%.128s`).
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
