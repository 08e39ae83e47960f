//! `rmqd`: an Apache RocketMQ broker and name server, wire- and store-compatible with the Java ones.
//!
//! Layout:
//! - [`config`]: broker.conf / namesrv.conf parsing (Java property names).
//! - [`remoting`]: TCP listeners, per-connection tasks, the outbound client.
//! - [`namesrv`]: the name-server role (routes, broker liveness).
//! - [`broker`]: the broker role (send, pull, offsets, clients, registration) over the `rmq-store` crate.
//! - [`error`]: the one mapping from failures to RocketMQ response codes.
//! - [`acl`]: plain ACL (`aclEnable`): signature and permission checks before the broker dispatches.

mod acl;
mod bench;
mod broker;
mod config;
mod error;
mod namesrv;
mod remoting;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;

const USAGE: &str = "\
usage:
  rmqd [standalone] [-c broker.conf]     name server + broker in one process (defaults: name server 9876,
                                         broker 10911, store ./data); namesrvListenPort sets the name server port
  rmqd broker -c broker.conf [-n ADDR]   the broker alone (like mqbroker); ADDR = host:port[;host:port]
  rmqd namesrv [-c namesrv.conf]         the name server alone (like mqnamesrv)
  rmqd bench produce|consume|e2e ...     load generator for any RocketMQ broker (rmqd bench --help)";

enum Role {
    Standalone,
    Broker,
    Namesrv,
}

struct Args {
    role: Role,
    config: Option<PathBuf>,
    namesrv: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1).peekable();
    let role = match args.peek().map(String::as_str) {
        Some("standalone") => Role::Standalone,
        Some("broker") => Role::Broker,
        Some("namesrv") => Role::Namesrv,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        Some("-V" | "--version") => {
            println!("rmqd {}", env!("CARGO_PKG_VERSION"));
            std::process::exit(0);
        }
        _ => Role::Standalone,
    };
    if !matches!(args.peek().map(String::as_str), Some(s) if s.starts_with('-'))
        && args.peek().is_some()
    {
        args.next();
    }
    let mut parsed = Args {
        role,
        config: None,
        namesrv: None,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-c" => parsed.config = Some(args.next().context("-c needs a file")?.into()),
            "-n" => parsed.namesrv = Some(args.next().context("-n needs an address")?),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(parsed)
}

/// Java's listen backlog (`serverSocketBacklog`); tokio's default of 128 drops SYNs when many clients
/// connect at once, each costing the client a 1 s retransmit.
const LISTEN_BACKLOG: u32 = 1024;

async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    let listen = || -> std::io::Result<TcpListener> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)))?;
        socket.listen(LISTEN_BACKLOG)
    };
    listen().with_context(|| format!("cannot listen on port {port} for the {what}"))
}

async fn run_namesrv(config: config::NamesrvConfig) -> anyhow::Result<Arc<namesrv::NameServer>> {
    let listener = bind(config.listen_port, "name server").await?;
    let tls = config.tls.server()?;
    let ns = namesrv::NameServer::with_kv_config(config.kv_config_path.clone())?;
    ns.spawn_expiry(&config);
    let tls_mode = config.tls.effective_mode();
    tracing::info!(
        port = config.listen_port,
        ?tls_mode,
        "name server listening"
    );
    tokio::spawn(remoting::serve(listener, ns.clone(), tls));
    Ok(ns)
}

async fn run_broker(config: config::BrokerConfig) -> anyhow::Result<Arc<broker::Broker>> {
    let main_listener = bind(config.listen_port, "broker").await?;
    let vip_port = config
        .listen_port
        .checked_sub(2)
        .context("listenPort must be at least 2")?;
    let vip_listener = bind(vip_port, "broker VIP channel").await?;
    let started = std::time::Instant::now();
    let tls = config.tls.server()?;
    let tls_mode = config.tls.effective_mode();
    let broker = broker::Broker::open(config)?;
    broker.start();
    tokio::spawn(remoting::serve(main_listener, broker.clone(), tls.clone()));
    tokio::spawn(remoting::serve(vip_listener, broker.clone(), tls));
    tracing::info!(
        port = broker.config.listen_port,
        vip_port,
        ?tls_mode,
        store = %broker.config.store.root_dir.display(),
        namesrv = ?broker.config.namesrv_addr,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "broker started"
    );
    Ok(broker)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config_path = args.config.as_deref();
    let (namesrv, broker) = match args.role {
        Role::Namesrv => (
            Some(run_namesrv(config::load_namesrv(config_path)?).await?),
            None,
        ),
        Role::Broker => {
            let mut broker = config::load_broker(config_path)?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            if let Some(addr) = args.namesrv.or_else(|| std::env::var("NAMESRV_ADDR").ok()) {
                broker.namesrv_addr = Some(addr);
            }
            if broker.namesrv_addrs().is_empty() {
                tracing::warn!("no name server configured (namesrvAddr, -n or NAMESRV_ADDR)");
            }
            (None, Some(run_broker(broker).await?))
        }
        Role::Standalone => {
            let (mut broker, namesrv) = config::load_standalone(config_path)?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            let embedded = format!("127.0.0.1:{}", namesrv.listen_port);
            broker.namesrv_addr = Some(match args.namesrv.or(broker.namesrv_addr.take()) {
                Some(extra) if !extra.split(';').any(|a| a.trim() == embedded) => {
                    format!("{embedded};{extra}")
                }
                _ => embedded,
            });
            let namesrv = run_namesrv(namesrv).await?;
            (Some(namesrv), Some(run_broker(broker).await?))
        }
    };
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    if let Some(broker) = broker {
        broker.shutdown().await;
    }
    if let Some(namesrv) = namesrv {
        namesrv.shutdown();
    }
    Ok(())
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if std::env::args().nth(1).as_deref() == Some("bench") {
        std::process::exit(bench::main(std::env::args().skip(2)));
    }
    let result = parse_args().and_then(|args| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(run(args))
    });
    if let Err(e) = result {
        eprintln!("rmqd: {e:#}");
        std::process::exit(1);
    }
}
