//! The high watermark: the offset below which every in-sync replica has the
//! log, so a record below it survives the loss of any ISR member but one.

use std::collections::BTreeMap;

use super::replica_view::ReplicaView;

/// The high watermark the leader may expose: the smallest log end offset in
/// the ISR (the leader's own for itself). A follower the leader has not
/// heard from holds it where it is; it never moves backwards.
pub fn advance(
    current: i64,
    leader_id: i32,
    leader_end: i64,
    isr: &[i32],
    followers: &BTreeMap<i32, ReplicaView>,
) -> i64 {
    let mut candidate = leader_end;
    for id in isr {
        if *id == leader_id {
            continue;
        }
        match followers.get(id) {
            Some(v) if v.log_end_offset >= 0 => candidate = candidate.min(v.log_end_offset),
            _ => return current,
        }
    }
    current.max(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(leo: i64) -> ReplicaView {
        let mut v = ReplicaView::new(0);
        v.record_fetch(leo, leo, 0);
        v
    }

    #[test]
    fn a_leader_alone_in_the_isr_exposes_its_log_end() {
        assert_eq!(advance(0, 1, 42, &[1], &BTreeMap::new()), 42);
    }

    #[test]
    fn the_slowest_isr_member_holds_the_high_watermark() {
        let followers = BTreeMap::from([(2, view(30)), (3, view(40))]);
        assert_eq!(advance(10, 1, 50, &[1, 2, 3], &followers), 30);
    }

    #[test]
    fn followers_outside_the_isr_do_not_count() {
        let followers = BTreeMap::from([(2, view(5)), (3, view(40))]);
        assert_eq!(advance(10, 1, 50, &[1, 3], &followers), 40);
    }

    #[test]
    fn an_unheard_isr_member_and_a_slower_one_never_move_it_back() {
        let followers = BTreeMap::from([(2, ReplicaView::new(0)), (3, view(40))]);
        assert_eq!(advance(20, 1, 50, &[1, 2, 3], &followers), 20);
        assert_eq!(advance(45, 1, 50, &[1, 3], &followers), 45);
    }
}
