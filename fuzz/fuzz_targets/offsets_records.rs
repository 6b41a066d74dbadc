//! `__consumer_offsets` records as a coordinator replays them from disk:
//! offset commits, classic group metadata and KIP-848 consumer group
//! records. Every input decodes or is refused with an error, never a
//! panic, and no length read from the input allocates before it is checked.
//!
//! Input: one byte splitting the rest into a key and a value (a value of
//! length zero stands for a tombstone).

#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_broker::group::consumer::records::ConsumerGroupRecord;
use weir_broker::group::records::{decode_group, decode_key, decode_offset, OffsetsKey};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(rest.len());
    let key = Bytes::copy_from_slice(&rest[..at]);
    let value = (at < rest.len()).then(|| Bytes::copy_from_slice(&rest[at..]));
    match decode_key(key.clone()) {
        Ok(Some(OffsetsKey::Offset { .. })) => {
            if let Some(v) = value {
                let _ = decode_offset(v);
            }
        }
        Ok(Some(OffsetsKey::Group { .. })) => {
            if let Some(v) = value {
                let _ = decode_group(v);
            }
        }
        Ok(None) => {
            if let Ok(Some(record)) = ConsumerGroupRecord::decode(key, value) {
                let mut groups = BTreeMap::new();
                record.apply(&mut groups, 0);
            }
        }
        Err(_) => {}
    }
});
