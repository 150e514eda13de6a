//! Object bytes between HTTP bodies and blobs, never whole in memory: an upload is streamed into
//! a blob writer (hashing MD5 and the requested checksum on the way) and committed only once the
//! caller has checked the digests; a download streams blob reads, piece after piece.

use std::io::{Read, Write};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::StreamingBlob;
use storage::{BlobStore, BlobWriter, StorageError};

use crate::error::{Error, Result};
use crate::model::{Piece, new_blob_key};

/// Bytes moved per read or channel message.
const CHUNK: usize = 256 << 10;
/// Objects up to this size are read in one go, on the calling task.
const SMALL: u64 = 64 << 10;

/// What the writing thread hands back: the open writer, the digests and the byte count.
type Written = (Box<dyn BlobWriter>, Md5, ChecksumHasher, u64);

/// A body that has been written in full but is not visible yet.
pub struct Received {
    writer: Box<dyn BlobWriter>,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksums: s3s::dto::Checksum,
}

impl Received {
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }

    /// Makes the bytes durable under a fresh blob key.
    pub async fn commit(self) -> Result<Piece> {
        let key = new_blob_key();
        let writer = self.writer;
        let len = blocking(move || writer.commit(&key).map(|len| Piece { blob: key, len })).await?;
        Ok(len)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::InternalError(format!("blob task failed: {e}")))?
        .map_err(Error::from)
}

fn io(context: &str, e: std::io::Error) -> StorageError {
    StorageError::io(context.to_owned(), e)
}

/// Reads `body` to its end into a new blob writer, hashing as it goes. A body that fails midway
/// leaves nothing behind (the writer is dropped uncommitted).
pub async fn receive(
    blobs: &Arc<dyn BlobStore>,
    body: Option<StreamingBlob>,
    hasher: ChecksumHasher,
) -> Result<Received> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let store = blobs.clone();
    let writing = tokio::task::spawn_blocking(move || -> Result<Written, StorageError> {
        let mut writer = store.writer()?;
        let mut md5 = Md5::new();
        let mut hasher = hasher;
        let mut size = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            md5.update(&chunk);
            hasher.update(&chunk);
            writer.write_all(&chunk).map_err(|e| io("writing an object", e))?;
            size += chunk.len() as u64;
        }
        Ok((writer, md5, hasher, size))
    });
    let mut failure = None;
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => {
                    if tx.send(bytes).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(body_error(&*e));
                    break;
                }
            }
        }
    }
    drop(tx);
    let (writer, md5, hasher, size) =
        writing.await.map_err(|e| Error::InternalError(format!("blob task failed: {e}")))??;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Received { writer, size, md5: md5.finalize(), checksums: hasher.finalize() })
}

