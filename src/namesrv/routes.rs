//! The name server's routing state: which brokers exist, which topics they serve, and who is alive.
//!
//! Kept in memory only, like Java: brokers re-register every 30 s, so a restarted name server is whole
//! again within one period.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rmq_codec::header::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use rmq_store::config::perm;

/// A broker's queues for one topic (`QueueData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueData {
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

/// One broker name (a master and its slaves) (`BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// broker id (0 = master) -> "ip:port"
    pub addrs: BTreeMap<i64, String>,
}

/// `DataVersion`: the name server rebuilds a broker's queue data only when this changes.
pub use rmq_codec::body::DataVersion;

struct LiveBroker {
    last_update_ms: u64,
    timeout_ms: u64,
    data_version: DataVersion,
    connection_id: u64,
    ha_server_addr: String,
}

/// A topic's route: (broker name, its queues) pairs and the brokers they name.
pub type Route<'a> = (Vec<(&'a str, &'a QueueData)>, Vec<&'a BrokerData>);

/// What a registration carries besides its header.
pub struct Registration {
    pub data_version: DataVersion,
    pub topics: Vec<(String, QueueData)>,
}

/// Addresses a slave needs back from REGISTER_BROKER.
#[derive(Default)]
pub struct RegisterOutcome {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// Java's default broker expiry (`DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
const DEFAULT_BROKER_TIMEOUT_MS: u64 = 120_000;

#[derive(Default)]
pub struct RouteTable {
    clusters: BTreeMap<String, BTreeSet<String>>,
    brokers: BTreeMap<String, BrokerData>,
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    live: HashMap<String, LiveBroker>,
}

impl RouteTable {
    pub fn register(
        &mut self,
        header: &RegisterBrokerRequestHeader,
        registration: Registration,
        connection_id: u64,
        now_ms: u64,
    ) -> RegisterOutcome {
        let name = &header.broker_name;
        self.clusters
            .entry(header.cluster_name.clone())
            .or_default()
            .insert(name.clone());
        let broker = self
            .brokers
            .entry(name.clone())
            .or_insert_with(|| BrokerData {
                cluster: header.cluster_name.clone(),
                broker_name: name.clone(),
                addrs: BTreeMap::new(),
            });
        // A broker that moved to another id on the same address replaces its old entry.
        broker
            .addrs
            .retain(|id, addr| *addr != header.broker_addr || *id == header.broker_id);
        let first_registration = broker
            .addrs
            .insert(header.broker_id, header.broker_addr.clone())
            .is_none();

        let version_changed = self
            .live
            .get(&header.broker_addr)
            .is_none_or(|live| live.data_version != registration.data_version);
        if header.broker_id == 0 {
            for (topic, queue) in registration.topics {
                let per_broker = self.topics.entry(topic).or_default();
                if first_registration || version_changed || !per_broker.contains_key(name) {
                    per_broker.insert(name.clone(), queue);
                }
            }
        }
        self.live.insert(
            header.broker_addr.clone(),
            LiveBroker {
                last_update_ms: now_ms,
                timeout_ms: header
                    .heartbeat_timeout_millis
                    .filter(|t| *t > 0)
                    .map(|t| t as u64)
                    .unwrap_or(DEFAULT_BROKER_TIMEOUT_MS),
                data_version: registration.data_version,
                connection_id,
                ha_server_addr: header.ha_server_addr.clone(),
            },
        );
        let mut outcome = RegisterOutcome::default();
        if header.broker_id != 0 {
            if let Some(master) = self.brokers.get(name).and_then(|b| b.addrs.get(&0)) {
                outcome.master_addr = Some(master.clone());
                outcome.ha_server_addr = self.live.get(master).map(|l| l.ha_server_addr.clone());
            }
        }
        outcome
    }

    pub fn unregister(&mut self, header: &UnregisterBrokerRequestHeader) {
        self.remove_broker_addr(&header.broker_addr);
    }

    /// Whether the stored DataVersion for `broker_addr` differs from `version` (QUERY_DATA_VERSION).
    pub fn data_version_changed(
        &mut self,
        broker_addr: &str,
        version: DataVersion,
        now_ms: u64,
    ) -> bool {
        match self.live.get_mut(broker_addr) {
            // Java refreshes the broker's liveness only when nothing changed.
            Some(live) if live.data_version == version => {
                live.last_update_ms = now_ms;
                false
            }
            _ => true,
        }
    }

    /// The DataVersion of `broker_addr`'s last registration.
    pub fn data_version(&self, broker_addr: &str) -> Option<DataVersion> {
        self.live.get(broker_addr).map(|l| l.data_version)
    }

