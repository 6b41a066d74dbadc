//! Produced record batches through the broker's validator, for every codec,
//! on plain and compacted topics: every input gets `Ok` or a Kafka error,
//! never a panic, and memory stays bounded however far a batch inflates.
//!
//! Input: a mode byte, then either a whole batch (its CRC and length are
//! fixed up, so the fuzzer reaches the records instead of failing the CRC)
//! or raw records that are compressed with the chosen codec and wrapped in
//! a valid header (so every codec's record parsing is explored).

#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use weir_broker::log::batch::{set_crc, HEADER_LEN, LOG_OVERHEAD};
use weir_broker::log::codec::{codec_of, compressor};
use weir_broker::log::validate::validate_and_assign;
use weir_broker::log::LogConfig;

const NOW: i64 = 1_700_000_000_000;

fn wrapped(codec: u8, count: u8, records: &[u8]) -> Option<Vec<u8>> {
    let compression = codec_of(i16::from(codec % 5)).ok()?;
    let mut batch = vec![0u8; HEADER_LEN];
    {
        let mut w = compressor(compression, &mut batch).ok()?;
        w.write_all(records).ok()?;
        w.finish().ok()?;
    }
    let count = i32::from(count % 16);
    batch[16] = 2;
    batch[21..23].copy_from_slice(&i16::from(codec % 5).to_be_bytes());
    batch[23..27].copy_from_slice(&(count - 1).max(0).to_be_bytes());
    batch[27..35].copy_from_slice(&NOW.to_be_bytes());
    batch[35..43].copy_from_slice(&NOW.to_be_bytes());
    batch[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    batch[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    batch[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    batch[57..61].copy_from_slice(&count.to_be_bytes());
    Some(batch)
}

fn fix_up(mut batch: Vec<u8>) -> Vec<u8> {
    if batch.len() >= HEADER_LEN {
        let len = (batch.len() - LOG_OVERHEAD) as i32;
        batch[8..12].copy_from_slice(&len.to_be_bytes());
        batch[16] = 2;
        set_crc(&mut batch);
    }
    batch
}

fuzz_target!(|data: &[u8]| {
    let [mode, codec, count, rest @ ..] = data else {
        return;
    };
    let batch = if mode % 2 == 0 {
        fix_up(rest.to_vec())
    } else {
        match wrapped(*codec, *count, rest) {
            Some(b) => fix_up(b),
            None => return,
        }
    };
    for compact in [false, true] {
        let config = LogConfig {
            compact,
            ..LogConfig::default()
        };
        let mut buf = batch.clone();
        let _ = validate_and_assign(&mut buf, &config, 0, 0, NOW);
    }
});
