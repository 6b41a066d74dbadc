//! The server-side assignors of KIP-848: the coordinator, not a group
//! leader, decides who consumes what. `uniform` spreads partitions evenly and
//! keeps each where it was when it can; `range` gives each member contiguous
//! ranges of every topic it subscribes to, so partitions with the same number
//! across topics land together (co-partitioning for joins).
//!
//! Both are pure: the members' subscriptions, the topics and the previous
//! target in, the next target out.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// Partitions per topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// The assignors this broker offers, by the names clients send in
/// `group.remote.assignor` and Kafka lists in `group.consumer.assignors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// Balanced and sticky (Kafka's `UniformAssignor`).
    Uniform,
    /// Contiguous ranges per topic (Kafka's `RangeAssignor`).
    Range,
}

impl Assignor {
    /// The assignor with this name: the short name or Kafka's class name.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "uniform" | "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => {
                Some(Assignor::Uniform)
            }
            "range" | "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => {
                Some(Assignor::Range)
            }
            _ => None,
        }
    }

    /// The name reported in ConsumerGroupDescribe.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// The target assignment of every member. `members` maps a member to the
    /// topic ids it subscribes to; `topics` the partition count of every
    /// subscribed topic that exists.
    pub fn assign(
        self,
        members: &BTreeMap<String, BTreeSet<Uuid>>,
        topics: &BTreeMap<Uuid, i32>,
        previous: &BTreeMap<String, Assignment>,
    ) -> BTreeMap<String, Assignment> {
        match self {
            Assignor::Uniform => uniform(members, topics, previous),
            Assignor::Range => range(members, topics),
        }
    }
}

fn range(
    members: &BTreeMap<String, BTreeSet<Uuid>>,
    topics: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (&topic, &count) in topics {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, t)| t.contains(&topic))
            .map(|(m, _)| m)
            .collect();
        let Ok(n) = i32::try_from(subscribers.len()) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let (each, extra) = (count / n, count % n);
        for (i, member) in (0..n).zip(subscribers) {
            let start = i * each + i.min(extra);
            let len = each + i32::from(i < extra);
            if len > 0 {
                if let Some(a) = out.get_mut(member) {
                    a.entry(topic).or_default().extend(start..start + len);
                }
            }
        }
    }
    out
}

