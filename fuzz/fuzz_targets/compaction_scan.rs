//! The log cleaner's key scan and rewrite over arbitrary stored batches: a
//! segment on disk may be damaged, so every input gets `Ok` or an error,
//! never a panic; and a rewritten batch must itself scan cleanly, with no
//! more records than the original.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_broker::log::batch::BatchHeader;
use weir_broker::log::cleaner::{clean_batch, CleanedBatch, OffsetMap};
use weir_broker::log::records;

fuzz_target!(|data: &[u8]| {
    let mut map = OffsetMap::default();
    if map.add(data).is_err() {
        return;
    }
    for drop_tombstones in [false, true] {
        if let Ok(CleanedBatch::Rewritten(out)) = clean_batch(data, &map, drop_tombstones) {
            let before = BatchHeader::parse(data).map(|h| h.records_count);
            let after = BatchHeader::parse(&out).map(|h| h.records_count);
            assert!(after < before, "a rewrite keeps fewer records");
            records::scan(&out, None, |_, _| Ok(())).expect("a rewritten batch scans");
        }
    }
});
