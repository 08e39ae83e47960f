//! The ACL admin requests' effect on the ACL (Java `PlainPermissionManager.updateAccessConfig`,
//! `deleteAccessConfig`, `updateGlobalWhiteAddrsConfig`): each edit is checked, written to the ACL file
//! (temporary file, fsync, rename) and then in force at once. Java puts a created or updated account in
//! force at once and refuses a deleted key at once; a new global white list waits for its file watcher
//! (half a second). An edit that would leave a file the broker cannot load is refused and nothing is written
//! (Java would write it and then keep its previous rules at the next reload).
//!
//! These do blocking file I/O: the broker calls them off the tokio workers.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{file_stamp, Rules};
use super::file::{AccountUpdate, AclFile, FileVersion};
use super::permission::{parse_perm, DENY};
use super::yaml_writer::to_yaml;
use super::Acl;

/// Java `AclConstants.ACCESS_KEY_MIN_LENGTH` / `SECRET_KEY_MIN_LENGTH`.
const KEY_MIN_LENGTH: usize = 6;

/// Why an edit was refused: the `AclException` message Java answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditRefused(pub String);

impl Acl {
    /// UPDATE_AND_CREATE_ACL_CONFIG (50).
    pub fn update_account(&self, update: &AccountUpdate) -> Result<(), EditRefused> {
        check_account(update)?;
        self.edit(|file| {
            file.upsert_account(update);
            Ok(())
        })
    }

    /// DELETE_ACL_CONFIG (51): false when no account has the key (Java answers DELETE_ACL_CONFIG_FAILED).
    pub fn delete_account(&self, access_key: &str) -> Result<bool, EditRefused> {
        let mut found = false;
        self.edit(|file| {
            found = !access_key.is_empty() && file.delete_account(access_key);
            Ok(())
        })
        .map(|()| found)
    }

    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). `file` is the request's `aclFileFullPath`: empty means the
    /// ACL file (as in Java); rmqd reads one file, so any other path is false (Java answers
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED for a path it will not write).
    pub fn update_global_white(&self, addrs: &[String], file: &str) -> Result<bool, EditRefused> {
        if !file.is_empty() && !self.is_acl_file(Path::new(file)) {
            return Ok(false);
        }
        self.edit(|acl_file| {
            acl_file.replace_global_white(addrs);
            Ok(())
        })
        .map(|()| true)
    }

    /// GET_BROKER_CLUSTER_ACL_INFO (52): the file's DataVersion and its path (Java keys every ACL file's
    /// version by its absolute path).
    pub fn version(&self) -> (FileVersion, String) {
        (
            self.file.lock().version,
            absolute(&self.path).display().to_string(),
        )
    }

    fn is_acl_file(&self, path: &Path) -> bool {
        let ours = absolute(&self.path);
        path == ours
            || path
                .canonicalize()
                .is_ok_and(|p| Some(p) == ours.canonicalize().ok())
    }

    /// Applies `change` to a copy of the file, checks that the result loads, writes it, and installs it.
    fn edit(
        &self,
        change: impl FnOnce(&mut AclFile) -> Result<(), EditRefused>,
    ) -> Result<(), EditRefused> {
        let mut current = self.file.lock();
        let mut next = current.clone();
        change(&mut next)?;
        next.next_version();
        let rules = Rules::from_doc(&next.doc).map_err(|e| EditRefused(e.to_string()))?;
        write_replacing(&self.path, &to_yaml(&next.doc)).map_err(|e| {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write the ACL file");
            EditRefused(format!("{}: {e}", self.path.display()))
        })?;
        *self.stamp.lock() = file_stamp(&self.path);
        *self.rules.write() = Arc::new(rules);
        tracing::info!(path = %self.path.display(), counter = next.version.counter, "ACL file updated");
        *current = next;
        Ok(())
    }
}

/// Java `checkPlainAccessConfig` and `Permission.checkResourcePerms` on both lists, with their messages.
fn check_account(update: &AccountUpdate) -> Result<(), EditRefused> {
    let short = |s: &str| s.chars().count() <= KEY_MIN_LENGTH;
    let secret = update.secret_key.as_deref();
    if short(&update.access_key) || secret.is_none_or(short) {
        return Err(bad_keys(Some(&update.access_key), secret));
    }
    let lists = [&update.topic_perms, &update.group_perms];
    for resource in lists.into_iter().flatten().flatten() {
        let pieces: Vec<&str> = resource.split('=').filter(|p| !p.is_empty()).collect();
        let [_, perm] = pieces[..] else {
            return Err(EditRefused(format!(
                "Parse Resource format error for {resource}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            )));
        };
        if perm.trim() != "DENY" && parse_perm(Some(perm)) == DENY {
            return Err(EditRefused(format!(
                "Parse resource permission error for {resource}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            )));
        }
    }
    Ok(())
}

/// Java `checkPlainAccessConfig`'s refusal of a null or short key (it prints the secret too).
pub fn bad_keys(access_key: Option<&str>, secret_key: Option<&str>) -> EditRefused {
    EditRefused(format!(
        "The accessKey={} and secretKey={} cannot be null and length should longer than 6",
        access_key.unwrap_or("null"),
        secret_key.unwrap_or("null")
    ))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes `text` to `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the directory, so a crash
/// leaves the old file or the new one, never a part.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
