//! Server-side rebalance of 5.x clients that set `clientRebalance=false`: SET_MESSAGE_REQUEST_MODE (401)
//! records whether a group consumes a topic by PULL or POP (`config/messageRequestMode.json`, Java's
//! file and format); QUERY_ASSIGNMENT (400) hands the client its queues with that mode. A POP group
//! gets one queue with id -1 per broker: every member pops every queue (popShareQueueNum 0).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_codec::command::RemotingCommand;
use rmq_store::config::{perm, PersistedFile, Persister};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::broker::topics::RETRY_GROUP_TOPIC_PREFIX;
use crate::broker::{ok, Broker, Reply};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// Fields in fastjson's order (alphabetical), as Java's `SetMessageRequestModeRequestBody` is written.
pub struct RequestMode {
    pub consumer_group: String,
    /// "PULL" or "POP".
    #[serde(default = "pull")]
    pub mode: String,
    #[serde(default)]
    pub pop_share_queue_num: i32,
    pub topic: String,
}

fn pull() -> String {
    "PULL".into()
}

/// `messageRequestMode.json` and the body of GET_ALL_MESSAGE_REQUEST_MODE (Java's
/// `MessageRequestModeManager`).
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeFile {
    /// topic -> group -> mode.
    #[serde(default)]
    message_request_mode_map: BTreeMap<String, BTreeMap<String, RequestMode>>,
}

pub struct RequestModes {
    file: Arc<Mutex<ModeFile>>,
    persisted: PersistedFile,
}

impl RequestModes {
    pub fn load(config_dir: &Path, persister: &Persister) -> anyhow::Result<Self> {
        let path = config_dir.join("messageRequestMode.json");
        let file = Arc::new(Mutex::new(super::load_json(&path)?.unwrap_or_default()));
        let persisted = {
            let file = Arc::clone(&file);
            persister.register(path.clone(), move || {
                super::json_document(&path, &*file.lock())
            })
        };
        Ok(RequestModes { file, persisted })
    }

    pub fn get(&self, topic: &str, group: &str) -> Option<RequestMode> {
        self.file
            .lock()
            .message_request_mode_map
            .get(topic)?
            .get(group)
            .cloned()
    }

    /// GET_ALL_MESSAGE_REQUEST_MODE (402): `MessageRequestModeManager.encode()`.
    pub fn encode(&self) -> String {
        serde_json::to_string(&*self.file.lock()).unwrap_or_default()
    }

    /// A slave's copy of its master's modes (5.3.3 `SlaveSynchronize.syncMessageRequestMode`): modes the
    /// master lacks are dropped, the master's replace the rest, and the file is persisted.
    pub fn take_from_master(&self, master: ModeFile) {
        self.file.lock().message_request_mode_map = master.message_request_mode_map;
        self.persisted.mark_changed();
    }

