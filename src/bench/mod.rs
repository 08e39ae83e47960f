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
//! - [`ceiling`]: loopback echo and append + fdatasync loops, the machine's limits (no broker).
//! - [`grpc`]: produce and consume through a 5.x gRPC endpoint (`--grpc`).

mod args;
mod ceiling;
mod consume;
mod e2e;
mod grpc;
mod produce;
mod report;
mod route;
mod template;

use std::sync::atomic::{AtomicU64, Ordering};
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
    if args.mode == Mode::EchoServer {
        return ceiling::echo_server(args.port).await;
    }
    let admin = RemotingClient::new();
    let routes = if args.mode.needs_broker() {
        route::ensure_topics(&admin, &args.namesrv, &args.topic, args.topics, args.queues).await?
    } else {
        Vec::new()
    };
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut workers = JoinSet::new();
    match args.mode {
        Mode::Produce | Mode::Consume if args.grpc.is_some() => {
            spawn_grpc(&args, deadline, &stats, &mut workers)
        }
        Mode::Produce => spawn_producers(&args, &routes, deadline, &stats, &mut workers)?,
        Mode::Consume => {
            let (topic, route) = &routes[0];
            let cursors = consume::start_cursors(&admin, route, topic, args.from_start).await?;
            let latency = consume::LatencyKind::PullRoundTrip;
            let pull = PullPlan {
                topic,
                deadline,
                latency,
            };
            spawn_pullers(&args, cursors, &pull, &stats, &mut workers);
        }
        Mode::E2e => workers = e2e::start(&args, &admin, &routes, &stats).await?,
        Mode::Echo => ceiling::spawn_echo(&args, deadline, &stats, &mut workers),
        Mode::Disk => ceiling::spawn_disk(&args, args.duration, &stats, &mut workers),
        Mode::EchoServer => unreachable!("handled above"),
    }
    let until = finish(workers, stats.clone(), args.count, args.mode);
    let totals = report::progress(stats.clone(), args.mode, args.json, until).await;
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

/// Resolves when every worker is done, or as soon as `count` messages were sent (produce) or received
/// (consume, e2e); the remaining workers are then dropped, which aborts them.
async fn finish(
    workers: JoinSet<anyhow::Result<()>>,
    stats: Arc<Stats>,
    count: Option<u64>,
    mode: Mode,
) {
    let Some(count) = count else {
        return join_all(workers).await;
    };
    let counter = match mode {
        Mode::Consume | Mode::E2e => &stats.recv.messages,
        _ => &stats.send.messages,
    };
    let reached = async {
        while counter.load(Ordering::Relaxed) < count {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = join_all(workers) => {}
        _ = reached => {}
    }
}

async fn join_all(mut workers: JoinSet<anyhow::Result<()>>) {
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("rmqd bench: worker failed: {error:#}"),
            Err(error) if error.is_cancelled() => {}
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

/// The topics connection `thread` sends to: every `threads`-th topic starting at its own index, so
/// the load covers all topics when there are more topics than connections.
fn topics_of(thread: usize, threads: usize, topics: usize) -> Vec<usize> {
    if topics <= threads {
        vec![thread % topics]
    } else {
        (thread..topics).step_by(threads).collect()
    }
}

/// Starts `args.threads` producer connections, spread round-robin over the brokers with write queues
/// and over the topics of `routes` (all with the same brokers).
fn spawn_producers(
    args: &BenchArgs,
    routes: &[(String, Vec<BrokerQueues>)],
    deadline: Instant,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let (_, route) = &routes[0];
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
    // `--count` for produce: exactly that many messages, in requests of `batch` (the last one full).
    let requests_left = match args.mode {
        Mode::Produce => args
            .count
            .map(|n| Arc::new(AtomicU64::new(n.div_ceil(args.batch as u64)))),
        _ => None,
    };
    for thread in 0..args.threads {
        let broker = writable[thread % writable.len()];
        let templates = topics_of(thread, args.threads, routes.len())
            .into_iter()
            .map(|index| {
                template::Template::build(&template::TemplateSpec {
                    topic: &routes[index].0,
                    producer_group: PRODUCER_GROUP,
                    size_bytes: args.size_bytes,
                    batch: args.batch,
                    uniq_prefix: uniq_prefix(thread),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Queue ids are written with four digits (see `template`).
        let queue_ids = (0..broker.write_queues.min(9999)).collect();
        let plan = produce::ProducerPlan {
            addr: broker.addr.clone(),
            queue_ids,
            templates,
            inflight: args.inflight,
            requests_per_s: per_connection,
            deadline,
            requests_left: requests_left.clone(),
        };
        set.spawn(produce::run(plan, stats.clone()));
    }
    Ok(())
}

/// `args.threads` gRPC workers, each with its own channel and client id (`--grpc`).
fn spawn_grpc(
    args: &BenchArgs,
    deadline: Instant,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) {
    let endpoint = args.grpc.clone().unwrap_or_default();
    for worker in 0..args.threads {
        let stats = stats.clone();
        if args.mode == Mode::Produce {
            let plan = grpc::SendPlan {
                endpoint: endpoint.clone(),
                worker,
                topic: args.topic.clone(),
                body: vec![b'x'; args.size_bytes],
                batch: args.batch,
                inflight: args.inflight,
                deadline,
            };
            set.spawn(grpc::produce(plan, stats));
        } else {
            let plan = grpc::ReceivePlan {
                endpoint: endpoint.clone(),
                worker,
                topic: args.topic.clone(),
                group: args.group.clone(),
                deadline,
            };
            set.spawn(grpc::consume(plan, stats));
        }
    }
}

/// What the pullers of one run share.
struct PullPlan<'a> {
    topic: &'a str,
    deadline: Instant,
    latency: consume::LatencyKind,
}

fn spawn_pullers(
    args: &BenchArgs,
    cursors: Vec<consume::QueueCursor>,
    pull: &PullPlan,
    stats: &Arc<Stats>,
    set: &mut JoinSet<anyhow::Result<()>>,
) {
    let clients: Vec<Arc<RemotingClient>> = (0..args.threads)
        .map(|_| Arc::new(RemotingClient::new()))
        .collect();
    for (index, cursor) in cursors.into_iter().enumerate() {
        let puller = consume::Puller {
            client: clients[index % clients.len()].clone(),
            topic: pull.topic.to_string(),
            group: args.group.clone(),
            cursor,
            latency: pull.latency,
            deadline: pull.deadline,
        };
        let stats = stats.clone();
        let hist = stats.recv.recorder();
        set.spawn(async move {
            consume::run(puller, stats, hist).await;
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::topics_of;

    #[test]
    fn topics_cover_every_topic_once() {
        let mut all: Vec<usize> = (0..16).flat_map(|t| topics_of(t, 16, 1000)).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(topics_of(5, 16, 1), vec![0]);
        assert_eq!(topics_of(5, 16, 4), vec![1]);
    }
}
