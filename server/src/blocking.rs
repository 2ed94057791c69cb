//! Clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK…), served first come, first served.
//!
//! A blocking command that finds nothing asks to wait (`Ctx::block`). Its connection then
//! registers a [`Waiter`] at the back of the queue of each of its keys and waits for a reply.
//! A command that adds to a list, sorted set or stream signals the key ready; right after that
//! command (its locks released), [`Blocked::serve`] walks the key's queue in order and runs each
//! waiter's command again on the waiter's behalf: the first one that gets something is answered
//! and leaves every queue, as in Redis. A served command can make other keys ready (BLMOVE
//! pushes to its destination); those are served in turn.
//!
//! A waiter's state is guarded by its own mutex, held while its command runs, so a timeout
//! (or a kill) and a serve can never both answer it: whichever takes the state first wins.

use crate::client::{Client, ClientInfo};
use crate::node::Node;
use crate::protocol::{Protocol, Reply};
use crate::store::DbIndex;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where a waiter is in its life.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Waiting,
    /// Answered by a serve, or given up (timeout, kill): it must not be answered again.
    Finished,
}

/// A client waiting for one of its keys.
pub struct Waiter {
    pub db: DbIndex,
    pub keys: Vec<Vec<u8>>,
    /// The command to run again when a key is ready.
    pub args: Vec<Vec<u8>>,
    pub protocol: Protocol,
    pub info: Arc<ClientInfo>,
    state: Mutex<State>,
    reply: Mutex<Option<oneshot::Sender<Reply>>>,
}

impl Waiter {
    /// A waiter and the receiver its connection waits on.
    pub fn new(
        db: DbIndex,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
        protocol: Protocol,
        info: Arc<ClientInfo>,
    ) -> (Arc<Waiter>, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            db,
            keys,
            args,
            protocol,
            info,
            state: Mutex::new(State::Waiting),
            reply: Mutex::new(Some(tx)),
        };
        (Arc::new(waiter), rx)
    }

    /// Gives up waiting (timeout, kill, disconnect). False if the waiter was answered first
    /// (its reply is then on its way).
    pub fn give_up(&self) -> bool {
        let mut state = self.state.lock();
        if *state == State::Finished {
            return false;
        }
        *state = State::Finished;
        true
    }
}

type QueueKey = (DbIndex, Vec<u8>);

/// Every waiting client, queued per key.
#[derive(Default)]
pub struct Blocked {
    queues: Mutex<HashMap<QueueKey, VecDeque<Arc<Waiter>>>>,
}

impl Blocked {
    /// Queues `waiter` behind the others on each of its keys.
    pub fn add(&self, node: &Node, waiter: &Arc<Waiter>) {
        let mut queues = self.queues.lock();
        for key in &waiter.keys {
            queues
                .entry((waiter.db, key.clone()))
                .or_default()
                .push_back(waiter.clone());
        }
        node.store.add_waiters(1);
    }

    /// Takes `waiter` out of every queue it is in.
    pub fn remove(&self, node: &Node, waiter: &Arc<Waiter>) {
        let mut queues = self.queues.lock();
        let mut found = false;
        for key in &waiter.keys {
            let queue_key = (waiter.db, key.clone());
            if let Some(queue) = queues.get_mut(&queue_key) {
                let before = queue.len();
                queue.retain(|w| !Arc::ptr_eq(w, waiter));
                found |= queue.len() != before;
                if queue.is_empty() {
                    queues.remove(&queue_key);
                }
            }
        }
        if found {
            node.store.add_waiters(-1);
        }
    }

    /// Number of clients waiting (`INFO clients` blocked_clients).
    pub fn count(&self) -> usize {
        let queues = self.queues.lock();
        let mut seen: Vec<*const Waiter> = queues.values().flatten().map(Arc::as_ptr).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Number of distinct keys clients wait on (`INFO clients` total_blocking_keys).
    pub fn keys(&self) -> usize {
        self.queues.lock().len()
    }

    /// Serves the waiters of `ready` keys, in the order they blocked, for as long as their
    /// commands find something; keys those commands make ready are served too.
    pub fn serve(&self, node: &Node, ready: Vec<(DbIndex, Vec<u8>)>) {
        let mut pending: VecDeque<QueueKey> = ready.into();
        while let Some(key) = pending.pop_front() {
            let waiters: Vec<Arc<Waiter>> = match self.queues.lock().get(&key) {
                Some(queue) => queue.iter().cloned().collect(),
                None => continue,
            };
            for waiter in waiters {
                let (served, more) = self.try_serve(node, &waiter);
                pending.extend(more);
                if served {
                    self.remove(node, &waiter);
                }
            }
        }
    }

    /// Runs `waiter`'s command again, handing what it changed on. True when it got an answer
    /// (and was sent it); the second value lists keys its command made ready.
    fn try_serve(&self, node: &Node, waiter: &Arc<Waiter>) -> (bool, Vec<QueueKey>) {
        let mut state = waiter.state.lock();
        if *state != State::Waiting {
            return (false, Vec::new());
        }
        let mut client = Client::new(waiter.info.clone());
        client.db = waiter.db;
        client.protocol = waiter.protocol;
        let args: Vec<&[u8]> = waiter.args.iter().map(Vec::as_slice).collect();
        let (ran, mut effects) = crate::request::retry(node, &mut client, &args);
        let ready = effects.take_ready();
        effects.set_origin(waiter.info.id);
        let _ = crate::effects::publish(node, &effects);
        if ran.block.is_some() {
            return (false, ready);
        }
        *state = State::Finished;
        if let Some(tx) = waiter.reply.lock().take() {
            let _ = tx.send(ran.reply);
        }
        (true, ready)
    }
}
