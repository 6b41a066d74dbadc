//! Where replicas go: the one rack-aware choice of a broker for a replica,
//! shared by the cluster's rebalancing plan (scale up and down) and the
//! topic operator's replication-factor changes, so both spread a
//! partition's replicas over racks the same way.

use std::collections::{BTreeMap, BTreeSet};

/// A broker that may hold replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSlot {
    /// Its node id.
    pub id: i32,
    /// Its `broker.rack`, if any.
    pub rack: Option<String>,
}

/// The brokers and how many replicas each holds as planned so far.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    brokers: &'a [BrokerSlot],
    /// Replicas per broker as planned so far.
    pub load: BTreeMap<i32, usize>,
}

impl<'a> Placement<'a> {
    /// `brokers` holding the replicas of `assignments` (replicas on other
    /// brokers are not counted).
    pub fn new(brokers: &'a [BrokerSlot], assignments: &[Vec<i32>]) -> Self {
        let mut load: BTreeMap<i32, usize> = brokers.iter().map(|b| (b.id, 0)).collect();
        for r in assignments.iter().flatten() {
            if let Some(n) = load.get_mut(r) {
                *n += 1;
            }
        }
        Placement { brokers, load }
    }

    fn rack(&self, id: i32) -> Option<&str> {
        self.brokers
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.rack.as_deref())
    }

    /// Racks used by `replicas` other than the one at `skip`.
    pub fn racks_of(&self, replicas: &[i32], skip: Option<usize>) -> BTreeSet<String> {
        replicas
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .filter_map(|(_, r)| self.rack(*r).map(str::to_string))
            .collect()
    }

    /// The best broker to take the replica at `at` of `replicas` (or a new
    /// one, for `None`): not already holding the partition, in a rack the
    /// partition does not use yet when there is one, then the least
    /// loaded, then the lowest id.
    pub fn destination(&self, replicas: &[i32], at: Option<usize>) -> Option<i32> {
        let used = self.racks_of(replicas, at);
        self.brokers
            .iter()
            .filter(|b| !replicas.contains(&b.id))
            .min_by_key(|b| {
                let rack_clash = b.rack.as_ref().is_some_and(|r| used.contains(r));
                (rack_clash, self.load.get(&b.id).copied().unwrap_or(0), b.id)
            })
            .map(|b| b.id)
    }

    /// Counts one more replica on `to`.
    pub fn add(&mut self, to: i32) {
        *self.load.entry(to).or_default() += 1;
    }

    /// Counts one replica less on `from`.
    pub fn remove(&mut self, from: i32) {
        if let Some(n) = self.load.get_mut(&from) {
            *n = n.saturating_sub(1);
        }
    }

    /// Moves one replica's count from `from` to `to`.
    pub fn shift(&mut self, from: i32, to: i32) {
        self.remove(from);
        self.add(to);
    }

    /// Which replica of `replicas` to drop when lowering the replication
    /// factor: never the preferred leader; the last one whose rack another
    /// replica shares, else the last one.
    pub fn to_drop(&self, replicas: &[i32]) -> Option<usize> {
        let shared = (1..replicas.len()).rev().find(|&i| {
            self.rack(replicas[i]).is_some_and(|rack| {
                replicas
                    .iter()
                    .enumerate()
                    .any(|(j, r)| j != i && self.rack(*r) == Some(rack))
            })
        });
        shared.or_else(|| (replicas.len() > 1).then(|| replicas.len() - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(racks: &[(i32, &str)]) -> Vec<BrokerSlot> {
        racks
            .iter()
            .map(|(id, rack)| BrokerSlot {
                id: *id,
                rack: Some(rack.to_string()),
            })
            .collect()
    }

    #[test]
    fn a_new_replica_goes_to_an_unused_rack_before_a_less_loaded_broker() {
        let brokers = slots(&[(0, "a"), (1, "a"), (2, "b")]);
        let p = Placement::new(&brokers, &[vec![2], vec![2]]);
        assert_eq!(p.destination(&[0], None), Some(2));
    }

    #[test]
    fn lowering_drops_a_rack_duplicate_and_never_the_leader() {
        let brokers = slots(&[(0, "a"), (1, "a"), (2, "b")]);
        let p = Placement::new(&brokers, &[]);
        assert_eq!(p.to_drop(&[0, 1, 2]), Some(1));
        assert_eq!(p.to_drop(&[0, 2]), Some(1));
        assert_eq!(p.to_drop(&[0]), None);
    }
}
