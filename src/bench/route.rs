//! Name-server and admin calls: topic route, cluster masters, topic creation, queue offsets.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rmq_codec::body::{BrokerData, ClusterInfo, TopicRouteData};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader,
    OffsetResponseHeader,
};

use crate::remoting::client::RemotingClient;

const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a freshly created topic may take to show up in the name server.
const ROUTE_WAIT: Duration = Duration::from_secs(20);
/// PermName bits.
const PERM_WRITE: i64 = 2;
const PERM_READ: i64 = 4;

/// The queues one broker serves for the topic, with its master address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerQueues {
    pub name: String,
    pub addr: String,
    pub write_queues: i32,
    pub read_queues: i32,
}

fn check(response: &RemotingCommand, what: &str) -> anyhow::Result<()> {
    if response.code == i32::from(ResponseCode::Success) {
        return Ok(());
    }
    bail!(
        "{what}: response code {} ({})",
        response.code,
        response.remark.as_deref().unwrap_or("")
    )
}

/// Sends `request` to the first name server of `namesrv` (`a;b;c`) that answers.
async fn ask_namesrv(
    client: &RemotingClient,
    namesrv: &str,
    request: RemotingCommand,
) -> anyhow::Result<RemotingCommand> {
    let mut last_error = anyhow!("no name server address in {namesrv:?}");
    for addr in namesrv.split(';').map(str::trim).filter(|a| !a.is_empty()) {
        match client.invoke(addr, request.clone(), ADMIN_TIMEOUT).await {
            Ok(response) => return Ok(response),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// Parses a `TopicRouteData` body (fastjson or standard JSON) into the master brokers' queues.
pub fn parse_route(body: &[u8]) -> anyhow::Result<Vec<BrokerQueues>> {
    let route = TopicRouteData::decode(body).context("route body")?;
    let mut out = Vec::new();
    for queue in &route.queue_datas {
        let broker = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == queue.broker_name);
        let Some(addr) = broker.and_then(BrokerData::master_addr) else {
            continue; // no master: nothing to send to or pull from
        };
        let perm = i64::from(queue.perm);
        let count = |n: i32, bit: i64| if perm & bit != 0 { n } else { 0 };
        out.push(BrokerQueues {
            name: queue.broker_name.clone(),
            addr: addr.to_string(),
            write_queues: count(queue.write_queue_nums, PERM_WRITE),
            read_queues: count(queue.read_queue_nums, PERM_READ),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// GET_ROUTEINFO_BY_TOPIC; `None` when the name server does not know the topic.
pub async fn topic_route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
) -> anyhow::Result<Option<Vec<BrokerQueues>>> {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_string(),
        accept_standard_json_only: None,
    };
    let request =
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic, header.to_ext_fields());
    let response = ask_namesrv(client, namesrv, request).await?;
    if response.code == i32::from(ResponseCode::TopicNotExist) {
        return Ok(None);
    }
    check(&response, "GET_ROUTEINFO_BY_TOPIC")?;
    let brokers = parse_route(&response.body)?;
    Ok(Some(brokers).filter(|b| !b.is_empty()))
}

/// GET_BROKER_CLUSTER_INFO: every master address the name server knows.
async fn master_brokers(client: &RemotingClient, namesrv: &str) -> anyhow::Result<Vec<String>> {
    let request =
        RemotingCommand::new_request(RequestCode::GetBrokerClusterInfo, Default::default());
    let response = ask_namesrv(client, namesrv, request).await?;
    check(&response, "GET_BROKER_CLUSTER_INFO")?;
    let info = ClusterInfo::decode(&response.body).context("cluster info body")?;
    Ok(info
        .broker_addr_table
        .values()
        .filter_map(|data| data.master_addr().map(str::to_string))
        .collect())
}

/// UPDATE_AND_CREATE_TOPIC on one broker.
async fn create_topic(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queues: i32,
) -> anyhow::Result<()> {
    let header = CreateTopicRequestHeader {
        topic: topic.to_string(),
        default_topic: "TBW102".to_string(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: (PERM_READ | PERM_WRITE) as i32,
        topic_filter_type: "SINGLE_TAG".to_string(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    };
    let request =
        RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, header.to_ext_fields());
    let response = client.invoke(addr, request, ADMIN_TIMEOUT).await?;
    check(&response, &format!("UPDATE_AND_CREATE_TOPIC on {addr}"))
}

/// The topic's route, creating the topic with `queues` queues on every master first when it is missing.
pub async fn ensure_route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
    queues: i32,
) -> anyhow::Result<Vec<BrokerQueues>> {
    if let Some(route) = topic_route(client, namesrv, topic).await? {
        return Ok(route);
    }
    // A broker that has just started may not have registered yet.
    let deadline = tokio::time::Instant::now() + ROUTE_WAIT;
    let masters = loop {
        let masters = master_brokers(client, namesrv).await?;
        if !masters.is_empty() {
            break masters;
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("the name server at {namesrv} knows no broker after {ROUTE_WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for addr in &masters {
        create_topic(client, addr, topic, queues).await?;
    }
    eprintln!(
        "created topic {topic} with {queues} queues on {}",
        masters.join(", ")
    );
    // Brokers register the new topic with the name server asynchronously.
    let deadline = tokio::time::Instant::now() + ROUTE_WAIT;
    loop {
        if let Some(route) = topic_route(client, namesrv, topic).await? {
            return Ok(route);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("topic {topic} was created but has no route after {ROUTE_WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Routes of the `count` topics the sends are spread over: `topic` itself when `count` is 1, else
/// `topic-0`..`topic-{count-1}`. The first goes through [`ensure_route`]; the others are created on the
/// same brokers without waiting for the name server (producers send to broker addresses directly), so
/// a thousand topics cost a thousand UPDATE_AND_CREATE_TOPIC calls, not a thousand registrations.
pub async fn ensure_topics(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
    count: usize,
    queues: i32,
) -> anyhow::Result<Vec<(String, Vec<BrokerQueues>)>> {
    if count <= 1 {
        let route = ensure_route(client, namesrv, topic, queues).await?;
        return Ok(vec![(topic.to_string(), route)]);
    }
    let names: Vec<String> = (0..count).map(|i| format!("{topic}-{i}")).collect();
    let first = ensure_route(client, namesrv, &names[0], queues).await?;
    for name in &names[1..] {
        for broker in first.iter().filter(|b| b.write_queues > 0) {
            create_topic(client, &broker.addr, name, first_queue_count(&first)).await?;
        }
    }
    eprintln!(
        "created topics {topic}-1..{topic}-{} like {}",
        count - 1,
        names[0]
    );
    Ok(names
        .into_iter()
        .map(|name| (name, first.clone()))
        .collect())
}

/// The write queue count of an existing route, so every topic gets the same shape as the first.
fn first_queue_count(route: &[BrokerQueues]) -> i32 {
    route
        .iter()
        .map(|b| b.write_queues)
        .max()
        .unwrap_or(1)
        .max(1)
}

/// GET_MAX_OFFSET: the next offset to be written in a queue.
pub async fn max_offset(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
) -> anyhow::Result<i64> {
    let header = GetMaxOffsetRequestHeader {
        topic: topic.to_string(),
        queue_id,
        committed: None,
    };
    let request = RemotingCommand::new_request(RequestCode::GetMaxOffset, header.to_ext_fields());
    let response = client.invoke(addr, request, ADMIN_TIMEOUT).await?;
    check(&response, "GET_MAX_OFFSET")?;
    Ok(OffsetResponseHeader::decode(&response.ext_fields)?.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fastjson_and_standard_routes() {
        let fastjson = br#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"b","cluster":"c"},{"brokerAddrs":{1:"x:1"},"brokerName":"slaveonly"}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":8},{"brokerName":"slaveonly","perm":6,"readQueueNums":4,"writeQueueNums":4}]}"#;
        let route = parse_route(fastjson).unwrap();
        assert_eq!(
            route,
            vec![BrokerQueues {
                name: "b".into(),
                addr: "127.0.0.1:10911".into(),
                write_queues: 8,
                read_queues: 4,
            }]
        );
        let standard = br#"{"brokerDatas":[{"brokerAddrs":{"0":"h:2"},"brokerName":"a"}],"queueDatas":[{"brokerName":"a","perm":4,"readQueueNums":2,"writeQueueNums":2}]}"#;
        let route = parse_route(standard).unwrap();
        assert_eq!(route[0].addr, "h:2");
        assert_eq!(route[0].write_queues, 0, "perm 4 is read-only");
        assert_eq!(route[0].read_queues, 2);
        assert!(parse_route(b"{not json").is_err());
    }
}
