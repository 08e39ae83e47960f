//! `rmqd`: the command line. The roles themselves live in the library (`src/lib.rs`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use rmq_codec::code::announce_version;
use rmqd::launch::Running;
use rmqd::{bench, config, remoting};

/// An Apache RocketMQ name server and broker, wire- and store-compatible with the Java ones.
///
/// Without a subcommand rmqd runs standalone: name server on 9876, broker on 10911, store under ./data.
#[derive(Parser)]
#[command(name = "rmqd", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    /// `rmqd -c broker.conf` is `rmqd standalone -c broker.conf`.
    #[command(flatten)]
    standalone: StandaloneArgs,
}

#[derive(Subcommand)]
enum Role {
    /// Name server and broker in one process (the default).
    Standalone(StandaloneArgs),
    /// The broker alone, like Java's mqbroker.
    Broker(BrokerArgs),
    /// The name server alone, like Java's mqnamesrv.
    Namesrv(NamesrvArgs),
    /// Load generator for any RocketMQ broker (`rmqd bench --help` lists its options).
    // bench parses its own options (src/bench/args.rs), --help included.
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// Offline tools on a stopped broker's store directory: `rmqd store verify DIR`, `rmqd store dump DIR`.
    /// They read only and open no listener.
    Store(rmqd::store_tools::StoreArgs),
}

#[derive(Args)]
struct StandaloneArgs {
    /// broker.conf (Java keys); namesrvListenPort sets the name server port [defaults: 9876, 10911, ./data]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Further name servers to register with besides the embedded one (host:port[;host:port])
    #[arg(short = 'n', long = "namesrv", value_name = "ADDR")]
    namesrv: Option<String>,
}

#[derive(Args)]
struct BrokerArgs {
    /// broker.conf (Java keys); without it the defaults, as Java's `mqbroker` without -c
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Name servers (host:port[;host:port]); overrides namesrvAddr and the NAMESRV_ADDR variable
    #[arg(short = 'n', long = "namesrv", value_name = "ADDR")]
    namesrv: Option<String>,
}

#[derive(Args)]
struct NamesrvArgs {
    /// namesrv.conf (Java keys); UPDATE_NAMESRV_CONFIG writes its changes back to it, as Java does.
    /// Without it the defaults, as Java's `mqnamesrv` without -c
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
}

async fn run(role: Role) -> anyhow::Result<()> {
    let running = match role {
        Role::Namesrv(args) => {
            let namesrv = config::load_namesrv(args.config.as_deref())?;
            announce_version(namesrv.mq_version);
            Running::namesrv(namesrv).await?
        }
        Role::Broker(args) => {
            let mut broker = config::load_broker(args.config.as_deref())?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            announce_version(broker.mq_version);
            if let Some(addr) = args.namesrv.or_else(|| std::env::var("NAMESRV_ADDR").ok()) {
                broker.namesrv_addr = Some(addr);
            }
            if broker.namesrv_addrs().is_empty() {
                tracing::warn!("no name server configured (namesrvAddr, -n or NAMESRV_ADDR)");
            }
            Running::broker(broker).await?
        }
        Role::Standalone(args) => {
            let (mut broker, namesrv) = config::load_standalone(args.config.as_deref())?;
            remoting::frame::init_process_budget(broker.max_inflight_frame_bytes);
            announce_version(broker.mq_version);
            if let Some(extra) = args.namesrv {
                broker.namesrv_addr = Some(extra);
            }
            Running::standalone(broker, namesrv).await?
        }
        Role::Bench { .. } | Role::Store(_) => unreachable!("runs without this runtime"),
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
    // Usage errors exit with 2 and --help / --version with 0, before anything is bound or created.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let role = cli.role.unwrap_or(Role::Standalone(cli.standalone));
    match role {
        Role::Bench { args } => std::process::exit(bench::main(args)),
        Role::Store(args) => std::process::exit(rmqd::store_tools::main(args)),
        role => run_broker_roles(role),
    }
}

fn run_broker_roles(role: Role) {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(role)));
    if let Err(e) = result {
        eprintln!("rmqd: {e:#}");
        std::process::exit(1);
    }
}
