//! Log streams: create, delete (events left to the purge) and describe, ordered by name or by
//! last event time, with paging.

use protocol::Response;
use serde_json::{Map, Value, json};
use storage::Batch;

use crate::error::{self, Error};
use crate::model::{self, GROUPS, PURGE, STREAMS, StreamRecord};
use crate::operation::{DescribeLogStreams, OrderBy};
use crate::{Env, token};

impl Env<'_> {
    pub fn create_log_stream(&self, group: &str, stream: &str) -> Result<Response, Error> {
        let gkey = model::group_key(self.scope(), group);
        let skey = model::stream_key(self.scope(), group, stream);
        self.db.transact(|| {
            self.load_group_named(group)?;
            if self.db.kv.get(STREAMS, &skey)?.is_some() {
                return Err(Error::ResourceAlreadyExistsException(
                    "The specified log stream already exists".to_owned(),
                ));
            }
            let record = StreamRecord::new(stream, self.now);
            let batch = Batch::new()
                .expect_present(GROUPS, gkey.clone())
                .expect_absent(STREAMS, skey.clone())
                .put(STREAMS, skey.clone(), model::encode(&record));
            Ok((batch, ()))
        })?;
        Ok(self.empty())
    }

    pub fn delete_log_stream(&self, group: &str, stream: &str) -> Result<Response, Error> {
        let skey = model::stream_key(self.scope(), group, stream);
        self.db.transact(|| {
            self.load_group_named(group)?;
            let (raw, record) =
                self.db.stream(self.scope(), group, stream)?.ok_or_else(error::stream_not_found)?;
            let batch = Batch::new()
                .expect_value(STREAMS, skey.clone(), raw)
                .delete(STREAMS, skey.clone())
                .put(PURGE, model::events_prefix(self.scope(), &record.id_bytes()?), Vec::new());
            Ok((batch, ()))
        })?;
        self.writer.nudge_purge();
        Ok(self.empty())
    }

    pub fn describe_log_streams(&self, input: &DescribeLogStreams) -> Result<Response, Error> {
        let (_, group) = self.load_group(&input.group)?;
        let mut prefix = model::streams_prefix(self.scope(), &group.name);
        prefix.extend_from_slice(input.prefix.as_deref().unwrap_or("").as_bytes());
        let mut streams: Vec<StreamRecord> = self.db.all(STREAMS, prefix)?;
        // The sort key of a stream; the token is the sort key of the last one returned.
        let sort_key = |s: &StreamRecord| match input.order_by {
            OrderBy::LogStreamName => s.name.clone(),
            OrderBy::LastEventTime => format!("{:020}/{}", s.last_event.unwrap_or(0), s.name),
        };
        streams.sort_by_cached_key(sort_key);
        if input.descending {
            streams.reverse();
        }
        let after = input.next_token.as_deref().map(token::parse_after_name).transpose()?;
        let mut page = Vec::new();
        let mut next_token = None;
        for s in streams {
            let key = sort_key(&s);
            let seen = after
                .as_deref()
                .is_some_and(|a| if input.descending { key.as_str() >= a } else { key.as_str() <= a });
            if seen {
                continue;
            }
            if page.len() == input.limit {
                next_token = page.last().map(sort_key).map(|k| token::after_name(&k));
                break;
            }
            page.push(s);
        }
        let rendered: Vec<Value> = page.iter().map(|s| self.render_stream(&group.name, s)).collect();
        let mut body = Map::new();
        body.insert("logStreams".into(), Value::Array(rendered));
        if let Some(t) = next_token {
            body.insert("nextToken".into(), Value::String(t));
        }
        Ok(self.respond(&body))
    }

    fn render_stream(&self, group: &str, s: &StreamRecord) -> Value {
        let mut v = json!({
            "logStreamName": s.name,
            "creationTime": s.created,
            "arn": format!("{}:log-stream:{}", self.group_arn(group), s.name),
            // AWS has reported 0 for streams since 2019; the group's figure is the real one.
            "storedBytes": 0,
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(t) = s.first_event {
                obj.insert("firstEventTimestamp".into(), json!(t));
            }
            if let Some(t) = s.last_event {
                obj.insert("lastEventTimestamp".into(), json!(t));
            }
            if let Some(t) = s.last_ingestion {
                obj.insert("lastIngestionTime".into(), json!(t));
            }
            obj.insert("uploadSequenceToken".into(), json!(sequence_token(s.next_seq)));
        }
        v
    }
}

/// A sequence token: AWS ignores them now, but clients still read and send them.
pub fn sequence_token(next_seq: u64) -> String {
    format!("{:056}", next_seq)
}
