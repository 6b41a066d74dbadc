//! Offset expiry (`offsets.retention.minutes`, KIP-211): committed offsets of
//! a group nobody consumes with any more are removed after the retention
//! period, so abandoned groups do not stay forever.

use std::collections::BTreeMap;

use super::classic::{Group, GroupState};
use super::records::OffsetValue;

/// The offsets of one group that have expired at `now_ms`.
///
/// A group with members keeps its offsets. A consumer group that became
/// empty expires them all `retention_ms` after it became empty; offsets
/// committed without group management (no group, or one with no protocol)
/// expire one by one, `retention_ms` after each commit.
pub fn expired(
    group: Option<&Group>,
    offsets: &BTreeMap<(String, i32), OffsetValue>,
    now_ms: i64,
    retention_ms: i64,
) -> Vec<(String, i32)> {
    match group {
        Some(g) if g.state != GroupState::Empty => vec![],
        Some(g) if g.protocol_type.is_some() => {
            if g.state_timestamp_ms.saturating_add(retention_ms) <= now_ms {
                offsets.keys().cloned().collect()
            } else {
                vec![]
            }
        }
        _ => offsets
            .iter()
            .filter(|(_, v)| v.commit_timestamp.saturating_add(retention_ms) <= now_ms)
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(commits: &[(&str, i32, i64)]) -> BTreeMap<(String, i32), OffsetValue> {
        commits
            .iter()
            .map(|(t, p, at)| {
                (
                    (t.to_string(), *p),
                    OffsetValue {
                        offset: 1,
                        leader_epoch: -1,
                        metadata: String::new(),
                        commit_timestamp: *at,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn standalone_offsets_expire_one_by_one_after_their_commit() {
        let o = offsets(&[("a", 0, 100), ("a", 1, 900)]);
        assert_eq!(expired(None, &o, 1_000, 500), vec![("a".to_string(), 0)]);
        let empty_standalone = Group::new("g", 0);
        assert_eq!(expired(Some(&empty_standalone), &o, 2_000, 500).len(), 2);
    }

    #[test]
    fn an_empty_consumer_group_expires_together_and_an_active_one_never() {
        let o = offsets(&[("a", 0, 0), ("b", 0, 10_000)]);
        let mut g = Group::new("g", 0);
        g.protocol_type = Some("consumer".into());
        g.state_timestamp_ms = 5_000;
        assert!(expired(Some(&g), &o, 5_400, 500).is_empty());
        assert_eq!(
            expired(Some(&g), &o, 5_500, 500).len(),
            2,
            "even the newer commit"
        );
        g.state = GroupState::Stable;
        assert!(expired(Some(&g), &o, 1_000_000, 500).is_empty());
    }
}
