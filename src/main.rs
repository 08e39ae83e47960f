//! `rmqd`: the command line. The roles themselves live in the library (`src/lib.rs`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use rmqd::launch::Running;
use rmqd::{bench, config, remoting};

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

async fn run(args: Args) -> anyhow::Result<()> {
    let config_path = args.config.as_deref();
    let running = match args.role {
        Role::Namesrv => Running::namesrv(config::load_namesrv(config_path)?).await?,
        Role::Broker => {
            let mut broker = config::load_broker(config_path)?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            if let Some(addr) = args.namesrv.or_else(|| std::env::var("NAMESRV_ADDR").ok()) {
                broker.namesrv_addr = Some(addr);
            }
            if broker.namesrv_addrs().is_empty() {
                tracing::warn!("no name server configured (namesrvAddr, -n or NAMESRV_ADDR)");
            }
            Running::broker(broker).await?
        }
        Role::Standalone => {
            let (mut broker, namesrv) = config::load_standalone(config_path)?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            if let Some(extra) = args.namesrv {
                broker.namesrv_addr = Some(extra);
            }
            Running::standalone(broker, namesrv).await?
        }
    };
    let timeout = running
        .broker
        .as_ref()
        .map_or(Duration::from_secs(10), |b| {
            Duration::from_millis(b.config.shutdown_timeout_ms)
        });
    wait_for_shutdown_signal().await;
    running.stop(timeout).await;
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
