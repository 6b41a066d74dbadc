//! What a leader sends a follower on the internal listener: the records of
//! a replica fetch, appended with `Log::append_as_follower`, and a forwarded
//! controller request, decoded and decided on a small cluster's image. A
//! peer may be broken or hostile; every input gets `Ok` or an error, never
//! a panic, and a refused fetch leaves the follower's log as it was.
//!
//! Input: a mode byte, then the bytes. Mode 0 appends them as they are;
//! modes 1 and 2 first fix up the length and CRC of one or two batches, so
//! the fuzzer gets past the CRC to the offsets and producer state; mode 3
//! is a controller request as JSON.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_broker::controller::decisions::request::{decide, ControllerRequest};
use weir_broker::log::batch::{set_crc, HEADER_LEN, LOG_OVERHEAD};
use weir_broker::log::{Log, LogConfig};
use weir_broker::metadata::image::MetadataImage;
use weir_broker::metadata::record::{BrokerRecord, Endpoint, MetadataRecord};

const NOW: i64 = 1_700_000_000_000;

fn fixed(mut batch: Vec<u8>) -> Vec<u8> {
    if batch.len() >= HEADER_LEN {
        let len = (batch.len() - LOG_OVERHEAD) as i32;
        batch[8..12].copy_from_slice(&len.to_be_bytes());
        batch[16] = 2;
        set_crc(&mut batch);
    }
    batch
}

fn append(records: Vec<u8>) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok(mut log) = Log::open(dir.path(), LogConfig::default(), NOW) else {
        return;
    };
    let end = log.log_end_offset();
    if log.append_as_follower(Bytes::from(records), NOW).is_err() {
        assert_eq!(log.log_end_offset(), end, "a refused fetch changed the log");
    }
}

fn image() -> MetadataImage {
    let mut image = MetadataImage::default();
    for node in 0..3 {
        image.apply(&MetadataRecord::RegisterBroker(BrokerRecord {
            node_id: node,
            endpoints: vec![Endpoint {
                name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9092,
            }],
            rack: None,
            internal_address: String::new(),
            incarnation: Default::default(),
        }));
    }
    image
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    match mode % 4 {
        0 => append(rest.to_vec()),
        1 => append(fixed(rest.to_vec())),
        2 => {
            let (a, b) = rest.split_at(rest.len() / 2);
            let mut both = fixed(a.to_vec());
            both.extend(fixed(b.to_vec()));
            append(both);
        }
        _ => {
            if let Ok(request) = serde_json::from_slice::<ControllerRequest>(rest) {
                let _ = decide(&image(), &request, Default::default());
            }
        }
    }
});
