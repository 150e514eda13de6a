//! FilterLogEvents: the chosen streams of a group, each read as a range scan over the time
//! window, merged into one interleaved order (timestamp, stream name, seq) and filtered by the
//! pattern. The token names the last event examined, so a page may stop early (response size,
//! scan budget) and the next one resumes exactly after it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use protocol::Response;
use serde_json::{Map, Value, json};

use crate::Env;
use crate::error::Error;
use crate::events::{MAX_RESPONSE_BYTES, Window};
use crate::model::{self, Position, STREAMS, StoredEvent, StreamRecord};
use crate::operation::{EVENT_OVERHEAD, FilterLogEvents, StreamSelection};
use crate::token::{self, Direction};

/// How many events one cursor reads from the store at a time.
const CHUNK: usize = 256;
/// How many events one call examines at most before answering with a token, so that a rare
/// pattern over a large group cannot hold a request for long.
const SCAN_BUDGET: usize = 100_000;

/// One stream being read forward.
struct Cursor {
    name: String,
    /// The number that makes this stream's event ids unique.
    id_number: u64,
    prefix: Vec<u8>,
    buffer: VecDeque<StoredEvent>,
    /// Where the next read starts; `None` once the stream is exhausted.
    next_read: Option<Position>,
}

impl Env<'_> {
    fn refill(&self, cursor: &mut Cursor, window: Window) -> Result<(), Error> {
        if !cursor.buffer.is_empty() {
            return Ok(());
        }
        let Some(from) = cursor.next_read else { return Ok(()) };
        let events = self.read_events(&cursor.prefix, window, from, Direction::Forward, CHUNK)?;
        cursor.next_read = if events.len() < CHUNK { None } else { events.last().map(|e| e.at.next()) };
        cursor.buffer.extend(events);
        Ok(())
    }

    fn selected_streams(&self, group: &str, selection: &StreamSelection) -> Result<Vec<StreamRecord>, Error> {
        let prefix = model::streams_prefix(self.scope(), group);
        Ok(match selection {
            StreamSelection::All => self.db.all(STREAMS, prefix)?,
            StreamSelection::Prefix(p) => {
                let mut prefix = prefix;
                prefix.extend_from_slice(p.as_bytes());
                self.db.all(STREAMS, prefix)?
            }
            StreamSelection::Names(names) => {
                let mut names = names.clone();
                names.sort();
                names.dedup();
                let mut out = Vec::with_capacity(names.len());
                for n in &names {
                    if let Some((_, s)) = self.db.stream(self.scope(), group, n)? {
                        out.push(s);
                    }
                }
                out
            }
        })
    }

    pub fn filter_log_events(&self, input: &FilterLogEvents) -> Result<Response, Error> {
        let (_, group) = self.load_group(&input.group)?;
        let window = Window::new(input.start_time, input.end_time, true, group.retention_cutoff(self.now));
        let resume = input.next_token.as_deref().map(token::parse_filter_token).transpose()?;
        let mut cursors = Vec::new();
        for s in self.selected_streams(&group.name, &input.streams)? {
            // A stream whose events all lie outside the window is not read at all.
            let (Some(first), Some(last)) = (s.first_event, s.last_event) else { continue };
            let outside = u64::try_from(last).unwrap_or(0) < window.lo.timestamp
                || window.hi.is_some_and(|hi| u64::try_from(first).unwrap_or(0) >= hi.timestamp);
            if outside {
                continue;
            }
            let from = match &resume {
                None => window.lo,
                Some((ts, name, seq)) => match s.name.as_str().cmp(name.as_str()) {
                    std::cmp::Ordering::Less => Position::at(ts.saturating_add(1)),
                    std::cmp::Ordering::Equal => Position { timestamp: *ts, seq: *seq }.next(),
                    std::cmp::Ordering::Greater => Position::at(*ts),
                },
            };
            let id = s.id_bytes()?;
            let id_number = u64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]]);
            cursors.push(Cursor {
                name: s.name,
                id_number,
                prefix: model::events_prefix(self.scope(), &id),
                buffer: VecDeque::new(),
                next_read: Some(from),
            });
        }
        // Cursors are in name order, so (timestamp, cursor index, seq) is the interleaved order.
        let mut heap = BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            self.refill(c, window)?;
            if let Some(e) = c.buffer.front() {
                heap.push(Reverse((e.at.timestamp, i, e.at.seq)));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut examined = 0;
        let mut last_examined: Option<(u64, usize, u64)> = None;
        let mut stopped = false;
        while let Some(Reverse((ts, i, seq))) = heap.peek().copied() {
            if out.len() == input.limit || examined == SCAN_BUDGET {
                stopped = true;
                break;
            }
            let cursor = &mut cursors[i];
            let Some(event) = cursor.buffer.front() else { break };
            if input.pattern.matches(&event.message) {
                let size = event.message.len() + EVENT_OVERHEAD;
                if bytes + size > MAX_RESPONSE_BYTES {
                    stopped = true;
                    break;
                }
                bytes += size;
                out.push(json!({
                    "logStreamName": cursor.name,
                    "timestamp": event.at.timestamp,
                    "message": event.message,
                    "ingestionTime": event.ingestion_time,
                    "eventId": format!("{:020}{:020}{:016}", ts, cursor.id_number, seq),
                }));
            }
            heap.pop();
            examined += 1;
            last_examined = Some((ts, i, seq));
            cursor.buffer.pop_front();
            self.refill(cursor, window)?;
            if let Some(e) = cursor.buffer.front() {
                heap.push(Reverse((e.at.timestamp, i, e.at.seq)));
            }
        }
        let mut body = Map::new();
        body.insert("events".into(), Value::Array(out));
        // Deprecated by AWS in 2020: always an empty list now.
        body.insert("searchedLogStreams".into(), json!([]));
        if stopped && let Some((ts, i, seq)) = last_examined {
            body.insert("nextToken".into(), json!(token::filter_token(ts, &cursors[i].name, seq)));
        }
        Ok(self.respond(&body))
    }
}
