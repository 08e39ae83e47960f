//! End to end: producers at a fixed rate and pullers in one process. The latency of a message is its
//! receive time minus the send time the producer wrote into its body (same clock, so no skew).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::args::BenchArgs;
use super::consume::{self, LatencyKind};
use super::report::Stats;
use super::route::BrokerQueues;
use crate::remoting::client::RemotingClient;

/// Pullers keep going this long after the producers stop, to receive what is still in flight.
const RECEIVE_GRACE: Duration = Duration::from_secs(2);

/// Takes the queues' current end offsets, then starts pullers from there and the producers.
pub async fn start(
    args: &BenchArgs,
    admin: &RemotingClient,
    routes: &[(String, Vec<BrokerQueues>)],
    stats: &Arc<Stats>,
) -> anyhow::Result<JoinSet<anyhow::Result<()>>> {
    // End-to-end latency is measured on the first topic only (spreading is a send-side scenario).
    let routes = &routes[..1];
    let (topic, route) = &routes[0];
    let cursors = consume::start_cursors(admin, route, topic, args.from_start).await?;
    let started = Instant::now();
    let mut set = JoinSet::new();
    let pull = super::PullPlan {
        topic,
        deadline: started + args.duration + RECEIVE_GRACE,
        latency: LatencyKind::EndToEnd,
    };
    super::spawn_pullers(args, cursors, &pull, stats, &mut set);
    super::spawn_producers(args, routes, started + args.duration, stats, &mut set)?;
    Ok(set)
}
