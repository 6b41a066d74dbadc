//! File descriptors: the broker raises its soft limit to the hard limit at
//! start, as Kafka's packaging does, and keeps a reserve that client
//! connections may not take, so segment files, replication, the quorum and
//! health checks still get descriptors when clients open connections
//! without end. A client connection over the budget is closed at once; one
//! that arrives when no descriptor is left at all is accepted on a spare
//! descriptor held for the purpose and closed, so it is refused instead of
//! left in the backlog, and the broker recovers as soon as descriptors free
//! up.

use std::fs::File;
use std::io;
use std::os::fd::RawFd;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The descriptor limit the broker runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorLimit {
    /// The soft limit found at start.
    pub soft_before: u64,
    /// The soft limit in force (the hard limit, when raising it worked).
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// What an unlimited (`RLIM_INFINITY`) limit counts as.
const UNLIMITED: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limit in
/// force either way, with the error when raising it failed.
pub fn raise_limit() -> (DescriptorLimit, Option<io::Error>) {
    let before = getrlimit(Resource::Nofile);
    let soft_before = before.current.unwrap_or(UNLIMITED);
    let hard = before.maximum.unwrap_or(UNLIMITED);
    let error = (soft_before < hard)
        .then(|| {
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: before.maximum,
                    maximum: before.maximum,
                },
            )
            .err()
            .map(io::Error::from)
        })
        .flatten();
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(UNLIMITED);
    let limit = DescriptorLimit {
        soft_before,
        soft,
        hard,
    };
    (limit, error)
}

/// The descriptors client connections leave to everything else: a fifth of
/// the limit, at least 32 and at most 1,024.
pub fn reserve_for(limit: u64) -> u64 {
    (limit / 5).clamp(32, 1024)
}

/// Decides whether a client connection may keep the descriptor it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorBudget {
    /// Client connections keep descriptors below this number.
    pub ceiling: u64,
}

impl DescriptorBudget {
    /// The budget under `limit`, keeping [`reserve_for`] free.
    pub fn new(limit: u64) -> Self {
        DescriptorBudget {
            ceiling: limit.saturating_sub(reserve_for(limit)),
        }
    }

    /// Whether a connection on descriptor `fd` stays. The kernel hands out
    /// the lowest free descriptor, so descriptor `n` means `0..n` are all
    /// open: at `ceiling` or above, the reserve is being eaten into. (Free
    /// holes below can let the count pass the ceiling by their number; the
    /// next descriptors anyone opens fill them.)
    pub fn admits(&self, fd: RawFd) -> bool {
        u64::try_from(fd).is_ok_and(|fd| fd < self.ceiling)
    }
}

/// Whether an accept error means the process or system is out of
/// descriptors.
pub fn is_exhausted(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
            || code == rustix::io::Errno::NFILE.raw_os_error()
    )
}

/// A descriptor held back so a connection can be accepted, and closed,
/// when no other descriptor is left.
#[derive(Debug)]
pub struct Spare(Option<File>);

impl Spare {
    /// Opens the spare.
    pub fn new() -> Self {
        Spare(File::open("/dev/null").ok())
    }

    /// Gives the spare back to the process for one accept.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Takes a spare again (it may fail while descriptors are still short;
    /// the next release then has nothing to give).
    pub fn restore(&mut self) {
        if self.0.is_none() {
            self.0 = File::open("/dev/null").ok();
        }
    }
}

impl Default for Spare {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_a_fifth_of_the_limit_within_bounds() {
        assert_eq!(reserve_for(100), 32);
        assert_eq!(reserve_for(1024), 204);
        assert_eq!(reserve_for(1 << 20), 1024);
        assert_eq!(DescriptorBudget::new(256).ceiling, 205);
        assert_eq!(DescriptorBudget::new(10).ceiling, 0);
    }

    #[test]
    fn a_descriptor_inside_the_reserve_is_refused() {
        let budget = DescriptorBudget::new(256);
        assert!(budget.admits(204));
        assert!(!budget.admits(205));
        assert!(!budget.admits(-1));
    }

    #[test]
    fn raising_the_limit_never_lowers_it() {
        let (limit, _) = raise_limit();
        assert!(limit.soft >= limit.soft_before);
        assert!(limit.soft <= limit.hard);
    }

    #[test]
    fn out_of_descriptors_is_recognised() {
        assert!(is_exhausted(&io::Error::from_raw_os_error(24)));
        assert!(is_exhausted(&io::Error::from_raw_os_error(23)));
        assert!(!is_exhausted(&io::Error::from_raw_os_error(104)));
    }
}
