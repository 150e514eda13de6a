//! Log groups: create, delete (with their streams, whose events the purge removes later),
//! describe with paging, and the retention policy.

use std::collections::BTreeMap;

use protocol::Response;
use serde_json::{Map, Value, json};
use storage::Batch;

use crate::db::new_group;
use crate::error::{self, Error};
use crate::model::{self, GROUPS, GroupRecord, PURGE, STREAMS, StreamRecord};
use crate::operation::{DescribeLogGroups, GroupRef};
use crate::{Env, token};

impl Env<'_> {
    /// The group a request names; an ARN of another account or region names nothing here.
    pub fn load_group(&self, group: &GroupRef) -> Result<(Vec<u8>, GroupRecord), Error> {
        if let Some((account, region)) = &group.arn_scope
            && (account != self.scope().account.as_str() || region != self.scope().region.as_str())
        {
            return Err(error::group_not_found());
        }
        self.db.group(self.scope(), &group.name)?.ok_or_else(error::group_not_found)
    }

    pub fn load_group_named(&self, name: &str) -> Result<(Vec<u8>, GroupRecord), Error> {
        self.load_group(&GroupRef { name: name.to_owned(), arn_scope: None })
    }

    pub fn create_log_group(
        &self,
        name: &str,
        tags: BTreeMap<String, String>,
        kms_key_id: Option<String>,
        class: String,
    ) -> Result<Response, Error> {
        let record = new_group(name, self.now, tags, kms_key_id, class);
        if !self.db.kv.insert_new(GROUPS, &model::group_key(self.scope(), name), &model::encode(&record))? {
            return Err(Error::ResourceAlreadyExistsException(
                "The specified log group already exists".to_owned(),
            ));
        }
        Ok(self.empty())
    }

    pub fn delete_log_group(&self, name: &str) -> Result<Response, Error> {
        let gkey = model::group_key(self.scope(), name);
        self.db.transact(|| {
            let (raw, _) = self.load_group_named(name)?;
            let mut batch = Batch::new().expect_value(GROUPS, gkey.clone(), raw).delete(GROUPS, gkey.clone());
            let prefix = model::streams_prefix(self.scope(), name);
            for (skey, sraw) in
                self.db.kv.scan(STREAMS, storage::KeyRange::prefix(prefix), storage::UNLIMITED)?
            {
                let stream: StreamRecord = model::decode(&sraw)?;
                batch = batch.expect_value(STREAMS, skey.clone(), sraw).delete(STREAMS, skey).put(
                    PURGE,
                    model::events_prefix(self.scope(), &stream.id_bytes()?),
                    Vec::new(),
                );
            }
            Ok((batch, ()))
        })?;
        self.writer.nudge_purge();
        Ok(self.empty())
    }

    pub fn describe_log_groups(&self, input: &DescribeLogGroups) -> Result<Response, Error> {
        let after = input.next_token.as_deref().map(token::parse_after_name).transpose()?;
        let mut prefix = model::scope_prefix(self.scope());
        prefix.extend_from_slice(input.prefix.as_deref().unwrap_or("").as_bytes());
        let mut out = Vec::new();
        let mut next_token = None;
        for group in self.db.all::<GroupRecord>(GROUPS, prefix)? {
            if after.as_deref().is_some_and(|a| group.name.as_str() <= a) {
                continue;
            }
            if input.pattern.as_deref().is_some_and(|p| !group.name.contains(p)) {
                continue;
            }
            if out.len() == input.limit {
                next_token = out.last().map(|g: &(String, Value)| token::after_name(&g.0));
                break;
            }
            let rendered = self.render_group(&group, input.pattern.is_some())?;
            out.push((group.name, rendered));
        }
        let mut body = Map::new();
        body.insert("logGroups".into(), Value::Array(out.into_iter().map(|(_, v)| v).collect()));
        if let Some(t) = next_token {
            body.insert("nextToken".into(), Value::String(t));
        }
        Ok(self.respond(&body))
    }

    /// A group as DescribeLogGroups shows it. With a name pattern AWS answers only the name,
    /// the ARN and the creation time.
    fn render_group(&self, group: &GroupRecord, brief: bool) -> Result<Value, Error> {
        let arn = self.group_arn(&group.name);
        let mut v = json!({
            "logGroupName": group.name,
            "creationTime": group.created,
            "arn": format!("{arn}:*"),
        });
        if brief {
            return Ok(v);
        }
        let streams: Vec<StreamRecord> =
            self.db.all(STREAMS, model::streams_prefix(self.scope(), &group.name))?;
        let stored: u64 = streams.iter().map(|s| s.stored_bytes).sum();
        if let Some(obj) = v.as_object_mut() {
            if let Some(days) = group.retention_days {
                obj.insert("retentionInDays".into(), json!(days));
            }
            obj.insert("metricFilterCount".into(), json!(0));
            obj.insert("storedBytes".into(), json!(stored));
            if let Some(k) = &group.kms_key_id {
                obj.insert("kmsKeyId".into(), json!(k));
            }
            obj.insert("logGroupClass".into(), json!(group.class));
            obj.insert("logGroupArn".into(), json!(arn));
        }
        Ok(v)
    }

    /// Changes one group with a compare-and-set on its record, retried on conflicts.
    pub fn update_group(
        &self,
        name: &str,
        change: impl Fn(&mut GroupRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let key = model::group_key(self.scope(), name);
        self.db.transact(|| {
            let (raw, mut record) = self.load_group_named(name)?;
            change(&mut record)?;
            let batch = Batch::new().expect_value(GROUPS, key.clone(), raw).put(
                GROUPS,
                key.clone(),
                model::encode(&record),
            );
            Ok((batch, ()))
        })
    }

    pub fn put_retention_policy(&self, name: &str, days: u32) -> Result<Response, Error> {
        self.update_group(name, |g| {
            g.retention_days = Some(days);
            Ok(())
        })?;
        // Expired events are already hidden from reads; the purge frees them soon.
        self.writer.nudge_purge();
        Ok(self.empty())
    }

    pub fn delete_retention_policy(&self, name: &str) -> Result<Response, Error> {
        self.update_group(name, |g| {
            g.retention_days = None;
            Ok(())
        })?;
        Ok(self.empty())
    }
}
