//! Producer id allocation: the controller hands out blocks of ids, so a
//! broker serves InitProducerId without a metadata commit per producer and no
//! two brokers ever give out the same id.

use std::ops::Range;

use kafka_protocol::error::ResponseError;

use super::Rejection;
use crate::metadata::{MetadataImage, MetadataRecord};

/// Ids per block, as in Kafka (`ProducerIdManager`'s block size).
pub const BLOCK_SIZE: i64 = 1000;

/// Allocates the next block of producer ids to `broker_id`.
pub fn allocate_block(
    image: &MetadataImage,
    broker_id: i32,
) -> Result<(Vec<MetadataRecord>, Range<i64>), Rejection> {
    let start = image.next_producer_id;
    let end = start.checked_add(BLOCK_SIZE).ok_or_else(|| {
        Rejection::new(
            ResponseError::UnknownServerError,
            "producer id space is exhausted",
        )
    })?;
    Ok((
        vec![MetadataRecord::ProducerIds {
            broker_id,
            next_producer_id: end,
        }],
        start..end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_never_overlap() {
        let mut image = MetadataImage::default();
        let (records, first) = allocate_block(&image, 0).unwrap();
        image.apply_all(&records);
        let (_, second) = allocate_block(&image, 1).unwrap();
        assert_eq!(first, 0..BLOCK_SIZE);
        assert_eq!(second, BLOCK_SIZE..2 * BLOCK_SIZE);
    }

    #[test]
    fn an_exhausted_id_space_is_refused() {
        let image = MetadataImage {
            next_producer_id: i64::MAX - 10,
            ..MetadataImage::default()
        };
        assert!(allocate_block(&image, 0).is_err());
    }
}
