//! ACL 1.0 administration of Java 4.9.x's `AdminBrokerProcessor` (mqadmin updateAclConfig,
//! deleteAclConfig, clusterAclConfigVersion, updateGlobalWhiteAddr):
//! UPDATE_AND_CREATE_ACL_CONFIG (50), DELETE_ACL_CONFIG (51), GET_BROKER_CLUSTER_ACL_INFO (52),
//! UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). 5.3.3 serves none of them (REQUEST_CODE_NOT_SUPPORTED); rmqd
//! serves the plain ACL of 4.9.x and answers as 4.9.7 does. GET_BROKER_CLUSTER_ACL_CONFIG (54), which
//! answered every account's secret key to any signed client, was removed in 4.9.8 (and is not in 5.x):
//! rmqd answers it REQUEST_CODE_NOT_SUPPORTED as those do.
//!
//! Failures are answered with 4.x's ACL codes 209–211 (which 5.x renamed) and the `AclException` text.
//! These requests need only a valid signature: Java's `Permission.ADMIN_CODE` does not list them.
//! Without `aclEnable`, 4.9.7 answers 50/51/53 with their failure code and no remark and never answers
//! 52; rmqd answers as 5.3.2 does, "The broker does not enable acl." (52 with SYSTEM_ERROR).

use rmq_codec::body::acl::acl_data_version;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::{
    CommandHeader, CreateAccessConfigRequestHeader, DeleteAccessConfigRequestHeader,
    GetBrokerAclConfigResponseHeader, UpdateGlobalWhiteAddrsConfigRequestHeader,
};

use super::blocking::run_off_worker;
use super::{ok, reply_error, Broker, Reply};
use crate::acl::admin::{bad_keys, EditRefused};
use crate::acl::file::{java_split, AccountUpdate};
use crate::acl::Acl;

/// 4.x `ResponseCode.UPDATE_AND_CREATE_ACL_CONFIG_FAILED` (5.x `POLLING_FULL`).
const UPDATE_AND_CREATE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode::PollingFull;
/// 4.x `ResponseCode.DELETE_ACL_CONFIG_FAILED` (5.x `POLLING_TIMEOUT`).
const DELETE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode::PollingTimeout;
/// 4.x `ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED` (5.x `BROKER_NOT_EXIST`).
const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED: ResponseCode = ResponseCode::BrokerNotExist;

const ACL_NOT_ENABLED: &str = "The broker does not enable acl.";

impl Broker {
    fn acl_or(&self, failed: ResponseCode) -> Result<&Acl, crate::error::ServiceError> {
        self.acl
            .as_deref()
            .ok_or_else(|| reply_error(failed, ACL_NOT_ENABLED))
    }

    /// UPDATE_AND_CREATE_ACL_CONFIG (50): creates the account or updates it; in force at once.
    pub(super) fn update_acl_config(&self, req: &RemotingCommand) -> Reply {
        let acl = self.acl_or(UPDATE_AND_CREATE_ACL_CONFIG_FAILED)?;
        let h = CreateAccessConfigRequestHeader::decode(&req.ext_fields)?;
        let Some(access_key) = h.access_key else {
            let e = bad_keys(None, h.secret_key.as_deref());
            return Err(refused(UPDATE_AND_CREATE_ACL_CONFIG_FAILED, e));
        };
        let update = AccountUpdate {
            topic_perms: java_split(h.topic_perms.as_deref()),
            group_perms: java_split(h.group_perms.as_deref()),
            access_key,
            secret_key: h.secret_key,
            white_remote_address: h.white_remote_address,
            admin: h.admin,
            default_topic_perm: h.default_topic_perm,
            default_group_perm: h.default_group_perm,
        };
        off_worker(|| acl.update_account(&update))
            .map_err(|e| refused(UPDATE_AND_CREATE_ACL_CONFIG_FAILED, e))?;
        Ok(ok())
    }

    /// DELETE_ACL_CONFIG (51): removes the account; its key is refused from now on.
    pub(super) fn delete_acl_config(&self, req: &RemotingCommand) -> Reply {
        let acl = self.acl_or(DELETE_ACL_CONFIG_FAILED)?;
        let h = DeleteAccessConfigRequestHeader::decode(&req.ext_fields)?;
        let access_key = h.access_key.clone().unwrap_or_default();
        let deleted = off_worker(|| acl.delete_account(&access_key))
            .map_err(|e| refused(DELETE_ACL_CONFIG_FAILED, e))?;
        if !deleted {
            return Err(reply_error(
                DELETE_ACL_CONFIG_FAILED,
                format!(
                    "The accesskey[{}] corresponding to accessConfig has been deleted failed.",
                    java_text(&h.access_key)
                ),
            ));
        }
        Ok(ok())
    }

    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53): replaces the global white list of the ACL file.
    pub(super) fn update_global_white_addrs(&self, req: &RemotingCommand) -> Reply {
        let acl = self.acl_or(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED)?;
        let h = UpdateGlobalWhiteAddrsConfigRequestHeader::decode(&req.ext_fields)?;
        let file = h.acl_file_full_path.as_deref().unwrap_or_default();
        // Java refuses a null list (no global white list at all) without writing.
        let updated = match java_split(h.global_white_addrs.as_deref()) {
            Some(addrs) => off_worker(|| acl.update_global_white(&addrs, file))
                .map_err(|e| refused(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED, e))?,
            None => false,
        };
        if !updated {
            return Err(reply_error(
                UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
                format!(
                    "The globalWhiteAddresses[{}] has been updated failed.",
                    java_text(&h.global_white_addrs)
                ),
            ));
        }
        Ok(ok())
    }

    /// GET_BROKER_CLUSTER_ACL_INFO (52): the ACL file's DataVersion, every file's version by path, and
    /// the broker's address, name and cluster.
    pub(super) fn acl_version_info(&self) -> Reply {
        let acl = self.acl_or(ResponseCode::SystemError)?;
        let (version, path) = acl.version();
        let version = acl_data_version(version.counter, version.timestamp);
        let all = Value::object([(path, version.clone())]);
        let mut resp = ok();
        GetBrokerAclConfigResponseHeader {
            version: fastjson::to_string(&version),
            all_acl_file_version: Some(fastjson::to_string(&all)),
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.broker_addr(),
            cluster_name: self.config.broker_cluster_name.clone(),
        }
        .encode(&mut resp.ext_fields);
        Ok(resp)
    }
}

