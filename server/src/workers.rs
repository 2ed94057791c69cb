//! Worker threads: `workers` single-threaded tokio runtimes (by default half the cores, the
//! kernel's network stack needing the rest), each serving its own clients.
//!
//! Connections are handed to workers round-robin and stay on theirs for life: a connection's
//! socket, its task and its wake-ups live on one thread, so serving a request never involves
//! another thread (no work stealing, no cross-thread wake-ups). This is what lets a
//! multi-threaded node keep up with Redis's single event loop on few cores; the keyspace is
//! still shared by all workers through its sharded locks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// The worker threads of a node.
pub struct Workers {
    handles: Vec<Handle>,
    threads: Vec<JoinHandle<()>>,
    next: AtomicUsize,
    stop: watch::Sender<bool>,
}

impl Workers {
    /// Starts `count` workers (at least one).
    pub fn start(count: usize) -> std::io::Result<Workers> {
        let (stop, _) = watch::channel(false);
        let mut handles = Vec::new();
        let mut threads = Vec::new();
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            let mut stopped = stop.subscribe();
            let thread = std::thread::Builder::new()
                .name(format!("shoal-worker-{index}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    });
                })?;
            threads.push(thread);
        }
        Ok(Workers {
            handles,
            threads,
            next: AtomicUsize::new(0),
            stop,
        })
    }

    /// The runtime of the next worker in turn.
    pub fn next(&self) -> &Handle {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        &self.handles[index]
    }

    /// Stops every worker (their remaining tasks are dropped) and waits for the threads.
    pub fn stop(self) {
        self.stop.send_replace(true);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}
