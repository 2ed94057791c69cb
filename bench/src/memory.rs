//! `memory`: bytes per key in redis-server and Shoal for the same data, in one run.
//!
//! Two datasets, the ones issue 4 sets its compactness bar on:
//! - strings: `--keys` keys of 16 bytes (`key:NNNNNNNNNNNN`) holding 32-byte values
//!   (`value-NNN…`), written with pipelined `SET`s in batches of `--batch`;
//! - hashes: `--hashes` keys of 16 bytes (`hash:NNNNNNNNNNN`), each with 10 fields of 8 bytes
//!   (`field:NN`) holding 8-byte values (`vNNNNNNN`), one `HSET` with all ten fields per hash,
//!   pipelined the same way.
//!
//! No value looks like an integer, so neither server can store one as a number.
//!
//! Every (dataset, server) pair gets a server of its own, freshly started, rather than one
//! server flushed between the datasets. After `FLUSHALL` neither process gives all its pages
//! back (the allocator keeps freed extents mapped), so the second dataset's RSS figure would
//! start from the first one's high-water mark, and `used_memory` would carry whatever each
//! server keeps after a flush (table sizes, allocator caches). A fresh process per dataset
//! makes both figures honest, at the price of a start that takes well under a second.
//!
//! `used_memory` (and `used_memory_rss` when `INFO memory` has it) is read before and after
//! loading, each time once it has stopped changing, and with no client connected but the
//! one asking: the loading connection is closed first, so its buffers are not counted.
//! Bytes per key = (after − before) / keys. RSS includes fragmentation and pages the
//! allocator has not returned: it is what the operator pays, but it is noisier.

use crate::args::each_flag;
use crate::resp::{Connection, Reply, encode_command};
use crate::servers::{Contender, Server};
use anyhow::bail;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Help text for `memory`.
pub(crate) const USAGE: &str = "\
Usage: shoal-bench memory [options]

Loads the same keys into redis-server and shoal (a fresh server for each dataset) and
prints used_memory and RSS bytes per key for each, with the shoal/redis ratio:
  strings: N keys of 16 bytes with 32-byte values (pipelined SET)
  hashes:  N hashes (16-byte keys) of 10 fields, 8-byte fields and values (one HSET each)

Options:
  --keys N       string keys (default 1000000; 0 skips the dataset)
  --hashes N     hashes (default 100000; 0 skips the dataset)
  --batch N      commands per pipelined batch (default 1000)
  --shoal PATH   shoal binary (default: target/release/shoal, built if stale)
  -h, --help     print this text";

/// What `memory` runs with.
pub(crate) struct Options {
    keys: u64,
    hashes: u64,
    batch: u64,
    shoal: Option<PathBuf>,
    /// Hidden: a second redis-server instead of shoal, to check the program itself.
    against_redis: bool,
}

impl Options {
    /// Parses the command line; `None` for `--help`.
    pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
        let mut options = Options {
            keys: 1_000_000,
            hashes: 100_000,
            batch: 1000,
            shoal: None,
            against_redis: false,
        };
        let finished = each_flag(args, &["--against-redis"], |flag| {
            match flag.name {
                "--against-redis" => options.against_redis = true,
                "--keys" => options.keys = flag.number()?,
                "--hashes" => options.hashes = flag.number()?,
                "--batch" => options.batch = flag.number()?.max(1),
                "--shoal" => options.shoal = Some(flag.value()?.into()),
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
            Ok(())
        })?;
        if !finished {
            return Ok(None);
        }
        Ok(Some(options))
    }
}

/// One of the two datasets.
#[derive(Debug, Clone, Copy)]
enum Dataset {
    Strings,
    Hashes,
}

/// Fields per hash, and the bytes of each field name and value.
const HASH_FIELDS: u64 = 10;

impl Dataset {
    fn name(self) -> &'static str {
        match self {
            Dataset::Strings => "strings",
            Dataset::Hashes => "hashes",
        }
    }

    /// What one key holds, for the header.
    fn describe(self) -> &'static str {
        match self {
            Dataset::Strings => "16-byte keys, 32-byte values",
            Dataset::Hashes => "16-byte keys, 10 fields each: 8-byte names, 8-byte values",
        }
    }

    /// The bytes of key, field names and values one key stores: what is left above it is
    /// the server's overhead.
    fn payload(self) -> u64 {
        match self {
            Dataset::Strings => 16 + 32,
            Dataset::Hashes => 16 + HASH_FIELDS * (8 + 8),
        }
    }

    /// The command writing key number `i`, and the reply it must get.
    fn command(self, i: u64) -> (Vec<u8>, Reply) {
        match self {
            Dataset::Strings => {
                let key = format!("key:{i:012}");
                let value = format!("value-{i:026}");
                (
                    encode_command(&[b"SET", key.as_bytes(), value.as_bytes()]),
                    Reply::Simple("OK".into()),
                )
            }
            Dataset::Hashes => {
                let key = format!("hash:{i:011}");
                let mut args = vec![b"HSET".to_vec(), key.into_bytes()];
                for field in 0..HASH_FIELDS {
                    args.push(format!("field:{field:02}").into_bytes());
                    args.push(
                        format!("v{:07}", (i * HASH_FIELDS + field) % 10_000_000).into_bytes(),
                    );
                }
                let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                (encode_command(&args), Reply::Int(HASH_FIELDS as i64))
            }
        }
    }
}

