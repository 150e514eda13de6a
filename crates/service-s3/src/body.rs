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
use crate::model::{INLINE, Piece, new_blob_key};

/// Bytes moved per read or per hop to the blocking pool.
const CHUNK: usize = 256 << 10;
/// Objects up to this size are read in one go, on the calling task, and bodies up to it are
/// hashed on the task and written in the same hop as their commit.
const SMALL: u64 = 64 << 10;

/// Where a received body waits for its commit.
enum Held {
    /// A small body, not written yet: its commit writes and syncs it in one hop.
    Buffered(Vec<Bytes>),
    /// A body already streamed into a blob writer.
    Open(Box<dyn BlobWriter>),
}

/// A body that has been written in full but is not visible yet.
pub struct Received {
    held: Held,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksums: s3s::dto::Checksum,
}

impl Received {
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }

    /// Makes the bytes durable: a small body becomes an inline piece (durable with the record
    /// that holds it), any other a blob under a fresh key.
    pub async fn commit(self, blobs: &Arc<dyn BlobStore>) -> Result<Piece> {
        if let Held::Buffered(chunks) = &self.held
            && self.size <= INLINE
        {
            return Ok(Piece::inline(concat(chunks)));
        }
        let key = new_blob_key();
        let store = blobs.clone();
        let held = self.held;
        blocking(move || {
            let writer = match held {
                Held::Open(writer) => writer,
                Held::Buffered(chunks) => {
                    let mut writer = store.writer()?;
                    for chunk in &chunks {
                        writer.write_all(chunk).map_err(|e| io("writing an object", e))?;
                    }
                    writer
                }
            };
            writer.commit(&key).map(|len| Piece::blob(key, len))
        })
        .await
    }
}

fn concat(chunks: &[Bytes]) -> Bytes {
    match chunks {
        [one] => one.clone(),
        _ => Bytes::from(chunks.concat()),
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

/// An upload on its way into a blob: the digests so far, and the batch being written on the
/// blocking pool, if any (its task hands the writer back).
struct Writing {
    md5: Md5,
    hasher: ChecksumHasher,
    in_flight: Option<tokio::task::JoinHandle<Result<Box<dyn BlobWriter>, StorageError>>>,
}

impl Writing {
    fn hash(&mut self, chunks: &[Bytes]) {
        for chunk in chunks {
            self.md5.update(chunk);
            self.hasher.update(chunk);
        }
    }

    /// Hashes `chunks` here, then hands them to the blocking pool to write once the previous
    /// batch is written. The digests of one batch are computed while the previous one goes to
    /// disk, and the body is read on meanwhile, so a large PUT costs about the larger of the
    /// two, not their sum. Each hop holds a thread only for file IO, never while the client is
    /// still sending: a slow upload must not pin a thread.
    async fn write(&mut self, store: &Arc<dyn BlobStore>, chunks: Vec<Bytes>) -> Result<()> {
        self.hash(&chunks);
        let writer = self.settle().await?;
        let store = store.clone();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let mut writer = match writer {
                Some(writer) => writer,
                None => store.writer()?,
            };
            for chunk in &chunks {
                writer.write_all(chunk).map_err(|e| io("writing an object", e))?;
            }
            Ok(writer)
        }));
        Ok(())
    }

    /// Waits for the batch in flight; the writer, once one was opened.
    async fn settle(&mut self) -> Result<Option<Box<dyn BlobWriter>>> {
        let Some(task) = self.in_flight.take() else { return Ok(None) };
        let writer = task.await.map_err(|e| Error::InternalError(format!("blob task failed: {e}")))??;
        Ok(Some(writer))
    }
}

/// Reads `body` to its end into a new blob writer, hashing as it goes. A body that fails midway
/// leaves nothing behind (the writer is dropped uncommitted, also by a batch still in flight).
pub async fn receive(
    blobs: &Arc<dyn BlobStore>,
    body: Option<StreamingBlob>,
    hasher: ChecksumHasher,
) -> Result<Received> {
    let mut writing = Writing { md5: Md5::new(), hasher, in_flight: None };
    let mut batch = Vec::new();
    let (mut batched, mut size) = (0usize, 0u64);
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let bytes = chunk.map_err(|e| body_error(&*e))?;
            batched += bytes.len();
            size += bytes.len() as u64;
            batch.push(bytes);
            if batched >= CHUNK {
                writing.write(blobs, std::mem::take(&mut batch)).await?;
                batched = 0;
            }
        }
    }
    let held = if writing.in_flight.is_none() && size <= SMALL {
        writing.hash(&batch);
        Held::Buffered(batch)
    } else {
        writing.write(blobs, batch).await?;
        Held::Open(writing.settle().await?.expect("write opens the writer"))
    };
    Ok(Received { held, size, md5: writing.md5.finalize(), checksums: writing.hasher.finalize() })
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
        for (piece, r) in &spans {
            read_span(blobs.as_ref(), piece, r.clone(), &mut |b| {
                out.extend_from_slice(b);
                true
            })?;
        }
        let once = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(out))]);
        return Ok(StreamingBlob::wrap(once));
    }
    let reading = Reading { store: blobs.clone(), spans: spans.into(), open: None };
    let stream = futures::stream::try_unfold(reading, |reading| reading.next());
    Ok(StreamingBlob::wrap(SyncStream(std::sync::Mutex::new(Box::pin(stream)))))
}