/// `String.valueOf` of a header field: "null" when absent.
fn java_text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

fn off_worker<T>(mut work: impl FnMut() -> T) -> T {
    let mut result = None;
    run_off_worker(&mut || result = Some(work()));
    result.expect("run_off_worker runs the work")
}

/// The refusal's text goes to the client only: Java's key-length message holds the secret key.
fn refused(code: ResponseCode, e: EditRefused) -> crate::error::ServiceError {
    tracing::warn!(code = i32::from(code), "ACL admin request refused");
    reply_error(code, e.0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rmq_codec::code::RequestCode;
    use rmq_codec::command::ExtFields;

    use super::*;

    fn broker(dir: &tempfile::TempDir, acl: bool) -> Arc<Broker> {
        let conf = dir.path().join("broker.conf");
        let root = dir.path().join("store");
        let acl_file = dir.path().join("plain_acl.yml");
        std::fs::write(
            &acl_file,
            "accounts:\n  - accessKey: adminKey1\n    secretKey: adminSecret1\n    admin: true\n",
        )
        .unwrap();
        let text = format!(
            "storePathRootDir={}\nnamesrvListenPort=9877\nbrokerName=b-acl\nbrokerClusterName=c-acl\naclEnable={acl}\naclFilePath={}\n",
            root.display(),
            acl_file.display()
        );
        std::fs::write(&conf, text).unwrap();
        let mut config = crate::config::load_broker(Some(&conf)).unwrap();
        config.store.mapped_file_size_commit_log = 1 << 20;
        Broker::open(config).expect("opens")
    }

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let ext: ExtFields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RemotingCommand::new_request(code, ext)
    }

    fn answer(reply: Reply) -> RemotingCommand {
        reply.unwrap_or_else(|e| e.into_response())
    }

    #[test]
    fn without_acl_the_requests_are_refused_as_5_3_2_refuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir, false);
        let create = request(
            RequestCode::UpdateAndCreateAclConfig,
            &[("accessKey", "someUser1")],
        );
        let delete = request(RequestCode::DeleteAclConfig, &[("accessKey", "someUser1")]);
        let white = request(
            RequestCode::UpdateGlobalWhiteAddrsConfig,
            &[("globalWhiteAddrs", "")],
        );
        for (resp, code) in [
            (answer(b.update_acl_config(&create)), 209),
            (answer(b.delete_acl_config(&delete)), 210),
            (answer(b.update_global_white_addrs(&white)), 211),
            (answer(b.acl_version_info()), 1),
        ] {
            assert_eq!(resp.code, code);
            assert_eq!(resp.remark.as_deref(), Some(ACL_NOT_ENABLED));
        }
    }

    #[test]
    fn null_fields_get_javas_failure_answers() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir, true);
        let resp =
            answer(b.update_acl_config(&request(RequestCode::UpdateAndCreateAclConfig, &[])));
        assert_eq!(resp.code, 209);
        assert_eq!(
            resp.remark.as_deref(),
            Some("The accessKey=null and secretKey=null cannot be null and length should longer than 6")
        );
        let resp = answer(b.delete_acl_config(&request(RequestCode::DeleteAclConfig, &[])));
        assert_eq!(resp.code, 210);
        assert_eq!(
            resp.remark.as_deref(),
            Some("The accesskey[null] corresponding to accessConfig has been deleted failed.")
        );
        let resp = answer(
            b.update_global_white_addrs(&request(RequestCode::UpdateGlobalWhiteAddrsConfig, &[])),
        );
        assert_eq!(resp.code, 211);
        assert_eq!(
            resp.remark.as_deref(),
            Some("The globalWhiteAddresses[null] has been updated failed.")
        );
    }

    #[test]
    fn version_info_names_the_file_and_the_broker() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir, true);
        let create = request(
            RequestCode::UpdateAndCreateAclConfig,
            &[
                ("accessKey", "newUser1"),
                ("secretKey", "newSecret1"),
                ("topicPerms", "t1=PUB"),
            ],
        );
        assert_eq!(answer(b.update_acl_config(&create)).code, 0);
        let resp = answer(b.acl_version_info());
        let h = GetBrokerAclConfigResponseHeader::decode(&resp.ext_fields).unwrap();
        assert_eq!(
            (h.broker_name.as_str(), h.cluster_name.as_str()),
            ("b-acl", "c-acl")
        );
        assert_eq!(h.broker_addr, b.config.broker_addr());
        let version = fastjson::parse(&h.version).unwrap();
        assert_eq!(version.get("counter").and_then(Value::as_i64), Some(1));
        let all = fastjson::parse(h.all_acl_file_version.as_deref().unwrap()).unwrap();
        let path = dir.path().join("plain_acl.yml").display().to_string();
        assert_eq!(all.get(&path), Some(&version), "{all:?}");
    }
}
