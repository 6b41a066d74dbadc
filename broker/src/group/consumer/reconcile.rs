//! Moving one member from what it holds toward its target, as Kafka's
//! `CurrentAssignmentBuilder` does: a member first gives up what it must
//! (and stays in its epoch until it says it has), then takes what is free,
//! and waits for what another member has not released yet. No partition is
//! ever held by two members at once.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::assignor::Assignment;

/// Where a member is in reaching its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberState {
    /// Holds its target in the target's epoch.
    #[default]
    Stable,
    /// Must revoke partitions before it can move on.
    UnrevokedPartitions,
    /// In the target epoch, waiting for partitions others still hold.
    UnreleasedPartitions,
}

/// What a member holds and owes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holding {
    /// The member's epoch.
    pub epoch: i32,
    /// The epoch before the last bump; a heartbeat in it is still accepted
    /// if the bump's response was lost.
    pub previous_epoch: i32,
    /// Its state.
    pub state: MemberState,
    /// Partitions it may consume.
    pub assigned: Assignment,
    /// Partitions it must give up.
    pub revoking: Assignment,
}

impl Holding {
    /// Whether the member needs nothing more to reach `target_epoch`.
    pub fn reconciled_to(&self, target_epoch: i32) -> bool {
        self.state == MemberState::Stable && self.epoch == target_epoch
    }

    fn with_epoch(&self, epoch: i32) -> (i32, i32) {
        if epoch == self.epoch {
            (self.epoch, self.previous_epoch)
        } else {
            (epoch, self.epoch)
        }
    }
}

/// The member's next holding. `owned` is what the member reported in this
/// heartbeat (`None`: unchanged since the last); `held_elsewhere` tells
/// whether another member still holds a partition.
pub fn next(
    current: &Holding,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    held_elsewhere: impl Fn(Uuid, i32) -> bool,
) -> Holding {
    match current.state {
        MemberState::Stable if current.epoch == target_epoch => current.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => compute(
            current,
            current.epoch,
            target_epoch,
            target,
            owned,
            held_elsewhere,
        ),
        MemberState::UnrevokedPartitions => {
            if still_owns(owned, &current.revoking) {
                current.clone()
            } else {
                compute(
                    current,
                    current.epoch + 1,
                    target_epoch,
                    target,
                    owned,
                    held_elsewhere,
                )
            }
        }
    }
}

/// Whether the member still owns any partition it must revoke; not knowing
/// counts as owning.
fn still_owns(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(topic, partitions)| {
        revoking
            .get(topic)
            .is_some_and(|r| partitions.iter().any(|p| r.contains(p)))
    })
}

fn compute(
    current: &Holding,
    epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    held_elsewhere: impl Fn(Uuid, i32) -> bool,
) -> Holding {
    let mut assigned = Assignment::new();
    let mut revoking = Assignment::new();
    let mut pending = Assignment::new();
    let mut unreleased = false;
    let topics: BTreeSet<Uuid> = target
        .keys()
        .chain(current.assigned.keys())
        .copied()
        .collect();
    let empty = BTreeSet::new();
    for topic in topics {
        let wanted = target.get(&topic).unwrap_or(&empty);
        let had = current.assigned.get(&topic).unwrap_or(&empty);
        let keep: BTreeSet<i32> = had.intersection(wanted).copied().collect();
        let give: BTreeSet<i32> = had.difference(&keep).copied().collect();
        let mut take: BTreeSet<i32> = wanted.difference(&keep).copied().collect();
        let before = take.len();
        take.retain(|&p| !held_elsewhere(topic, p));
        unreleased |= take.len() != before;
        if !keep.is_empty() {
            assigned.insert(topic, keep);
        }
        if !give.is_empty() {
            revoking.insert(topic, give);
        }
        if !take.is_empty() {
            pending.insert(topic, take);
        }
    }
    if !revoking.is_empty() && still_owns(owned, &revoking) {
        let (epoch, previous_epoch) = current.with_epoch(epoch);
        return Holding {
            epoch,
            previous_epoch,
            state: MemberState::UnrevokedPartitions,
            assigned,
            revoking,
        };
    }
    for (topic, partitions) in pending {
        assigned.entry(topic).or_default().extend(partitions);
    }
    let (epoch, previous_epoch) = current.with_epoch(target_epoch);
    Holding {
        epoch,
        previous_epoch,
        state: if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        },
        assigned,
        revoking: Assignment::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Uuid {
        Uuid::from_u128(7)
    }

    fn a(ps: &[i32]) -> Assignment {
        if ps.is_empty() {
            Assignment::new()
        } else {
            Assignment::from([(t(), ps.iter().copied().collect())])
        }
    }

    fn stable(epoch: i32, ps: &[i32]) -> Holding {
        Holding {
            epoch,
            previous_epoch: epoch - 1,
            state: MemberState::Stable,
            assigned: a(ps),
            revoking: Assignment::new(),
        }
    }

    #[test]
    fn a_member_revokes_before_it_moves_to_the_new_epoch() {
        let h = next(
            &stable(1, &[0, 1]),
            2,
            &a(&[0]),
            Some(&a(&[0, 1])),
            |_, _| false,
        );
        assert_eq!(h.state, MemberState::UnrevokedPartitions);
        assert_eq!(
            (h.epoch, h.assigned.clone(), h.revoking.clone()),
            (1, a(&[0]), a(&[1]))
        );
        // Still reporting partition 1: nothing moves.
        let same = next(&h, 2, &a(&[0]), Some(&a(&[0, 1])), |_, _| false);
        assert_eq!(same, h);
        // Revoked: the member reaches the target epoch.
        let done = next(&h, 2, &a(&[0]), Some(&a(&[0])), |_, _| false);
        assert_eq!(done, stable(2, &[0]));
    }

    #[test]
    fn a_member_waits_for_partitions_another_member_still_holds() {
        let h = next(&stable(1, &[]), 2, &a(&[0, 1]), Some(&a(&[])), |_, p| {
            p == 1
        });
        assert_eq!(h.state, MemberState::UnreleasedPartitions);
        assert_eq!((h.epoch, h.assigned.clone()), (2, a(&[0])));
        let released = next(&h, 2, &a(&[0, 1]), None, |_, _| false);
        assert_eq!(released.state, MemberState::Stable);
        assert_eq!(released.assigned, a(&[0, 1]));
    }

    #[test]
    fn a_member_that_already_dropped_the_partitions_moves_at_once() {
        let h = next(
            &stable(1, &[0, 1]),
            3,
            &a(&[1, 2]),
            Some(&a(&[1])),
            |_, _| false,
        );
        assert_eq!(
            h,
            Holding {
                previous_epoch: 1,
                ..stable(3, &[1, 2])
            }
        );
    }

    #[test]
    fn a_reconciled_member_is_left_alone() {
        let h = stable(4, &[3]);
        assert!(h.reconciled_to(4));
        assert_eq!(next(&h, 4, &a(&[]), None, |_, _| true), h);
    }
}
