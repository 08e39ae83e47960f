//! The checkpoint pass: `<root>/checkpoint` (`StoreCheckpoint`) holds int64 physicMsgTimestamp at 0,
//! logicsMsgTimestamp at 8 and indexMsgTimestamp at 16 (5.x adds masterFlushedOffset at 24 and confirmPhyOffset
//! at 32). Each is the store timestamp of a record already flushed, so none can be newer than the newest record
//! in the commit log (or, for the index timestamp, than the newest index file's end): a checkpoint ahead of the
//! data means flushed records are gone.

use std::io::Read;
use std::path::Path;

use super::fault::{Fault, FaultKind, Report};
use super::{io_error, InspectError};

pub(crate) fn check(
    root: &Path,
    newest_record_timestamp: i64,
    newest_index_timestamp: i64,
    report: &mut Report,
) -> Result<(), InspectError> {
    let path = root.join("checkpoint");
    let mut head = [0u8; 24];
    match std::fs::File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.note("no checkpoint file");
            return Ok(());
        }
        Err(e) => return Err(io_error(&path)(e)),
        Ok(mut file) => {
            if let Err(e) = file.read_exact(&mut head) {
                report.fault(fault(&path, 0, format!("shorter than 24 bytes ({e})")));
                return Ok(());
            }
        }
    }
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[i * 8..i * 8 + 8]);
        i64::from_be_bytes(b)
    };
    let fields = [
        ("physicMsgTimestamp", field(0), newest_record_timestamp),
        ("logicsMsgTimestamp", field(1), newest_record_timestamp),
        ("indexMsgTimestamp", field(2), newest_index_timestamp),
    ];
    for (i, (name, value, limit)) in fields.into_iter().enumerate() {
        if value < 0 || (limit > 0 && value > limit) {
            let reason = format!("{name} {value} is after the newest data it covers ({limit})");
            report.fault(fault(&path, i as u64 * 8, reason));
        }
    }
    Ok(())
}

fn fault(path: &Path, pos: u64, reason: String) -> Fault {
    Fault {
        path: path.to_path_buf(),
        pos,
        log_offset: None,
        kind: FaultKind::Checkpoint(reason),
    }
}
