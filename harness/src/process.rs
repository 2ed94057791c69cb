//! A child process with its output captured: every line of stdout and stderr is kept (for
//! assertions and error messages) and sent down a channel (for waiting on a line). Killed
//! when dropped.

use anyhow::Context;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running process.
pub struct Process {
    child: Child,
    /// Every line it printed so far, stdout and stderr interleaved as they arrived.
    pub output: Arc<Mutex<Vec<String>>>,
    lines: mpsc::Receiver<String>,
}

impl Process {
    /// Spawns `command` with its output captured.
    pub fn spawn(mut command: Command) -> anyhow::Result<Process> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        for pipe in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let (tx, output) = (tx.clone(), output.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    output
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        Ok(Process {
            child,
            output,
            lines,
        })
    }

    /// Waits for a line `found` accepts (lines already seen by an earlier wait do not count
    /// again), at most `timeout`; `None` if the process ended or the time ran out.
    pub fn wait_for_line(&self, timeout: Duration, found: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if found(&line) => return Some(line),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Its last `n` lines, joined (for error messages).
    pub fn recent_output(&self, n: usize) -> String {
        let lines = self.output.lock().unwrap_or_else(|e| e.into_inner());
        let from = lines.len().saturating_sub(n);
        lines[from..].join("\n")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for it to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends signal `name` (`"TERM"`, `"INT"`, `"KILL"`, `"STOP"`...).
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{name} failed");
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
