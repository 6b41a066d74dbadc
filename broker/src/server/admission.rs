//! Admission of connections and requests under `max.connections`,
//! `max.connections.per.ip` and `queued.max.request.bytes`: what the broker
//! takes on is bounded, whatever clients open or send.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ConnectionLimits;

/// Counts connections and queued request bytes for every listener.
#[derive(Debug)]
pub struct Admission {
    connections: Arc<Semaphore>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_per_ip: usize,
    queued: Option<Arc<Semaphore>>,
}

/// A connection's place in its address's count; given back on drop.
#[derive(Debug)]
pub struct IpSlot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut per_ip = self
            .admission
            .per_ip
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

impl Admission {
    /// Admission under `limits`.
    pub fn new(limits: &ConnectionLimits) -> Arc<Self> {
        let permits = |n: usize| n.min(Semaphore::MAX_PERMITS);
        Arc::new(Admission {
            connections: Arc::new(Semaphore::new(permits(limits.max_connections))),
            per_ip: Mutex::new(HashMap::new()),
            max_per_ip: limits.max_connections_per_ip,
            queued: limits
                .queued_max_request_bytes
                .map(|n| Arc::new(Semaphore::new(permits(n as usize)))),
        })
    }

    /// Waits until fewer than `max.connections` are open. The accept loop
    /// waits here, so further clients queue in the listen backlog.
    pub async fn connection_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.connections.clone().acquire_owned().await.ok()
    }

    /// Counts a connection from `ip`; `None` when that address already has
    /// `max.connections.per.ip`, and the connection must be closed.
    pub fn admit_ip(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            admission: self.clone(),
            ip,
        })
    }

    /// Reserves `size` bytes of the request queue until the permit drops
    /// (after the response is written); waits while the queue is full, so
    /// the connection stops reading.
    pub async fn reserve(&self, size: u32) -> Option<OwnedSemaphorePermit> {
        match &self.queued {
            Some(queue) => queue.clone().acquire_many_owned(size).await.ok(),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_ip: usize, queued: Option<u32>) -> ConnectionLimits {
        ConnectionLimits {
            queued_max_request_bytes: queued,
            max_connections: 2,
            max_connections_per_ip: per_ip,
            connections_max_idle_ms: 1000,
        }
    }

    #[test]
    fn an_address_over_its_limit_is_refused_until_one_of_its_connections_closes() {
        let a = Admission::new(&limits(2, None));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let first = a.admit_ip(ip).unwrap();
        let _second = a.admit_ip(ip).unwrap();
        assert!(a.admit_ip(ip).is_none());
        assert!(a.admit_ip(other).is_some());
        drop(first);
        assert!(a.admit_ip(ip).is_some());
    }

    #[tokio::test]
    async fn the_request_queue_waits_for_bytes_to_be_given_back() {
        let a = Admission::new(&limits(10, Some(100)));
        let held = a.reserve(60).await.unwrap();
        let waiting = {
            let a = a.clone();
            tokio::spawn(async move { a.reserve(60).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        assert!(waiting.await.unwrap().is_some());
    }

    #[tokio::test]
    async fn connection_slots_are_bounded() {
        let a = Admission::new(&limits(10, None));
        let one = a.connection_slot().await.unwrap();
        let _two = a.connection_slot().await.unwrap();
        assert_eq!(a.connections.available_permits(), 0);
        drop(one);
        assert!(a.connection_slot().await.is_some());
    }
}
