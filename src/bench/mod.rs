//! `rmqd bench`: a load generator speaking the remoting protocol to any RocketMQ broker (Java or rmqd),
//! like the Java distribution's benchmark Producer and Consumer.
//!
//! Layout:
//! - [`args`]: the command line.
//! - [`route`]: name-server lookups, topic creation, queue offsets (through the broker's own client).
//! - [`template`]: a send request encoded once and patched per send.
//! - [`produce`]: one pipelined producer connection.
//! - [`consume`]: long-polling pullers, one per queue.
//! - [`e2e`]: producer at a fixed rate plus consumer, latency from the send time in the body.
//! - [`report`]: counters, HDR histograms, progress lines, the summary (text or JSON).

mod args;
mod consume;
mod e2e;
mod produce;
mod report;
mod route;
mod template;

use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::remoting::client::RemotingClient;
use args::{ArgsError, BenchArgs, Mode};
use report::Stats;
use route::BrokerQueues;

pub use args::USAGE;

/// Producer group of every send (the Java benchmark uses a fixed one too).
const PRODUCER_GROUP: &str = "rmqd_bench_producer";

/// Runs `rmqd bench ARGS...`; returns the process exit code.
pub fn main(args: impl IntoIterator<Item = String>) -> i32 {
    let args = match BenchArgs::parse(args) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return 0;
        }
        Err(error) => {
            eprintln!("rmqd bench: {error}\n{USAGE}");
            return 2;
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(args)));
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rmqd bench: {error:#}");
            1
        }
    }
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let admin = RemotingClient::new();
    let route = route::ensure_route(&admin, &args.namesrv, &args.topic, args.queues).await?;
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let workers = match args.mode {
        Mode::Produce => {
            let mut set = JoinSet::new();
            spawn_producers(&args, &route, started + args.duration, &stats, &mut set)?;
            set
        }
        Mode::Consume => {
            let cursors =
                consume::start_cursors(&admin, &route, &args.topic, args.from_start).await?;
            let mut set = JoinSet::new();
            let deadline = started + args.duration;
            let latency = consume::LatencyKind::PullRoundTrip;
            spawn_pullers(&args, cursors, deadline, latency, &stats, &mut set);
            set
        }
        Mode::E2e => e2e::start(&args, &admin, &route, &stats).await?,
    };
    let totals = report::progress(stats.clone(), args.mode, args.json, join_all(workers)).await;
    // The drain after the deadline (and e2e's receive grace) is not part of the measured run.
    let elapsed = started.elapsed().min(args.duration);
    if args.json {
        let summary = report::summary_json(&args, &stats, &totals, elapsed);
        println!("{summary}");
    } else {
        print!("{}", report::summary_text(&args, &stats, &totals, elapsed));
    }
    Ok(())
}

async fn join_all(mut workers: JoinSet<anyhow::Result<()>>) {
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("rmqd bench: worker failed: {error:#}"),
            Err(error) => eprintln!("rmqd bench: worker panicked: {error}"),
        }
    }
}

/// A process-wide value for the first half of every UNIQ_KEY, so two runs do not collide.
fn uniq_prefix(connection: usize) -> u64 {
    let pid = u64::from(std::process::id());
    let clock = produce::epoch_us() & 0xFFFF_FFFF;
    (pid << 48) ^ (clock << 16) ^ connection as u64
}

/// Starts `args.threads` producer connections, spread round-robin over the brokers with write queues.
fn spawn_producers(
    args: &BenchArgs,
    route: &[BrokerQueues],
    deadline: Instant,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let writable: Vec<&BrokerQueues> = route.iter().filter(|b| b.write_queues > 0).collect();
    if writable.is_empty() {
        bail!("topic {} has no writable queue", args.topic);
    }
    if args.threads < writable.len() {
        eprintln!(
            "note: {} threads for {} brokers: some brokers get no load",
            args.threads,
            writable.len()
        );
    }
    // Rate in requests per second per connection (a batch request carries `batch` messages).
    let per_connection = args
        .rate
        .map(|rate| rate as f64 / args.batch as f64 / args.threads as f64);
    for thread in 0..args.threads {
        let broker = writable[thread % writable.len()];
        let template = template::Template::build(&template::TemplateSpec {
            topic: &args.topic,
            producer_group: PRODUCER_GROUP,
            size_bytes: args.size_bytes,
            batch: args.batch,
            uniq_prefix: uniq_prefix(thread),
        })?;
        // Queue ids are written with four digits (see `template`).
        let queue_ids = (0..broker.write_queues.min(9999)).collect();
        let plan = produce::ProducerPlan {
            addr: broker.addr.clone(),
            queue_ids,
            template,
            inflight: args.inflight,
            requests_per_s: per_connection,
            deadline,
        };
        set.spawn(produce::run(plan, stats.clone()));
    }
    Ok(())
}

/// One puller per queue; queues share `args.threads` connections (one client each).
fn spawn_pullers(
    args: &BenchArgs,
    cursors: Vec<consume::QueueCursor>,
    deadline: Instant,
    latency: consume::LatencyKind,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) {
    let clients: Vec<Arc<RemotingClient>> = (0..args.threads)
        .map(|_| Arc::new(RemotingClient::new()))
        .collect();
    for (index, cursor) in cursors.into_iter().enumerate() {
        let puller = consume::Puller {
            client: clients[index % clients.len()].clone(),
            topic: args.topic.clone(),
            group: args.group.clone(),
            cursor,
            latency,
            deadline,
        };
        let stats = stats.clone();
        let hist = stats.recv.recorder();
        set.spawn(async move {
            consume::run(puller, stats, hist).await;
            Ok(())
        });
    }
}
