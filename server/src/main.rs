//! The `shoal` binary: configuration → logging → runtime → listeners → serve until shutdown.

mod dev_cluster;
mod healthcheck;

use anyhow::Context;
use shoal_server::cluster::NodeCluster;
use shoal_server::config::{Config, LogFormat, LogLevel};
use shoal_server::node::Node;
use shoal_server::workers::Workers;
use shoal_server::{server, store};
use std::io::Write;
use std::sync::Arc;
use tracing_subscriber::{filter::LevelFilter, prelude::*, reload};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const USAGE: &str = "\
Usage: shoal [--config <file>] [--<directive> <value>...]
       shoal --healthcheck [--ready] [--port <port>]

Starts a Shoal node. With no arguments it listens on 127.0.0.1:6379.
Every directive of the config file can be given as a flag with the same name,
e.g. --port 7000 --bind 0.0.0.0 --maxclients 20000, or as an environment
variable SHOAL_<NAME> with dashes as underscores, e.g. SHOAL_PORT=7000
SHOAL_CLUSTER_SECRET=... Flags override the environment, which overrides
the file.

  --config <file>   read redis.conf-style 'directive value' lines from <file>
                    (or the file named by SHOAL_CONFIG)
  --dev-cluster <n> start <n> nodes on consecutive ports from --port (default
                    6379), joined into one cluster, for trying Shoal out
  --healthcheck     PING the node this configuration describes (on its first
                    bind address, loopback for 0.0.0.0) and exit 0 on PONG;
                    with --ready, also require CLUSTER INFO to say
                    cluster_state:ok and shoal_phase:serving (joined, hand-off
                    done). For container health checks and probes
  --help            print this text
  --version         print the version";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--healthcheck") {
        std::process::exit(healthcheck::run(&args));
    }
    // jemalloc returns freed pages to the OS from its own background threads (as Redis's
    // `jemalloc-bg-thread yes`), not in whichever client thread happened to free memory.
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("jemalloc background threads unavailable: {error}");
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        // Written without panicking when the reader goes away (`shoal --help | head`).
        let _ = writeln!(
            std::io::stdout().lock(),
            "{USAGE}\n\nDirectives, with their defaults (README.md says what each does):\n{}",
            shoal_server::config::directives_help()
        );
        return;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        let _ = writeln!(
            std::io::stdout().lock(),
            "shoal {}",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--dev-cluster") {
        if let Err(error) = dev_cluster::run(&args, at) {
            eprintln!("shoal: {error:#}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(error) = run(&args) {
        eprintln!("shoal: {error:#}");
        std::process::exit(1);
    }
}

fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Debug => LevelFilter::TRACE,
        LogLevel::Verbose => LevelFilter::DEBUG,
        LogLevel::Notice => LevelFilter::INFO,
        LogLevel::Warning => LevelFilter::WARN,
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let env = shoal_server::config::shoal_environment()?;
    let (config, ignored_env) = Config::from_args_and_env(args, &env)?;
    let (filter, reload_handle) = reload::Layer::new(level_filter(config.loglevel));
    let text = (config.log_format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
    });
    let json = (config.log_format == LogFormat::Json)
        .then(|| tracing_subscriber::fmt::layer().json().with_target(false));
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .init();
    for var in ignored_env {
        tracing::warn!("ignoring environment variable {var}: it names no directive");
    }
    let hook = Box::new(move |level: LogLevel| {
        let _ = reload_handle.modify(|f| *f = level_filter(level));
    });
    // Room for every client Redis-style: maxclients plus descriptors for ourselves.
    let wanted = config.maxclients as u64 + 32;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => tracing::warn!(
            wanted,
            got,
            "open file limit is lower than maxclients needs; some connections will fail"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not raise the open file limit"),
    }
    // The main runtime accepts clients, handles signals and samples statistics; clients are
    // served by `workers` worker threads (half the cores unless configured).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let workers = match config.workers {
        // Half the cores: the kernel's network stack needs the rest (on loopback it does as
        // much work per request as the node), as Redis advises for its io-threads.
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get() / 2)
            .max(1),
        n => n,
    };
    let workers = Arc::new(Workers::start(workers).context("starting the worker threads")?);
    runtime.block_on(serve(config, hook, workers.clone()))?;
    if let Ok(workers) = Arc::try_unwrap(workers) {
        workers.stop();
    }
    Ok(())
}

