//! Kafka's framing: every request and response is a 4-byte big-endian size
//! followed by that many bytes.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a frame was refused; the connection is closed, as Kafka does.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The size prefix is negative or zero.
    #[error("invalid request size {0}")]
    InvalidSize(i32),
    /// The size prefix exceeds `socket.request.max.bytes`.
    #[error("request size {size} exceeds socket.request.max.bytes={max}")]
    TooLarge {
        /// The announced size.
        size: i32,
        /// The configured limit.
        max: i32,
    },
    /// The connection ended inside a frame.
    #[error("connection closed in the middle of a request")]
    Truncated,
    /// A socket error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads a frame's size prefix; `Ok(None)` when the peer closed between
/// frames. The body is read separately so the caller can reserve its
/// memory first (`queued.max.request.bytes`).
pub async fn read_size<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_size: i32,
) -> Result<Option<u32>, FrameError> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(size);
    if size <= 0 {
        return Err(FrameError::InvalidSize(size));
    }
    if size > max_size {
        return Err(FrameError::TooLarge {
            size,
            max: max_size,
        });
    }
    u32::try_from(size)
        .map(Some)
        .map_err(|_| FrameError::InvalidSize(size))
}

/// Reads a frame body of `size` bytes (from [`read_size`]).
pub async fn read_body<R: AsyncRead + Unpin>(
    reader: &mut R,
    size: u32,
) -> Result<Bytes, FrameError> {
    let mut buf = BytesMut::zeroed(size as usize);
    match reader.read_exact(&mut buf).await {
        Ok(_) => Ok(buf.freeze()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn oversized_negative_and_truncated_frames_are_refused() {
        let mut ok: &[u8] = &[0, 0, 0, 2, 7, 8];
        let size = read_size(&mut ok, 10).await.unwrap().unwrap();
        assert_eq!(read_body(&mut ok, size).await.unwrap().as_ref(), &[7, 8]);
        assert!(read_size(&mut ok, 10).await.unwrap().is_none());
        let mut big: &[u8] = &[0, 0, 1, 0];
        assert!(matches!(
            read_size(&mut big, 10).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut neg: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_size(&mut neg, 10).await,
            Err(FrameError::InvalidSize(-1))
        ));
        let mut cut: &[u8] = &[0, 0, 0, 5, 1];
        let size = read_size(&mut cut, 10).await.unwrap().unwrap();
        assert!(matches!(
            read_body(&mut cut, size).await,
            Err(FrameError::Truncated)
        ));
    }
}
