//! A request whose array claims more elements than its frame holds is
//! refused before the decoder allocates for them: a global allocator counts
//! the bytes live at the peak while each hostile body is decoded, as the
//! broker's dispatcher decodes it (`RequestKind::decode`). A resident-memory
//! check cannot prove this (the kernel does not back memory that is
//! reserved and never touched); counting the allocations does.
//!
//! One test in this binary, so no other test allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes live at once while `body` is decoded as `key` v`version`,
/// above what was live before, and whether it decoded.
fn peak_while_decoding(key: ApiKey, version: i16, body: &[u8]) -> (usize, bool) {
    let mut bytes = Bytes::copy_from_slice(body);
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let decoded = RequestKind::decode(key, &mut bytes, version).is_ok();
    (PEAK.load(Ordering::SeqCst) - before, decoded)
}

fn body(build: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut b = BytesMut::new();
    build(&mut b);
    b.to_vec()
}

#[test]
fn array_counts_beyond_the_frame_are_refused_before_anything_is_allocated_for_them() {
    let cases = [
        (
            "LeaveGroup v3: members claiming i32::MAX",
            ApiKey::LeaveGroup,
            3,
            body(|b| {
                b.put_i16(1);
                b.put_u8(b'g');
                b.put_i32(i32::MAX);
                b.put_slice(&[0; 16]);
            }),
        ),
        (
            "LeaveGroup v5: compact members claiming u32::MAX - 1",
            ApiKey::LeaveGroup,
            5,
            body(|b| {
                b.put_u8(2);
                b.put_u8(b'g');
                b.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
                b.put_slice(&[0; 16]);
            }),
        ),
        (
            "Metadata v0: 54 million topics in five bytes",
            ApiKey::Metadata,
            0,
            body(|b| b.put_slice(&[0x03, 0x3c, 0x0c, 0x00, 0xb6])),
        ),
        (
            "Produce v9: a billion topics",
            ApiKey::Produce,
            9,
            body(|b| {
                b.put_u8(0);
                b.put_i16(-1);
                b.put_i32(30_000);
                b.put_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
            }),
        ),
        (
            "CreatePartitions v2: 8,388,612 assignments",
            ApiKey::CreatePartitions,
            2,
            body(|b| {
                b.put_u8(2);
                b.put_u8(2);
                b.put_u8(b't');
                b.put_i32(3);
                b.put_slice(&[0x85, 0x80, 0x80, 0x04]);
            }),
        ),
    ];
    for (name, key, version, hostile) in cases {
        let (peak, decoded) = peak_while_decoding(key, version, &hostile);
        println!("{name}: {peak} bytes at the peak");
        assert!(!decoded, "{name}: decoded");
        assert!(
            peak < 64 * 1024,
            "{name}: {peak} bytes allocated for a {}-byte body",
            hostile.len()
        );
    }
    // The counter sees what a decoder does allocate: a well-formed request
    // with 2,000 topics costs memory in proportion.
    let real = body(|b| {
        b.put_i32(2_000);
        for i in 0..2_000 {
            let name = format!("topic-{i:05}");
            b.put_i16(name.len() as i16);
            b.put_slice(name.as_bytes());
        }
    });
    let (peak, decoded) = peak_while_decoding(ApiKey::Metadata, 0, &real);
    assert!(decoded);
    assert!(peak > 2_000 * 11, "the counter sees allocations: {peak}");
}