    fn set(&self, mode: RequestMode) {
        self.file
            .lock()
            .message_request_mode_map
            .entry(mode.topic.clone())
            .or_default()
            .insert(mode.consumer_group.clone(), mode);
        self.persisted.mark_changed();
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryAssignmentBody {
    topic: String,
    consumer_group: String,
    client_id: String,
    #[serde(default)]
    strategy_name: Option<String>,
    #[serde(default)]
    message_model: Option<String>,
}

/// `AllocateMessageQueueAveragely` ("AVG") and `...AveragelyByCircle` ("AVG_BY_CIRCLE") over sorted
/// queue ids and client ids; None for other strategies, which Java also refuses.
pub fn allocate(strategy: &str, queues: &[i32], cids: &[String], me: &str) -> Option<Vec<i32>> {
    let Some(index) = cids.iter().position(|c| c == me) else {
        return Some(Vec::new());
    };
    let (n, k) = (queues.len(), cids.len());
    match strategy {
        "AVG" => {
            let rem = n % k;
            let size = if n <= k {
                1
            } else if rem > 0 && index < rem {
                n / k + 1
            } else {
                n / k
            };
            let start = if rem > 0 && index < rem {
                index * size
            } else {
                index * size + rem
            };
            let range = size.min(n.saturating_sub(start));
            Some(queues[start.min(n)..start.min(n) + range].to_vec())
        }
        "AVG_BY_CIRCLE" => Some(queues.iter().skip(index).step_by(k).copied().collect()),
        _ => None,
    }
}

impl Broker {
    /// SET_MESSAGE_REQUEST_MODE (401): body `SetMessageRequestModeRequestBody`.
    pub(in crate::broker) fn update_message_request_mode(&self, req: &RemotingCommand) -> Reply {
        let mode: RequestMode = serde_json::from_slice(&req.body).map_err(|e| {
            crate::broker::reply_error(
                rmq_codec::code::ResponseCode::SystemError,
                format!("bad SetMessageRequestModeRequestBody: {e}"),
            )
        })?;
        if mode.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return Err(crate::broker::reply_error(
                rmq_codec::code::ResponseCode::NoPermission,
                "retry topic is not allowed to set mode",
            ));
        }
        self.pop.modes.set(mode);
        Ok(ok())
    }

    /// QUERY_ASSIGNMENT (400): body `QueryAssignmentRequestBody`, answer `QueryAssignmentResponseBody`.
    pub(in crate::broker) fn query_assignment(&self, req: &RemotingCommand) -> Reply {
        let body: QueryAssignmentBody = serde_json::from_slice(&req.body).map_err(|e| {
            crate::broker::reply_error(
                rmq_codec::code::ResponseCode::SystemError,
                format!("bad QueryAssignmentRequestBody: {e}"),
            )
        })?;
        let pop = !body.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
            && self
                .pop
                .modes
                .get(&body.topic, &body.consumer_group)
                .is_some_and(|m| m.mode == "POP");
        let mode = if pop { "POP" } else { "PULL" };
        let assigned = self.assigned_queues(&body, pop);
        let mut resp = ok();
        let value = match assigned {
            None => json!({}),
            Some(ids) => {
                let list: Vec<_> = ids
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(|queue_id| {
                        json!({
                            "messageQueue": {
                                "topic": body.topic,
                                "brokerName": self.config.broker_name,
                                "queueId": queue_id,
                            },
                            "mode": mode,
                        })
                    })
                    .collect();
                json!({ "messageQueueAssignments": list })
            }
        };
        resp.body = serde_json::to_vec(&value).unwrap_or_default().into();
        Ok(resp)
    }

    /// Queue ids for the client; None (no answer, the client keeps what it has) when the topic or
    /// the group's members are unknown.
    fn assigned_queues(&self, body: &QueryAssignmentBody, pop: bool) -> Option<Vec<i32>> {
        let topic = self.topics.get(&body.topic)?;
        if !perm::is_readable(topic.perm) {
            return Some(Vec::new());
        }
        let queues: Vec<i32> = (0..topic.read_queue_nums).collect();
        if body.message_model.as_deref() == Some("BROADCASTING") {
            return Some(queues);
        }
        let mut cids = self.clients.lock().consumer_ids(&body.consumer_group);
        if cids.is_empty() {
            return None;
        }
        if pop {
            return Some(vec![-1]);
        }
        cids.sort();
        let strategy = body.strategy_name.as_deref().unwrap_or("AVG");
        allocate(strategy, &queues, &cids, &body.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn averagely_gives_the_first_clients_the_extra_queues() {
        let queues: Vec<i32> = (0..5).collect();
        let c = cids(2);
        assert_eq!(allocate("AVG", &queues, &c, "c0"), Some(vec![0, 1, 2]));
        assert_eq!(allocate("AVG", &queues, &c, "c1"), Some(vec![3, 4]));
        let many = cids(7);
        assert_eq!(allocate("AVG", &queues, &many, "c4"), Some(vec![4]));
        assert_eq!(allocate("AVG", &queues, &many, "c6"), Some(vec![]));
        assert_eq!(allocate("AVG", &queues, &c, "stranger"), Some(vec![]));
    }

    #[test]
    fn by_circle_deals_round_robin_and_unknown_strategies_are_refused() {
        let queues: Vec<i32> = (0..5).collect();
        let c = cids(2);
        assert_eq!(
            allocate("AVG_BY_CIRCLE", &queues, &c, "c1"),
            Some(vec![1, 3])
        );
        assert_eq!(allocate("MACHINE_ROOM", &queues, &c, "c1"), None);
    }

    #[test]
    fn modes_persist_in_javas_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persister = Persister::start().expect("starts");
        let modes = RequestModes::load(dir.path(), &persister).expect("loads");
        modes.set(RequestMode {
            topic: "T".into(),
            consumer_group: "G".into(),
            mode: "POP".into(),
            pop_share_queue_num: 0,
        });
        persister.flush().expect("written");
        let text =
            std::fs::read_to_string(dir.path().join("messageRequestMode.json")).expect("written");
        assert!(text.contains("\"messageRequestModeMap\""), "{text}");
        let again = RequestModes::load(dir.path(), &persister).expect("reloads");
        assert_eq!(again.get("T", "G").map(|m| m.mode), Some("POP".into()));
        assert_eq!(again.get("T", "other"), None);
    }
}
