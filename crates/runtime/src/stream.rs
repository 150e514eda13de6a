//! Response streaming as the invoker sees it: [`RuntimeManager::invoke_streaming`] hands back
//! the function's streamed response while the function is still writing it.
//!
//! [`RuntimeManager::invoke_streaming`]: crate::RuntimeManager::invoke_streaming

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::Piece;
use crate::error::RuntimeError;
use crate::outcome::InvokeOutcome;

/// How many chunks wait between the Runtime API and a slow reader before the function's
/// writes wait too.
pub(crate) const STREAM_BUFFER: usize = 8;

/// What [`RuntimeManager::invoke_streaming`](crate::RuntimeManager::invoke_streaming) found.
#[derive(Debug)]
pub enum Streamed {
    /// The function answered without streaming, or failed before it began to stream.
    Finished(Box<InvokeOutcome>),
    /// The function is streaming its response.
    Streaming(ResponseStream),
}

/// A streamed response being written. Read it with [`chunk`](Self::chunk) until `None`, then
/// take the [`outcome`](Self::outcome) (its error, if it failed midway, and its logs). Dropping
/// it neither stops nor blocks the function: what it writes from then on is dropped.
#[derive(Debug)]
pub struct ResponseStream {
    /// The `Content-Type` the runtime gave its stream
    /// (`application/vnd.awslambda.http-integration-response` for HTTP integrations).
    pub content_type: Option<String>,
    pending: Option<Bytes>,
    pieces: mpsc::Receiver<Piece>,
    task: JoinHandle<Result<InvokeOutcome, RuntimeError>>,
}

impl ResponseStream {
    /// The next bytes the function wrote, as it writes them; `None` once its stream ended
    /// (finished, failed, timed out or too large: the outcome says which).
    pub async fn chunk(&mut self) -> Option<Bytes> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        loop {
            match self.pieces.recv().await? {
                Piece::Data(d) if !d.is_empty() => return Some(d),
                Piece::Data(_) | Piece::Head { .. } => {}
            }
        }
    }

    /// How the invocation ended. Whatever is left of the stream is dropped.
    pub async fn outcome(self) -> Result<InvokeOutcome, RuntimeError> {
        drop(self.pieces);
        self.task.await.map_err(|e| RuntimeError::Internal(format!("invocation task failed: {e}")))?
    }
}

/// Waits until the function starts streaming (its stream's head arrives) or the invocation ends.
pub(crate) async fn started(
    mut pieces: mpsc::Receiver<Piece>,
    mut task: JoinHandle<Result<InvokeOutcome, RuntimeError>>,
) -> Result<Streamed, RuntimeError> {
    let first = tokio::select! {
        // The head is sent before the response can end the invocation: look at it first.
        biased;
        piece = pieces.recv() => piece,
        joined = &mut task => {
            let outcome = joined.map_err(|e| RuntimeError::Internal(format!("invocation task failed: {e}")))??;
            return Ok(Streamed::Finished(Box::new(outcome)));
        }
    };
    let (content_type, pending) = match first {
        Some(Piece::Head { content_type }) => (content_type, None),
        Some(Piece::Data(d)) => (None, Some(d)),
        None => {
            let outcome =
                task.await.map_err(|e| RuntimeError::Internal(format!("invocation task failed: {e}")))??;
            return Ok(Streamed::Finished(Box::new(outcome)));
        }
    };
    Ok(Streamed::Streaming(ResponseStream { content_type, pending, pieces, task }))
}