/// A download on its way out: the spans still to send and the one being read. Each chunk is
/// one hop to the blocking pool, so a slow reader holds no thread between chunks.
struct Reading {
    store: Arc<dyn BlobStore>,
    spans: std::collections::VecDeque<(Piece, Range<u64>)>,
    open: Option<(String, Box<dyn Read + Send>, u64)>,
}

impl Reading {
    async fn next(mut self) -> std::io::Result<Option<(Bytes, Reading)>> {
        if self.open.is_none() {
            match self.spans.front() {
                None => return Ok(None),
                Some((Piece { inline: Some(bytes), .. }, r)) => {
                    let chunk = bytes.slice(r.start as usize..r.end as usize);
                    self.spans.pop_front();
                    return Ok(Some((chunk, self)));
                }
                Some(_) => {}
            }
        }
        let read = tokio::task::spawn_blocking(move || {
            let chunk = self.read_chunk()?;
            Ok::<_, Error>((chunk, self))
        });
        match read.await {
            Ok(Ok((chunk, reading))) => Ok(Some((chunk, reading))),
            Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
            Err(e) => Err(std::io::Error::other(format!("blob task failed: {e}"))),
        }
    }

    /// Up to [`CHUNK`] bytes of the current span, opening the next one when needed.
    fn read_chunk(&mut self) -> Result<Bytes> {
        let (blob, mut reader, left) = match self.open.take() {
            Some(open) => open,
            None => {
                let (Piece { blob, .. }, r) = self.spans.pop_front().expect("next() checks for a span");
                let reader = self
                    .store
                    .read(&blob, Some(r.clone()))?
                    .ok_or_else(|| Error::InternalError(format!("blob {blob} of an object is missing")))?;
                (blob, reader, r.end - r.start)
            }
        };
        let mut buf = vec![0u8; CHUNK.min(left as usize)];
        let mut filled = 0;
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..]).map_err(|e| io("reading an object", e))?;
            if n == 0 {
                return Err(Error::InternalError(format!("blob {blob} is shorter than its record")));
            }
            filled += n;
        }
        let left = left - filled as u64;
        if left > 0 {
            self.open = Some((blob, reader, left));
        }
        Ok(Bytes::from(buf))
    }
}

/// Which bytes of which piece make up `range` of the object.
fn spans(pieces: &[Piece], range: Range<u64>) -> Vec<(Piece, Range<u64>)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for p in pieces {
        let (start, end) = (offset, offset + p.len);
        offset = end;
        let lo = range.start.max(start);
        let hi = range.end.min(end);
        if lo < hi {
            out.push((p.clone(), lo - start..hi - start));
        }
    }
    out
}

