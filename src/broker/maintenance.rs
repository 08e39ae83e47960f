//! Operator maintenance requests of Java's `AdminBrokerProcessor`: CLONE_GROUP_OFFSET (314, mqadmin
//! cloneGroupOffset).

use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CloneGroupOffsetRequestHeader, CommandHeader};

use super::{ok, Broker, Reply};

impl Broker {
    /// CLONE_GROUP_OFFSET (314): copies the source group's committed offsets to the destination group, for
    /// the header's topic or, when it is blank, each topic the source group has offsets in. Topics this
    /// broker has no config for are skipped, and so is a topic an online source group does not subscribe
    /// to (unless `offline`). Always SUCCESS.
    ///
    /// Java's `cloneGroupOffset` then copies the *header's* topic inside that loop, so a blank topic
    /// copies nothing (it looks up `null@srcGroup`); rmqd does the same.
    pub(super) fn clone_group_offset(&self, req: &RemotingCommand) -> Reply {
        let h = CloneGroupOffsetRequestHeader::decode(&req.ext_fields)?;
        let Some(topic) = h.topic.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(ok());
        };
        if self.topics.get(topic).is_none() {
            return Ok(ok());
        }
        if !h.offline {
            let clients = self.clients.lock();
            if clients.subscription_count(&h.src_group) > 0
                && clients.subscription(&h.src_group, topic).is_none()
            {
                return Ok(ok());
            }
        }
        self.offsets
            .clone_offsets(&h.src_group, &h.dest_group, topic);
        Ok(ok())
    }
}
