//! The Redis wire protocol, without I/O.
//!
//! `request` decodes what clients send (RESP multibulk arrays and inline commands) into
//! argument spans, enforcing Redis's limits and error texts; `reply` is the value a command
//! answers with and its encoding as RESP2 or RESP3. Nothing here touches a socket.

pub mod reply;
pub mod request;

pub use reply::{Protocol, Reply};
pub use request::{Batch, ProtocolError, RequestParser};