/// Reads `range` of `piece`, handing each chunk to `sink` until it returns false.
fn read_span(
    blobs: &dyn BlobStore,
    piece: &Piece,
    range: Range<u64>,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<()> {
    let blob = match &piece.inline {
        Some(bytes) => {
            sink(&bytes[range.start as usize..range.end as usize]);
            return Ok(());
        }
        None => &piece.blob,
    };
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
    mut hasher: ChecksumHasher,
) -> Result<Received> {
    let size = range.end - range.start;
    let spans = spans(pieces, range);
    if size <= INLINE {
        // Small enough to stay inline: read on the task, as a small GET is.
        let mut out = Vec::with_capacity(size as usize);
        for (piece, r) in &spans {
            read_span(blobs.as_ref(), piece, r.clone(), &mut |b| {
                out.extend_from_slice(b);
                true
            })?;
        }
        let mut md5 = Md5::new();
        md5.update(&out);
        hasher.update(&out);
        let held = Held::Buffered(vec![Bytes::from(out)]);
        return Ok(Received { held, size, md5: md5.finalize(), checksums: hasher.finalize() });
    }
    let store = blobs.clone();
    blocking(move || {
        let mut writer = store.writer()?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut failed = None;
        for (piece, r) in spans {
            read_span(store.as_ref(), &piece, r, &mut |b| {
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
        Ok(Received { held: Held::Open(writer), size, md5: md5.finalize(), checksums: hasher.finalize() })
    })
    .await
}

/// Deletes blobs no record points at any more. Failures only leak space, so they are logged.
pub fn forget(blobs: &Arc<dyn BlobStore>, mut pieces: Vec<Piece>) {
    // Inline bytes went with their record (a version's copy may have dropped them already).
    pieces.retain(|p| p.inline.is_none() && !p.blob.is_empty());
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
            Piece::blob("a".into(), 5),
            Piece::inline(Bytes::from_static(b"01234")),
            Piece::blob("c".into(), 5),
        ];
        let named = |r| spans(&pieces, r).into_iter().map(|(p, r)| (p.blob, r)).collect::<Vec<(String, _)>>();
        assert_eq!(named(3..12), vec![("a".into(), 3..5), ("".into(), 0..5), ("c".into(), 0..2)]);
        assert_eq!(spans(&pieces, 5..10), vec![(pieces[1].clone(), 0..5)]);
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
        let piece = got.commit(&blobs).await.expect("commit");
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

    /// Slow clients must not starve the blocking pool: with one blocking thread, an upload and a
    /// download whose clients stall leave room for another upload to complete.
    #[test]
    fn a_stalled_client_holds_no_blocking_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let blobs = storage::Store::memory().blobs.clone();
            let big: Vec<u8> = vec![7; 8 * CHUNK];
            let stored = receive(
                &blobs,
                Some(StreamingBlob::from(s3s::Body::from(big.clone()))),
                ChecksumHasher::default(),
            )
            .await
            .expect("receive")
            .commit(&blobs)
            .await
            .expect("commit");
            // A download read once, then left unread; an upload that sent a chunk and stalled.
            let mut download =
                send(&blobs, std::slice::from_ref(&stored), 0..big.len() as u64).await.expect("send");
            assert_eq!(download.next().await.expect("a chunk").expect("bytes").len(), CHUNK);
            let stalled = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![1u8; CHUNK]))])
                .chain(futures::stream::pending());
            let blobs2 = blobs.clone();
            let upload = tokio::spawn(async move {
                receive(&blobs2, Some(StreamingBlob::wrap(stalled)), ChecksumHasher::default())
                    .await
                    .map(|r| r.size)
            });
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let other = async {
                let body = StreamingBlob::from(s3s::Body::from(vec![2u8; 2 * CHUNK]));
                receive(&blobs, Some(body), ChecksumHasher::default()).await?.commit(&blobs).await
            };
            let piece = tokio::time::timeout(std::time::Duration::from_secs(5), other)
                .await
                .expect("an upload completes beside stalled clients")
                .expect("upload");
            assert_eq!(piece.len, 2 * CHUNK as u64);
            assert!(!upload.is_finished());
            upload.abort();
            drop(download);
        });
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn small_bodies_stay_inline_and_mix_with_blobs() {
        let blobs = storage::Store::memory().blobs.clone();
        let body = StreamingBlob::from(s3s::Body::from(b"hello world".to_vec()));
        let small = receive(&blobs, Some(body), ChecksumHasher::default()).await.expect("receive");
        assert_eq!(small.etag(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        let small = small.commit(&blobs).await.expect("commit");
        assert_eq!(small, Piece::inline(Bytes::from_static(b"hello world")));

        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 249) as u8).collect();
        let body = StreamingBlob::from(s3s::Body::from(data.clone()));
        let large = receive(&blobs, Some(body), ChecksumHasher::default()).await.expect("receive");
        let large = large.commit(&blobs).await.expect("commit");
        assert!(large.inline.is_none() && !large.blob.is_empty());

        // An object whose first part was small: a range across both pieces, past SMALL.
        let pieces = [small.clone(), large];
        let mut stream = send(&blobs, &pieces, 6..90_011).await.expect("send");
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(&out[..5], b"world");
        assert_eq!(&out[5..], &data[..90_000]);

        let copied = copy(&blobs, &pieces, 0..5, ChecksumHasher::default()).await.expect("copy");
        assert_eq!(copied.commit(&blobs).await.expect("commit"), Piece::inline(Bytes::from_static(b"hello")));

        let json = crate::model::encode(&small).expect("encode");
        assert_eq!(json, br#"{"len":11,"inline":"aGVsbG8gd29ybGQ="}"#);
        assert_eq!(crate::model::decode::<Piece>(&json).expect("decode"), small);
        let older: Piece = crate::model::decode(br#"{"blob":"b1","len":3}"#).expect("decode");
        assert_eq!(older, Piece::blob("b1".into(), 3));
    }
}
