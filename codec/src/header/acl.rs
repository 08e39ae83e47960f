//! ACL 1.0 administration (4.9.x – 5.3.2; gone from 5.3.3): UPDATE_AND_CREATE_ACL_CONFIG (50),
//! DELETE_ACL_CONFIG (51), GET_BROKER_CLUSTER_ACL_INFO (52) and UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53).

command_header! {
    /// UPDATE_AND_CREATE_ACL_CONFIG (50), Java `CreateAccessConfigRequestHeader`. `topicPerms` and
    /// `groupPerms` are lists joined with "," (`topicA=DENY,topicB=PUB|SUB`); `admin` is a Java primitive
    /// (false when absent). `accessKey` is `@CFNotNull`, but these headers are decoded by reflection, which
    /// (4.9.7 and 5.x `RemotingCommand.decodeCommandCustomHeader`) only logs a missing field and leaves it
    /// null: the processor then refuses the null key with its own code.
    pub struct CreateAccessConfigRequestHeader {
        access_key: Option<String> = "accessKey",
        secret_key: Option<String> = "secretKey",
        white_remote_address: Option<String> = "whiteRemoteAddress",
        admin: bool = "admin",
        default_topic_perm: Option<String> = "defaultTopicPerm",
        default_group_perm: Option<String> = "defaultGroupPerm",
        topic_perms: Option<String> = "topicPerms",
        group_perms: Option<String> = "groupPerms",
    }
}

command_header! {
    /// DELETE_ACL_CONFIG (51), Java `DeleteAccessConfigRequestHeader` (`@CFNotNull` not enforced, as above).
    pub struct DeleteAccessConfigRequestHeader {
        access_key: Option<String> = "accessKey",
    }
}

command_header! {
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53), Java `UpdateGlobalWhiteAddrsConfigRequestHeader`: both fields
    /// are `@CFNotNull` but not enforced (as above); 4.9.x tools send no `aclFileFullPath` from
    /// `updateGlobalWhiteAddrConfig(addr, addrs)`, which means the default ACL file. `globalWhiteAddrs` is a
    /// list joined with ",".
    pub struct UpdateGlobalWhiteAddrsConfigRequestHeader {
        global_white_addrs: Option<String> = "globalWhiteAddrs",
        acl_file_full_path: Option<String> = "aclFileFullPath",
    }
}

command_header! {
    /// GET_BROKER_CLUSTER_ACL_INFO (52) response, Java `GetBrokerAclConfigResponseHeader`: `version` is the
    /// DataVersion of the ACL file as JSON, `allAclFileVersion` a JSON object of every ACL file's path to
    /// its DataVersion (4.9.x; 5.x leaves it out).
    pub struct GetBrokerAclConfigResponseHeader {
        version: String = "version",
        all_acl_file_version: Option<String> = "allAclFileVersion",
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};

    #[test]
    fn create_header_reads_what_the_4_9_client_sends() {
        // MQClientAPIImpl.createPlainAccessConfig leaves null fields out of extFields.
        let ext = ext_of(&[
            ("accessKey", "newUser1"),
            ("secretKey", "newSecret1"),
            ("admin", "false"),
            ("defaultTopicPerm", "DENY"),
            ("topicPerms", "topicA=PUB,topicB=SUB"),
        ]);
        let h = CreateAccessConfigRequestHeader::decode(&ext).unwrap();
        assert_eq!(h.access_key.as_deref(), Some("newUser1"));
        assert_eq!(h.secret_key.as_deref(), Some("newSecret1"));
        assert_eq!(h.white_remote_address, None);
        assert!(!h.admin);
        assert_eq!(h.default_group_perm, None);
        assert_eq!(h.topic_perms.as_deref(), Some("topicA=PUB,topicB=SUB"));
        assert_eq!(h.group_perms, None);
    }

    #[test]
    fn missing_required_fields_decode_as_null_as_in_java() {
        let ext = ext_of(&[("globalWhiteAddrs", "10.10.*.*")]);
        let h = UpdateGlobalWhiteAddrsConfigRequestHeader::decode(&ext).unwrap();
        assert_eq!(h.global_white_addrs.as_deref(), Some("10.10.*.*"));
        assert_eq!(h.acl_file_full_path, None);
        let h = DeleteAccessConfigRequestHeader::decode(&ext_of(&[])).unwrap();
        assert_eq!(h.access_key, None);
    }

    #[test]
    fn version_header_writes_every_field() {
        let mut ext = crate::command::ExtFields::new();
        GetBrokerAclConfigResponseHeader {
            version: "{\"counter\":1,\"timestamp\":2}".into(),
            all_acl_file_version: Some("{}".into()),
            broker_name: "b".into(),
            broker_addr: "127.0.0.1:10911".into(),
            cluster_name: "c".into(),
        }
        .encode(&mut ext);
        assert_eq!(ext.len(), 5);
        assert_eq!(ext["allAclFileVersion"], "{}");
    }
}