async fn serve(
    config: Config,
    hook: Box<dyn Fn(LogLevel) + Send + Sync>,
    workers: Arc<Workers>,
) -> anyhow::Result<()> {
    let node = Arc::new(Node::new(config.clone(), Some(hook)));
    shoal_server::effects::listen_to_store(&node);
    // Every port is bound before the node serves or gossips: one that is taken stops startup.
    let listeners = server::bind(&node, &config.bind, config.port).await?;
    let metrics = bind_metrics(&config).await?;
    if config.cluster.enabled {
        let client = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .context("no listening address")?;
        let cluster = NodeCluster::start(&config, client)?;
        let _ = node.cluster.set(cluster);
        shoal_server::replication::spawn(&node);
        shoal_server::handoff::spawn(&node);
        shoal_server::replication::anti_entropy::spawn(&node);
        shoal_server::peer::stream::spawn_mender(&node);
    }
    node.record_bound_ports(node.cluster.get().map(|c| c.handle.local_bus_addr().port()));
    store::expire::spawn(&node.store, node.expiry.clone()).context("starting the expiry cycle")?;
    tokio::spawn(server::sample_stats(node.clone()));
    // The handlers are installed here, before the ready line: a signal sent as soon as the
    // node says it is ready must find them (not kill the process).
    tokio::spawn(shutdown_on_signal(node.clone(), signal_handlers()?));
    if let Some(listener) = metrics {
        serve_metrics(&node, listener);
    }
    let port = node.port.load(std::sync::atomic::Ordering::Relaxed);
    let metrics_port = shoal_server::metrics::port(&node);
    let (cluster_port, node_id) = node.cluster.get().map_or((0, String::new()), |c| {
        (
            c.handle.local_bus_addr().port(),
            c.topology.load().myself().id.to_string(),
        )
    });
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        bind = %config.bind.join(","),
        port,
        metrics_port,
        cluster_port,
        node_id = %node_id,
        config_file = %config.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "none".into()),
        "Shoal ready to accept connections"
    );
    let leaving = tokio::spawn(leave_on_shutdown(node.clone()));
    server::run(node, listeners, workers).await;
    let _ = leaving.await;
    tracing::info!("Shoal is now ready to exit, bye bye...");
    Ok(())
}

/// Binds `metrics-port` (unless 0) on the first bind address.
async fn bind_metrics(
    config: &Config,
) -> Result<Option<tokio::net::TcpListener>, server::BindError> {
    if config.metrics_port == 0 {
        return Ok(None);
    }
    let host = config
        .bind
        .first()
        .map_or("127.0.0.1", |h| h.trim_start_matches('-'));
    tokio::net::TcpListener::bind((host, config.metrics_port))
        .await
        .map(Some)
        .map_err(|source| server::BindError {
            what: "the metrics port",
            addr: format!("{host}:{}", config.metrics_port),
            source,
        })
}

/// Serves `/metrics` on the bound metrics listener.
fn serve_metrics(node: &Arc<Node>, listener: tokio::net::TcpListener) {
    let Some(handle) = shoal_server::metrics::install() else {
        tracing::warn!("a metrics recorder was already installed; not serving metrics");
        return;
    };
    let port = listener.local_addr().map_or(0, |a| usize::from(a.port()));
    node.metrics_port
        .store(port, std::sync::atomic::Ordering::Relaxed);
    tokio::spawn(shoal_server::metrics::serve(node.clone(), listener, handle));
}

/// Once shutdown begins, leaves the cluster so peers learn at once, while connections finish
/// their last batch (a graceful leave handed the node's slots over before shutdown began).
async fn leave_on_shutdown(node: Arc<Node>) {
    let _ = node.shutdown_signal().wait_for(|stopping| *stopping).await;
    if let Some(cluster) = node.cluster.get() {
        cluster.leave().await;
    }
}

type SignalHandlers = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

/// SIGTERM and SIGINT handlers, installed now.
fn signal_handlers() -> anyhow::Result<SignalHandlers> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok((term, int))
}

/// The first SIGTERM or SIGINT leaves gracefully (the node hands its slots over first, see
/// `handoff`); a second one shuts down at once.
async fn shutdown_on_signal(node: Arc<Node>, (mut term, mut int): SignalHandlers) {
    let mut first = true;
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        if first {
            tracing::warn!("Received {name}, scheduling shutdown");
            node.leave();
            first = false;
        } else {
            tracing::warn!("Received {name} again, shutting down now");
            node.shutdown();
        }
    }
}
