//! Who hears of what a command changed.
//!
//! The request path (and expiry and eviction) hand every effects record (see
//! `store::effects`) to [`dispatch`] once the shards are unlocked. This is the one place that
//! decides who reacts to writes: replicas (`replication`), keyspace notifications,
//! client-side-cache invalidation (`tracking`), and clients blocked on a key that gained
//! elements (served here, and what their commands change is handed on in turn). No command
//! handler calls any of them.

use crate::node::Node;
use crate::peer::stream::Mark;
use crate::store::effects::Effects;
use std::sync::Arc;

/// Makes the store hand what expiry and eviction change to [`dispatch`].
pub fn listen_to_store(node: &Arc<Node>) {
    let weak = Arc::downgrade(node);
    node.store.set_effects_sink(Box::new(move |effects| {
        if let Some(node) = weak.upgrade() {
            let _ = dispatch(&node, effects);
        }
    }));
}

/// Hands `effects` to everyone who reacts to changes, then serves the clients blocked on the
/// keys it made ready. Returns where the changes stand in the replicas' streams (what
/// `cluster-write-concern all` waits for).
pub fn dispatch(node: &Node, effects: &mut Effects) -> Vec<Mark> {
    let marks = publish(node, effects);
    let ready = effects.take_ready();
    if !ready.is_empty() {
        node.blocked.serve(node, ready);
    }
    marks
}

/// Hands `effects` to everyone who reacts to changes, except blocked clients (which the
/// caller serves): replicas, keyspace notifications, then tracking clients.
pub fn publish(node: &Node, effects: &Effects) -> Vec<Mark> {
    let marks = crate::replication::replicate(node, effects);
    crate::notify::publish(node, effects);
    node.tracking.invalidate(node, effects, effects.origin());
    marks
}