fn uniform(
    members: &BTreeMap<String, BTreeSet<Uuid>>,
    topics: &BTreeMap<Uuid, i32>,
    previous: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    let mut owner: BTreeMap<(Uuid, i32), &String> = BTreeMap::new();
    let mut load: BTreeMap<&String, usize> = members.keys().map(|m| (m, 0)).collect();
    let subscribes = |m: &String, t: &Uuid| members.get(m).is_some_and(|s| s.contains(t));
    // Keep every partition where it was, if its member still subscribes.
    for (member, assignment) in previous {
        let Some(member) = members.get_key_value(member).map(|(k, _)| k) else {
            continue;
        };
        for (topic, partitions) in assignment {
            let count = topics.get(topic).copied().unwrap_or(0);
            if !subscribes(member, topic) {
                continue;
            }
            for &p in partitions.iter().filter(|&&p| p < count) {
                if owner.insert((*topic, p), member).is_none() {
                    *load.entry(member).or_default() += 1;
                }
            }
        }
    }
    // New partitions go to the least loaded subscriber.
    for (&topic, &count) in topics {
        for p in 0..count {
            if owner.contains_key(&(topic, p)) {
                continue;
            }
            let least = load
                .iter()
                .filter(|(m, _)| subscribes(m, &topic))
                .min_by_key(|(m, l)| (**l, **m))
                .map(|(m, _)| *m);
            if let Some(m) = least {
                owner.insert((topic, p), m);
                *load.entry(m).or_default() += 1;
            }
        }
    }
    // Move partitions from the most to the least loaded until no member has
    // two more than another that could take one of them. Every move lowers
    // the sum of squared loads, so this ends.
    loop {
        let mut by_load: Vec<(&String, usize)> = load.iter().map(|(m, l)| (*m, *l)).collect();
        by_load.sort_by_key(|(m, l)| (*l, *m));
        let mut moved = None;
        'search: for &(heavy, heavy_load) in by_load.iter().rev() {
            for &(light, light_load) in &by_load {
                if heavy_load < light_load + 2 {
                    break;
                }
                let candidate = owner
                    .iter()
                    .rev()
                    .find(|(tp, m)| **m == heavy && subscribes(light, &tp.0))
                    .map(|(tp, _)| *tp);
                if let Some(tp) = candidate {
                    moved = Some((tp, heavy, light));
                    break 'search;
                }
            }
        }
        let Some((tp, heavy, light)) = moved else {
            break;
        };
        owner.insert(tp, light);
        *load.entry(heavy).or_default() -= 1;
        *load.entry(light).or_default() += 1;
    }
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for ((topic, p), member) in owner {
        if let Some(a) = out.get_mut(member) {
            a.entry(topic).or_default().insert(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn subscribed(names: &[&str], topics: &[Uuid]) -> BTreeMap<String, BTreeSet<Uuid>> {
        names
            .iter()
            .map(|n| (n.to_string(), topics.iter().copied().collect()))
            .collect()
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    fn every_partition_once(out: &BTreeMap<String, Assignment>, topics: &BTreeMap<Uuid, i32>) {
        let mut seen = BTreeSet::new();
        for a in out.values() {
            for (t, ps) in a {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t}-{p} assigned twice");
                }
            }
        }
        let all: usize = topics
            .values()
            .map(|&c| usize::try_from(c).unwrap_or(0))
            .sum();
        assert_eq!(seen.len(), all);
    }

    #[test]
    fn uniform_spreads_partitions_within_one_of_each_other() {
        let topics = BTreeMap::from([(topic(1), 7), (topic(2), 3)]);
        let members = subscribed(&["a", "b", "c"], &[topic(1), topic(2)]);
        let out = Assignor::Uniform.assign(&members, &topics, &BTreeMap::new());
        every_partition_once(&out, &topics);
        let loads: Vec<usize> = out.values().map(count).collect();
        assert!(loads.iter().max().unwrap_or(&0) - loads.iter().min().unwrap_or(&0) <= 1);
    }

    #[test]
    fn uniform_moves_only_what_a_new_member_needs() {
        let topics = BTreeMap::from([(topic(1), 6)]);
        let two = subscribed(&["a", "b"], &[topic(1)]);
        let before = Assignor::Uniform.assign(&two, &topics, &BTreeMap::new());
        let three = subscribed(&["a", "b", "c"], &[topic(1)]);
        let after = Assignor::Uniform.assign(&three, &topics, &before);
        every_partition_once(&after, &topics);
        for m in ["a", "b"] {
            let kept = after[m][&topic(1)].is_subset(&before[m][&topic(1)]);
            assert!(kept, "{m} was given partitions it did not have");
            assert_eq!(count(&after[m]), 2);
        }
        assert_eq!(count(&after["c"]), 2);
    }

    #[test]
    fn uniform_respects_different_subscriptions() {
        let topics = BTreeMap::from([(topic(1), 4), (topic(2), 4)]);
        let mut members = subscribed(&["a"], &[topic(1)]);
        members.extend(subscribed(&["b"], &[topic(1), topic(2)]));
        let out = Assignor::Uniform.assign(&members, &topics, &BTreeMap::new());
        every_partition_once(&out, &topics);
        assert!(!out["a"].contains_key(&topic(2)));
        assert_eq!(count(&out["a"]), 4);
        assert_eq!(count(&out["b"]), 4);
    }

    #[test]
    fn uniform_drops_partitions_of_topics_no_longer_subscribed_or_gone() {
        let topics = BTreeMap::from([(topic(1), 2)]);
        let members = subscribed(&["a"], &[topic(1)]);
        let previous = BTreeMap::from([(
            "a".to_string(),
            Assignment::from([
                (topic(1), BTreeSet::from([0, 1, 5])),
                (topic(9), BTreeSet::from([0])),
            ]),
        )]);
        let out = Assignor::Uniform.assign(&members, &topics, &previous);
        assert_eq!(
            out["a"],
            Assignment::from([(topic(1), BTreeSet::from([0, 1]))])
        );
    }

    #[test]
    fn range_gives_contiguous_ranges_and_co_partitions_topics() {
        let topics = BTreeMap::from([(topic(1), 5), (topic(2), 5)]);
        let members = subscribed(&["a", "b"], &[topic(1), topic(2)]);
        let out = Assignor::Range.assign(&members, &topics, &BTreeMap::new());
        every_partition_once(&out, &topics);
        assert_eq!(out["a"][&topic(1)], BTreeSet::from([0, 1, 2]));
        assert_eq!(out["b"][&topic(1)], BTreeSet::from([3, 4]));
        assert_eq!(out["a"][&topic(1)], out["a"][&topic(2)]);
    }

    #[test]
    fn assignors_are_found_by_short_and_class_name() {
        assert_eq!(Assignor::by_name("uniform"), Some(Assignor::Uniform));
        assert_eq!(
            Assignor::by_name("org.apache.kafka.coordinator.group.assignor.RangeAssignor"),
            Some(Assignor::Range)
        );
        assert_eq!(Assignor::by_name("sticky"), None);
    }
}
