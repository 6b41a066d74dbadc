//! Record batches built by hand, for requests whose bytes a test controls.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// An idempotent producer's place in a batch: producer id, epoch and the
/// sequence of the first record.
pub type ProducerSequence = (i64, i16, i32);

/// One uncompressed v2 batch of unkeyed `values`, from a plain producer or,
/// with `producer`, an idempotent one — for requests real clients would not
/// send, or whose bytes a test must control.
pub fn record_batch(values: &[&[u8]], producer: Option<ProducerSequence>) -> Bytes {
    let (producer_id, producer_epoch, base_sequence) = producer.unwrap_or((-1, -1, 0));
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_sequence + i as i32,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::copy_from_slice(v)),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    buf.freeze()
}