/// One server's figures for one dataset.
struct Figures {
    label: &'static str,
    before: u64,
    after: u64,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
    load_secs: f64,
}

impl Figures {
    fn per_key(&self, keys: u64) -> f64 {
        self.after.saturating_sub(self.before) as f64 / keys as f64
    }

    fn rss_per_key(&self, keys: u64) -> Option<f64> {
        Some(self.rss_after?.saturating_sub(self.rss_before?) as f64 / keys as f64)
    }
}

/// Runs both datasets against both servers and prints the comparison.
pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let contender = Contender::resolve(options.shoal.as_deref(), options.against_redis)?;
    println!(
        "redis: {}",
        crate::servers::version_of(std::path::Path::new("redis-server"))
    );
    println!("{}: {}", contender.label(), contender.describe());
    let datasets = [
        (Dataset::Strings, options.keys),
        (Dataset::Hashes, options.hashes),
    ];
    for (dataset, keys) in datasets {
        if keys == 0 {
            continue;
        }
        println!();
        println!("{}: {keys} keys, {}", dataset.name(), dataset.describe());
        let redis = measure(&Server::start_redis()?, "redis", dataset, keys, options)?;
        print_row(&redis, dataset, keys, true);
        let other = measure(
            &contender.start()?,
            contender.label(),
            dataset,
            keys,
            options,
        )?;
        print_row(&other, dataset, keys, false);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".to_string(),
        };
        println!(
            "{}/redis: used_memory {}, rss {}",
            other.label,
            ratio(Some(other.per_key(keys)), Some(redis.per_key(keys))),
            ratio(other.rss_per_key(keys), redis.rss_per_key(keys)),
        );
    }
    println!();
    println!(
        "B/key: growth of used_memory (allocator bytes) over the keys loaded; over payload: \
         that minus the bytes of key, field names and values. rss: the same from \
         used_memory_rss. Each dataset ran on freshly started servers."
    );
    Ok(())
}

/// Prints one server's row (and the header before the first).
fn print_row(figures: &Figures, dataset: Dataset, keys: u64, header: bool) {
    if header {
        println!(
            "  {:<8} {:>12} {:>9} {:>13} {:>10} {:>10} {:>8}",
            "server", "used MB", "B/key", "over payload", "rss MB", "rss B/key", "load s"
        );
    }
    let used = figures.after.saturating_sub(figures.before);
    let rss = match (figures.rss_before, figures.rss_after) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    println!(
        "  {:<8} {:>12.1} {:>9.1} {:>13.1} {:>10} {:>10} {:>8.2}",
        figures.label,
        mb(used),
        figures.per_key(keys),
        figures.per_key(keys) - dataset.payload() as f64,
        rss.map_or("-".to_string(), |r| format!("{:.1}", mb(r))),
        figures
            .rss_per_key(keys)
            .map_or("-".to_string(), |b| format!("{b:.1}")),
        figures.load_secs
    );
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Loads `keys` keys of `dataset` into a fresh `server` and reads its memory around it.
fn measure(
    server: &Server,
    label: &'static str,
    dataset: Dataset,
    keys: u64,
    options: &Options,
) -> anyhow::Result<Figures> {
    let (before, rss_before) = settled_memory(server)?;
    let started = Instant::now();
    {
        let mut conn = server.connect()?;
        load(&mut conn, label, dataset, keys, options.batch)?;
        let held = conn.call_int(&["DBSIZE"])?;
        if held != keys as i64 {
            bail!("{label} holds {held} keys after loading {keys}");
        }
        // The loading connection closes here, before the memory is read.
    }
    let load_secs = started.elapsed().as_secs_f64();
    let (after, rss_after) = settled_memory(server)?;
    Ok(Figures {
        label,
        before,
        after,
        rss_before,
        rss_after,
        load_secs,
    })
}

/// Writes keys `0..keys` in pipelined batches, checking every reply.
fn load(
    conn: &mut Connection,
    label: &str,
    dataset: Dataset,
    keys: u64,
    batch: u64,
) -> anyhow::Result<()> {
    let mut start = 0;
    while start < keys {
        let end = (start + batch).min(keys);
        let mut bytes = Vec::new();
        let mut expected = Reply::Bulk(None);
        for i in start..end {
            let (command, reply) = dataset.command(i);
            bytes.extend_from_slice(&command);
            expected = reply;
        }
        conn.send(&bytes)?;
        for i in start..end {
            let reply = conn.read_reply()?;
            if reply != expected {
                bail!(
                    "{label}: writing {} key {i} answered {reply:?}, expected {expected:?}",
                    dataset.name()
                );
            }
        }
        start = end;
    }
    Ok(())
}

/// `used_memory` and `used_memory_rss` once `used_memory` has stopped moving (two
/// readings 100 ms apart within 16 KiB, or 3 s at most). Redis refreshes its RSS figure
/// in its cron (10 times a second), which the wait covers.
fn settled_memory(server: &Server) -> anyhow::Result<(u64, Option<u64>)> {
    const CLOSE: u64 = 16 * 1024;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = server.info_u64("memory", "used_memory")?;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = server.info_u64("memory", "used_memory")?;
        if now.abs_diff(last) <= CLOSE || Instant::now() > deadline {
            let rss = server.info_u64("memory", "used_memory_rss").ok();
            return Ok((now, rss));
        }
        last = now;
    }
}