    /// Drops brokers whose last registration is older than their timeout. Returns their addresses.
    pub fn expire(&mut self, now_ms: u64) -> Vec<String> {
        let stale: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| now_ms.saturating_sub(l.last_update_ms) > l.timeout_ms)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &stale {
            self.remove_broker_addr(addr);
        }
        stale
    }

    /// Drops brokers that registered on a connection that just closed, as Java does on channel close.
    pub fn remove_connection(&mut self, connection_id: u64) -> Vec<String> {
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| l.connection_id == connection_id)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            self.remove_broker_addr(addr);
        }
        gone
    }

    fn remove_broker_addr(&mut self, addr: &str) {
        self.live.remove(addr);
        let mut emptied = Vec::new();
        let mut master_gone = Vec::new();
        for (name, broker) in self.brokers.iter_mut() {
            let before = broker.addrs.len();
            let was_master = broker.addrs.get(&0).is_some_and(|a| a == addr);
            broker.addrs.retain(|_, a| a != addr);
            if broker.addrs.len() != before {
                if was_master {
                    master_gone.push(name.clone());
                }
                if broker.addrs.is_empty() {
                    emptied.push((name.clone(), broker.cluster.clone()));
                }
            }
        }
        for (name, cluster) in &emptied {
            self.brokers.remove(name);
            if let Some(names) = self.clusters.get_mut(cluster) {
                names.remove(name);
                if names.is_empty() {
                    self.clusters.remove(cluster);
                }
            }
        }
        // Queue data belongs to the broker name; drop it once no master serves it.
        for name in emptied.iter().map(|(n, _)| n).chain(master_gone.iter()) {
            for per_broker in self.topics.values_mut() {
                per_broker.remove(name);
            }
        }
        self.topics.retain(|_, per_broker| !per_broker.is_empty());
    }

    /// Queue data and broker data for `topic`, or None when no broker serves it.
    pub fn route(&self, topic: &str) -> Option<Route<'_>> {
        let per_broker = self.topics.get(topic).filter(|m| !m.is_empty())?;
        let queues: Vec<(&str, &QueueData)> =
            per_broker.iter().map(|(n, q)| (n.as_str(), q)).collect();
        let brokers: Vec<&BrokerData> = per_broker
            .keys()
            .filter_map(|name| self.brokers.get(name))
            .collect();
        Some((queues, brokers))
    }

    pub fn clusters(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.clusters
    }

    pub fn brokers(&self) -> &BTreeMap<String, BrokerData> {
        &self.brokers
    }

    pub fn topic_names(&self) -> impl Iterator<Item = &String> {
        self.topics.keys()
    }

    /// Each topic with the `topicSysFlag` of its first queue data (by broker name).
    pub fn first_sys_flags(&self) -> impl Iterator<Item = (&String, i32)> {
        self.topics.iter().filter_map(|(topic, per_broker)| {
            let first = per_broker.values().next()?;
            Some((topic, first.topic_sys_flag))
        })
    }

    /// Topics served by any broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(names) = self.clusters.get(cluster) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .filter(|(_, per_broker)| per_broker.keys().any(|b| names.contains(b)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    pub fn delete_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
    }

    /// WIPE_WRITE_PERM_OF_BROKER (`writable` false: the write bit cleared) and ADD_WRITE_PERM_OF_BROKER
    /// (`writable` true: read-write, whatever the perm was) on every topic `broker_name` serves, as
    /// `RouteInfoManager.operateWritePermOfBroker`. Returns how many topics that is. The change lasts until
    /// the broker registers a new DataVersion, which rebuilds its queue data.
    pub fn grant_write(&mut self, broker_name: &str, writable: bool) -> i32 {
        let mut topics = 0;
        for queue in self
            .topics
            .values_mut()
            .filter_map(|b| b.get_mut(broker_name))
        {
            queue.perm = if writable {
                perm::READ | perm::WRITE
            } else {
                queue.perm & !perm::WRITE
            };
            topics += 1;
        }
        topics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, addr: &str, id: i64) -> RegisterBrokerRequestHeader {
        RegisterBrokerRequestHeader {
            broker_name: name.into(),
            broker_addr: addr.into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "127.0.0.1:10912".into(),
            broker_id: id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: false,
            body_crc32: 0,
        }
    }

    fn queues(n: i32) -> QueueData {
        QueueData {
            read_queue_nums: n,
            write_queue_nums: n,
            perm: 6,
            topic_sys_flag: 0,
        }
    }

    fn registration(counter: i64, topics: &[(&str, i32)]) -> Registration {
        Registration {
            data_version: DataVersion {
                counter,
                ..Default::default()
            },
            topics: topics
                .iter()
                .map(|(t, n)| (t.to_string(), queues(*n)))
                .collect(),
        }
    }

    #[test]
    fn queue_data_changes_only_with_a_new_data_version() {
        let mut table = RouteTable::default();
        let h = header("broker-a", "127.0.0.1:10911", 0);
        table.register(&h, registration(1, &[("T", 4)]), 1, 0);
        table.register(&h, registration(1, &[("T", 8)]), 1, 10);
        assert_eq!(table.route("T").unwrap().0[0].1.read_queue_nums, 4);
        table.register(&h, registration(2, &[("T", 8)]), 1, 20);
        assert_eq!(table.route("T").unwrap().0[0].1.read_queue_nums, 8);
    }

    #[test]
    fn query_data_version_compares_with_the_last_registration() {
        let mut table = RouteTable::default();
        let h = header("broker-a", "127.0.0.1:10911", 0);
        table.register(&h, registration(5, &[("T", 4)]), 1, 0);
        let stored = table.data_version("127.0.0.1:10911").expect("registered");
        assert_eq!(stored.counter, 5);
        assert!(table.data_version_changed("127.0.0.1:10911", DataVersion::default(), 10));
        assert!(!table.data_version_changed("127.0.0.1:10911", stored, 20));
        assert!(
            table.data_version_changed("127.0.0.1:1", stored, 30),
            "unknown broker"
        );
        assert_eq!(table.data_version("127.0.0.1:1"), None);
    }

    #[test]
    fn brokers_expire_and_vanish_with_their_connection() {
        let mut table = RouteTable::default();
        table.register(&header("a", "h:1", 0), registration(1, &[("T", 4)]), 7, 0);
        table.register(
            &header("b", "h:2", 0),
            registration(1, &[("T", 4)]),
            8,
            100_000,
        );
        assert_eq!(table.expire(130_000), vec!["h:1".to_string()]);
        assert_eq!(table.route("T").unwrap().1.len(), 1);
        assert_eq!(table.remove_connection(8), vec!["h:2".to_string()]);
        assert!(table.route("T").is_none());
        assert!(table.clusters().is_empty());
    }

    #[test]
    fn slave_learns_its_master() {
        let mut table = RouteTable::default();
        table.register(&header("a", "h:1", 0), registration(1, &[]), 1, 0);
        let out = table.register(&header("a", "h:3", 1), registration(1, &[]), 2, 0);
        assert_eq!(out.master_addr.as_deref(), Some("h:1"));
        assert_eq!(out.ha_server_addr.as_deref(), Some("127.0.0.1:10912"));
    }

    #[test]
    fn write_perm_is_wiped_and_added_per_broker_name_until_a_new_data_version() {
        let mut table = RouteTable::default();
        let a = header("a", "h:1", 0);
        table.register(&a, registration(1, &[("T", 4), ("U", 4)]), 1, 0);
        table.register(&header("b", "h:2", 0), registration(1, &[("T", 4)]), 2, 0);
        let perm_of = |table: &RouteTable, topic: &str, broker: &str| {
            let (queues, _) = table.route(topic).unwrap();
            queues.iter().find(|(b, _)| *b == broker).unwrap().1.perm
        };

        assert_eq!(table.grant_write("a", false), 2);
        assert_eq!(perm_of(&table, "T", "a"), perm::READ);
        assert_eq!(perm_of(&table, "U", "a"), perm::READ);
        assert_eq!(perm_of(&table, "T", "b"), 6, "other brokers keep theirs");
        // The periodic registration with the same DataVersion keeps the wiped permission.
        table.register(&a, registration(1, &[("T", 4), ("U", 4)]), 1, 10);
        assert_eq!(perm_of(&table, "T", "a"), perm::READ);

        assert_eq!(table.grant_write("a", true), 2);
        assert_eq!(perm_of(&table, "T", "a"), 6);
        assert_eq!(table.grant_write("nobody", false), 0);

        table.grant_write("a", false);
        table.register(&a, registration(2, &[("T", 4), ("U", 4)]), 1, 20);
        assert_eq!(
            perm_of(&table, "T", "a"),
            6,
            "a new DataVersion rebuilds the queue data"
        );
    }

    #[test]
    fn adding_write_perm_makes_a_write_only_or_priority_topic_read_write() {
        let mut table = RouteTable::default();
        let mut reg = registration(1, &[("T", 4)]);
        reg.topics[0].1.perm = perm::WRITE | perm::PRIORITY;
        table.register(&header("a", "h:1", 0), reg, 1, 0);
        assert_eq!(table.grant_write("a", true), 1);
        assert_eq!(
            table.route("T").unwrap().0[0].1.perm,
            perm::READ | perm::WRITE
        );
    }
}