/// What a failed request body means to the client: a chunk signature that did not verify, or a
/// body that ended early.
fn body_error(e: &(dyn std::error::Error + 'static)) -> Error {
    let text = format!("{e:?}");
    if text.contains("SignatureMismatch") {
        Error::SignatureDoesNotMatch
    } else {
        Error::IncompleteBody(text)
    }
}

/// Streams `range` of an object made of `pieces`.
pub async fn send(blobs: &Arc<dyn BlobStore>, pieces: &[Piece], range: Range<u64>) -> Result<StreamingBlob> {
    let spans = spans(pieces, range.clone());
    if range.end - range.start <= SMALL {
        // Small reads cost less than a hop to the blocking pool.
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        for (blob, r) in &spans {
            read_span(blobs.as_ref(), blob, r.clone(), &mut |b| {
                out.extend_from_slice(b);
                true
            })?;
        }
        let once = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(out))]);
        return Ok(StreamingBlob::wrap(once));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let store = blobs.clone();
    tokio::task::spawn_blocking(move || {
        for (blob, r) in spans {
            let result = read_span(store.as_ref(), &blob, r, &mut |b| {
                tx.blocking_send(Ok(Bytes::copy_from_slice(b))).is_ok()
            });
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(StreamingBlob::wrap(SyncStream(std::sync::Mutex::new(Box::pin(stream)))))
}

/// Which bytes of which blob make up `range` of the object.
fn spans(pieces: &[Piece], range: Range<u64>) -> Vec<(String, Range<u64>)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for p in pieces {
        let (start, end) = (offset, offset + p.len);
        offset = end;
        let lo = range.start.max(start);
        let hi = range.end.min(end);
        if lo < hi {
            out.push((p.blob.clone(), lo - start..hi - start));
        }
    }
    out
}

/// Reads `range` of `blob`, handing each chunk to `sink` until it returns false.
fn read_span(
    blobs: &dyn BlobStore,
    blob: &str,
    range: Range<u64>,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<()> {
    let want = range.end - range.start;
    let mut reader = blobs
        .read(blob, Some(range))?
        .ok_or_else(|| Error::InternalError(format!("blob {blob} of an object is missing")))?;
    let mut buf = vec![0u8; CHUNK.min(want as usize).max(1)];
    let mut got = 0u64;
    while got < want {
        let n = reader.read(&mut buf).map_err(|e| io("reading an object", e))?;
        if n == 0 {
            return Err(Error::InternalError(format!("blob {blob} is shorter than its record")));
        }
        got += n as u64;
        if !sink(&buf[..n]) {
            break;
        }
    }
    Ok(())
}

/// Copies `range` of an object into a new blob (CopyObject, UploadPartCopy), hashing as it goes.
pub async fn copy(
    blobs: &Arc<dyn BlobStore>,
    pieces: &[Piece],
    range: Range<u64>,
    hasher: ChecksumHasher,
) -> Result<Received> {
    let spans = spans(pieces, range);
    let store = blobs.clone();
    blocking(move || {
        let mut writer = store.writer()?;
        let mut md5 = Md5::new();
        let mut hasher = hasher;
        let mut size = 0u64;
        let mut failed = None;
        for (blob, r) in spans {
            read_span(store.as_ref(), &blob, r, &mut |b| {
                md5.update(b);
                hasher.update(b);
                size += b.len() as u64;
                match writer.write_all(b) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })
            .map_err(|e| StorageError::Engine(e.to_string()))?;
            if let Some(e) = failed.take() {
                return Err(io("copying an object", e));
            }
        }
        Ok(Received { writer, size, md5: md5.finalize(), checksums: hasher.finalize() })
    })
    .await
}

/// Deletes blobs no record points at any more. Failures only leak space, so they are logged.
pub fn forget(blobs: &Arc<dyn BlobStore>, pieces: Vec<Piece>) {
    if pieces.is_empty() {
        return;
    }
    let store = blobs.clone();
    tokio::task::spawn_blocking(move || {
        for p in pieces {
            if let Err(e) = store.delete(&p.blob) {
                tracing::warn!(blob = %p.blob, error = %e, "could not delete an unused blob");
            }
        }
    });
}

/// s3s wants `Sync` streams; a mutex around an unsynchronised one provides it (only one task
/// ever polls a body).
struct SyncStream<S>(std::sync::Mutex<std::pin::Pin<Box<S>>>);

impl<S: futures::Stream> futures::Stream for SyncStream<S> {
    type Item = S::Item;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        match self.0.lock() {
            Ok(mut inner) => inner.as_mut().poll_next(cx),
            Err(_) => std::task::Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_a_range_across_pieces() {
        let pieces = vec![
            Piece { blob: "a".into(), len: 5 },
            Piece { blob: "b".into(), len: 5 },
            Piece { blob: "c".into(), len: 5 },
        ];
        assert_eq!(spans(&pieces, 3..12), vec![("a".into(), 3..5), ("b".into(), 0..5), ("c".into(), 0..2)]);
        assert_eq!(spans(&pieces, 5..10), vec![("b".into(), 0..5)]);
        assert!(spans(&pieces, 15..15).is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn receive_then_send_round_trips_and_uncommitted_bodies_vanish() {
        let store = storage::Store::memory();
        let blobs = store.blobs.clone();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            data.chunks(70_000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let got = receive(
            &blobs,
            Some(StreamingBlob::wrap(futures::stream::iter(chunks))),
            ChecksumHasher::default(),
        )
        .await
        .expect("receive");
        assert_eq!(got.size, data.len() as u64);
        let piece = got.commit().await.expect("commit");
        let mut stream = send(&blobs, std::slice::from_ref(&piece), 1000..250_000).await.expect("send");
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(out, &data[1000..250_000]);

        let failing = futures::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("connection reset")),
        ]);
        let err = receive(&blobs, Some(StreamingBlob::wrap(failing)), ChecksumHasher::default()).await.err();
        assert!(matches!(err, Some(Error::IncompleteBody(_))), "{err:?}");
    }
}
