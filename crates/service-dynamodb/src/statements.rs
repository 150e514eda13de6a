//! PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction. Each statement is
//! parsed by `dynamodb_expr::partiql` and run as the item operation it stands for — SELECT as a
//! Query when its WHERE fixes the partition key (else a Scan), INSERT as a PutItem that may not
//! overwrite, UPDATE and DELETE as single-item writes on the key their WHERE names — so
//! validation, conditions, streams and capacity are the item operations' own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dynamodb_expr::partiql::{self, Expr, Rendering, Statement};
use dynamodb_expr::{AttributeValue, Item, item_to_json};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::Env;
use crate::error::{DUPLICATE_ITEM, Error};
use crate::model::KeyDefs;
use crate::operation::{BatchExecuteStatement, ExecuteStatement, ExecuteTransaction, PartiqlStatement};

/// UPDATE and DELETE (and reads in batches and transactions) must name exactly one item.
const MANDATORY_KEY: &str = "Where clause does not contain a mandatory equality on all key attributes";
/// The statement size limit of the API model.
const MAX_STATEMENT: usize = 8192;

/// A statement ready to run: the item operation and its request in DynamoDB JSON.
struct Planned {
    table: String,
    op: Op,
    request: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Query,
    Scan,
    /// A Query that names one whole key: a read allowed in batches and transactions.
    Get,
    Insert,
    Update,
    Delete,
    /// `EXISTS(SELECT ...)`: a condition check, in transactions only.
    Check,
}

impl Op {
    fn is_read(self) -> bool {
        matches!(self, Op::Query | Op::Scan | Op::Get)
    }
}

impl Env<'_> {
    pub fn execute_statement(&self, input: ExecuteStatement) -> Result<Value, Error> {
        if let Some(limit) = input.limit
            && limit < 1
        {
            return Err(Error::validation(protocol::validation_message([(
                "limit",
                limit.to_string().as_str(),
                "Member must have value greater than or equal to 1",
            )])));
        }
        let mut planned = self.plan_statement(&input.statement, "statement")?;
        if let Some(mode) = &input.return_consumed_capacity {
            planned.request.insert("ReturnConsumedCapacity".into(), json!(mode));
        }
        if planned.op.is_read() {
            if let Some(limit) = input.limit {
                planned.request.insert("Limit".into(), json!(limit));
            }
            if let Some(token) = &input.next_token {
                planned.request.insert("ExclusiveStartKey".into(), decode_token(token)?);
            }
        }
        let out = self.run_statement(planned)?;
        let mut result = Map::new();
        result.insert("Items".into(), out.get("Items").cloned().unwrap_or_else(|| json!([])));
        if let Some(key) = out.get("LastEvaluatedKey") {
            result.insert("NextToken".into(), json!(BASE64.encode(key.to_string())));
            result.insert("LastEvaluatedKey".into(), key.clone());
        }
        if let Some(capacity) = out.get("ConsumedCapacity") {
            result.insert("ConsumedCapacity".into(), capacity.clone());
        }
        Ok(Value::Object(result))
    }

    pub fn batch_execute_statement(&self, input: BatchExecuteStatement) -> Result<Value, Error> {
        check_count("statements", input.statements.len(), 25)?;
        let mut responses = Vec::with_capacity(input.statements.len());
        for statement in &input.statements {
            let response = match self.plan_statement(statement, "statements.member.statement") {
                Ok(planned) if planned.op == Op::Query || planned.op == Op::Scan => {
                    failed(&planned.table, &Error::validation(MANDATORY_KEY))
                }
                Ok(planned) => {
                    let (table, op) = (planned.table.clone(), planned.op);
                    match self.run_statement(planned) {
                        Ok(out) if op == Op::Get => match out.get("Items").and_then(|i| i.get(0)) {
                            Some(item) => json!({ "TableName": table, "Item": item }),
                            None => json!({ "TableName": table }),
                        },
                        Ok(_) => json!({ "TableName": table }),
                        Err(e) => failed(&table, &e),
                    }
                }
                Err(e) => failed("", &e),
            };
            responses.push(response);
        }
        Ok(json!({ "Responses": responses }))
    }

    pub fn execute_transaction(&self, input: ExecuteTransaction) -> Result<Value, Error> {
        check_count("transactStatements", input.transact_statements.len(), 100)?;
        let mut planned = Vec::with_capacity(input.transact_statements.len());
        for statement in &input.transact_statements {
            let p = self.plan_statement(statement, "transactStatements.member.statement")?;
            if p.op == Op::Query || p.op == Op::Scan {
                return Err(Error::validation(MANDATORY_KEY));
            }
            planned.push(p);
        }
        let reads = planned.iter().filter(|p| p.op.is_read()).count();
        if reads != 0 && reads != planned.len() {
            return Err(Error::validation(
                "Transaction must contain either read or write statements, not both",
            ));
        }
        let capacity = input.return_consumed_capacity.clone();
        if reads != 0 {
            let items: Vec<Value> =
                planned.into_iter().map(|p| json!({ "Get": get_of(p.request) })).collect();
            let mut request = json!({ "TransactItems": items });
            if let Some(mode) = capacity {
                request["ReturnConsumedCapacity"] = json!(mode);
            }
            return self.transact_get(request_of(request)?);
        }
        let inserts: Vec<bool> = planned.iter().map(|p| p.op == Op::Insert).collect();
        let items: Vec<Value> = planned
            .into_iter()
            .map(|p| {
                let kind = match p.op {
                    Op::Insert => "Put",
                    Op::Update => "Update",
                    Op::Check => "ConditionCheck",
                    _ => "Delete",
                };
                let mut action = p.request;
                // Transactions return nothing of the items they write.
                action.remove("ReturnValues");
                let mut item = Map::new();
                item.insert(kind.to_owned(), Value::Object(action));
                Value::Object(item)
            })
            .collect();
        let mut request = json!({ "TransactItems": items });
        if let Some(token) = input.client_request_token {
            request["ClientRequestToken"] = json!(token);
        }
        if let Some(mode) = capacity {
            request["ReturnConsumedCapacity"] = json!(mode);
        }
        match self.transact_write(request_of(request)?) {
            Ok(mut out) => {
                if let Some(map) = out.as_object_mut() {
                    map.remove("ItemCollectionMetrics");
                }
                Ok(out)
            }
            // An INSERT whose key exists fails as a duplicate, not as a condition.
            Err(Error::TransactionCanceledException { mut reasons }) => {
                for (reason, insert) in reasons.iter_mut().zip(inserts) {
                    if insert && reason.get("Code").and_then(Value::as_str) == Some("ConditionalCheckFailed")
                    {
                        *reason = json!({ "Code": "DuplicateItem", "Message": DUPLICATE_ITEM });
                    }
                }
                Err(Error::TransactionCanceledException { reasons })
            }
            Err(e) => Err(e),
        }
    }

    /// Parses one statement and builds the request of the operation it stands for.
    fn plan_statement(&self, input: &PartiqlStatement, member: &str) -> Result<Planned, Error> {
        let text = &input.statement;
        if text.is_empty() || text.chars().count() > MAX_STATEMENT {
            let constraint = if text.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 8192"
            };
            return Err(Error::validation(protocol::validation_message([(
                member,
                text.as_str(),
                constraint,
            )])));
        }
        let parameters = match &input.parameters {
            Some(list) if list.is_empty() => {
                return Err(Error::validation(protocol::validation_message([(
                    "parameters",
                    "[]",
                    "Member must have length greater than or equal to 1",
                )])));
            }
            Some(list) => list.iter().map(AttributeValue::from_json).collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let statement = partiql::parse(text, &parameters)?;
        let mut r = Rendering::default();
        let mut request = Map::new();
        let (table, op) = match statement {
            Statement::Select(s) => {
                let table = self.table(&s.table)?;
                let keys: KeyDefs = match &s.index {
                    Some(name) => match table.record.index(name) {
                        Some((index, _)) => index.keys.clone(),
                        None => {
                            return Err(Error::validation(format!(
                                "The table does not have the specified index: {name}"
                            )));
                        }
                    },
                    None => table.record.keys.clone(),
                };
                request.insert("TableName".into(), json!(s.table));
                if let Some(index) = &s.index {
                    request.insert("IndexName".into(), json!(index));
                }
                let mut rest: Vec<&Expr> = s.filter.as_ref().map(Expr::conjuncts).unwrap_or_default();
                let partition =
                    rest.iter().position(|c| c.equality().is_some_and(|(n, _)| n == keys.partition.name));
                let op = if let Some(at) = partition {
                    let mut key_parts = vec![rest.remove(at)];
                    if let Some(sort) = &keys.sort
                        && let Some(at) =
                            rest.iter().position(|c| c.sort_key_condition() == Some(sort.name.as_str()))
                    {
                        key_parts.push(rest.remove(at));
                    }
                    let whole_key = key_parts.len() == 1 + usize::from(keys.sort.is_some())
                        && key_parts.iter().all(|c| c.equality().is_some())
                        && rest.is_empty()
                        && s.index.is_none();
                    let text: Vec<String> = key_parts.iter().map(|c| c.render(&mut r)).collect();
                    request.insert("KeyConditionExpression".into(), json!(text.join(" AND ")));
                    if let Some((path, ascending)) = &s.order {
                        if !keys.names().any(|k| path.is_top_level() && path.top() == k) {
                            return Err(Error::validation(format!(
                                "Variable reference [{}] of ORDER BY clause must be part of the primary key",
                                path.top()
                            )));
                        }
                        request.insert("ScanIndexForward".into(), json!(ascending));
                    }
                    if whole_key { Op::Get } else { Op::Query }
                } else {
                    if s.order.is_some() {
                        return Err(Error::validation(
                            "Must have WHERE clause in the statement when using ORDER BY clause.",
                        ));
                    }
                    Op::Scan
                };
                if let Some(filter) = conjoin(&rest, &mut r) {
                    request.insert("FilterExpression".into(), json!(filter));
                }
                if !s.projection.is_empty() {
                    let paths: Vec<String> = s.projection.iter().map(|p| r.path(p)).collect();
                    request.insert("ProjectionExpression".into(), json!(paths.join(", ")));
                }
                if let Some(consistent) = input.consistent_read {
                    request.insert("ConsistentRead".into(), json!(consistent));
                }
                (s.table, op)
            }
            Statement::Insert(i) => {
                let table = self.table(&i.table)?;
                request.insert("TableName".into(), json!(i.table));
                request.insert("Item".into(), item_to_json(&i.item));
                let pk = r.name(&table.record.keys.partition.name);
                request.insert("ConditionExpression".into(), json!(format!("attribute_not_exists({pk})")));
                (i.table, Op::Insert)
            }
            Statement::Update(u) => {
                let table = self.table(&u.table)?;
                let (key, rest) = key_of(&u.filter, &table.record.keys)?;
                request.insert("TableName".into(), json!(u.table));
                request.insert("Key".into(), item_to_json(&key));
                request.insert("UpdateExpression".into(), json!(partiql::render_actions(&u.actions, &mut r)));
                // The item must exist: UPDATE never creates one.
                let pk = r.name(&table.record.keys.partition.name);
                let condition = match conjoin(&rest, &mut r) {
                    Some(rest) => format!("attribute_exists({pk}) AND {rest}"),
                    None => format!("attribute_exists({pk})"),
                };
                request.insert("ConditionExpression".into(), json!(condition));
                if let Some(returning) = u.returning {
                    request.insert("ReturnValues".into(), json!(returning.return_values()));
                }
                (u.table, Op::Update)
            }
            Statement::Exists(s) => {
                let table = self.table(&s.table)?;
                let filter = s.filter.as_ref().ok_or_else(|| Error::validation(MANDATORY_KEY))?;
                let (key, rest) = key_of(filter, &table.record.keys)?;
                request.insert("TableName".into(), json!(s.table));
                request.insert("Key".into(), item_to_json(&key));
                let pk = r.name(&table.record.keys.partition.name);
                let condition = match conjoin(&rest, &mut r) {
                    Some(rest) => format!("attribute_exists({pk}) AND {rest}"),
                    None => format!("attribute_exists({pk})"),
                };
                request.insert("ConditionExpression".into(), json!(condition));
                (s.table, Op::Check)
            }
            Statement::Delete(d) => {
                let table = self.table(&d.table)?;
                let (key, rest) = key_of(&d.filter, &table.record.keys)?;
                request.insert("TableName".into(), json!(d.table));
                request.insert("Key".into(), item_to_json(&key));
                // A missing item is deleted quietly; an existing one only if the rest holds.
                if let Some(rest) = conjoin(&rest, &mut r) {
                    let pk = r.name(&table.record.keys.partition.name);
                    request.insert(
                        "ConditionExpression".into(),
                        json!(format!("attribute_not_exists({pk}) OR {rest}")),
                    );
                }
                if d.returning.is_some() {
                    request.insert("ReturnValues".into(), json!("ALL_OLD"));
                }
                (d.table, Op::Delete)
            }
        };
        if !r.names().is_empty() {
            request.insert("ExpressionAttributeNames".into(), json!(r.names()));
        }
        if !r.values().is_empty() {
            let values: Map<String, Value> =
                r.values().iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            request.insert("ExpressionAttributeValues".into(), Value::Object(values));
        }
        if !op.is_read()
            && let Some(on_failure) = &input.return_values_on_condition_check_failure
        {
            request.insert("ReturnValuesOnConditionCheckFailure".into(), json!(on_failure));
        }
        Ok(Planned { table, op, request })
    }

    /// Runs a planned statement; reads answer `Items`, writes the items RETURNING asked for.
    fn run_statement(&self, planned: Planned) -> Result<Value, Error> {
        let request = Value::Object(planned.request);
        match planned.op {
            Op::Query | Op::Get => self.query(request_of(request)?),
            Op::Scan => self.scan(request_of(request)?),
            Op::Insert => match self.put_item(request_of(request)?) {
                Err(Error::ConditionalCheckFailedException { .. }) => Err(Error::DuplicateItemException),
                other => other.map(|out| written(&out)),
            },
            Op::Update => self.update_item(request_of(request)?).map(|out| written(&out)),
            Op::Delete => self.delete_item(request_of(request)?).map(|out| written(&out)),
            Op::Check => Err(Error::validation("EXISTS can only be used in ExecuteTransaction")),
        }
    }
}

/// The key of the one item an UPDATE, DELETE or keyed read names, and the other conditions.
fn key_of<'a>(filter: &'a Expr, keys: &KeyDefs) -> Result<(Item, Vec<&'a Expr>), Error> {
    let mut key = Item::new();
    let mut rest = Vec::new();
    for conjunct in filter.conjuncts() {
        match conjunct.equality() {
            Some((name, value)) if keys.names().any(|k| k == name) && !key.contains_key(name) => {
                key.insert(name.to_owned(), value.clone());
            }
            _ => rest.push(conjunct),
        }
    }
    if key.len() != keys.names().count() {
        return Err(Error::validation(MANDATORY_KEY));
    }
    Ok((key, rest))
}

/// `(a) AND (b) ...`, or nothing for no conditions. AND binds tighter than OR, so the result
/// needs no parentheses of its own (DynamoDB refuses `((a))` as redundant).
fn conjoin(conditions: &[&Expr], r: &mut Rendering) -> Option<String> {
    if conditions.is_empty() {
        return None;
    }
    let parts: Vec<String> = conditions.iter().map(|c| format!("({})", c.render(r))).collect();
    Some(parts.join(" AND "))
}

/// A write's answer: the item RETURNING asked for, if any, as `Items`.
fn written(out: &Value) -> Value {
    let mut result = json!({ "Items": [] });
    if let Some(attributes) = out.get("Attributes") {
        result["Items"] = json!([attributes]);
    }
    if let Some(capacity) = out.get("ConsumedCapacity") {
        result["ConsumedCapacity"] = capacity.clone();
    }
    result
}

/// A batch entry for a statement that failed, with BatchStatementError's code.
fn failed(table: &str, e: &Error) -> Value {
    let code = match e {
        Error::ConditionalCheckFailedException { .. } => "ConditionalCheckFailed",
        Error::DuplicateItemException => "DuplicateItem",
        Error::ResourceNotFoundException(_) => "ResourceNotFound",
        Error::TransactionConflictException => "TransactionConflict",
        Error::InternalServerError(_) => "InternalServerError",
        _ => "ValidationError",
    };
    let wire = protocol::ServiceError::to_wire(e);
    let mut error = json!({ "Code": code, "Message": wire.message });
    if let Error::ConditionalCheckFailedException { item: Some(item) } = e {
        error["Item"] = item.clone();
    }
    let mut out = json!({ "Error": error });
    if !table.is_empty() {
        out["TableName"] = json!(table);
    }
    out
}

/// A keyed read's Query request as a transaction's Get: its key from the key condition's values.
fn get_of(request: Map<String, Value>) -> Value {
    let names = request.get("ExpressionAttributeNames").and_then(Value::as_object);
    let values = request.get("ExpressionAttributeValues").and_then(Value::as_object);
    let mut key = Map::new();
    // The key condition is `#pA = :pB AND #pC = :pD`, as `plan` wrote it.
    if let (Some(text), Some(names), Some(values)) =
        (request.get("KeyConditionExpression").and_then(Value::as_str), names, values)
    {
        for part in text.split(" AND ") {
            if let Some((name, value)) = part.split_once(" = ")
                && let (Some(name), Some(value)) =
                    (names.get(name).and_then(Value::as_str), values.get(value))
            {
                key.insert(name.to_owned(), value.clone());
            }
        }
    }
    let mut get =
        json!({ "TableName": request.get("TableName").cloned().unwrap_or(Value::Null), "Key": key });
    if let Some(projection) = request.get("ProjectionExpression") {
        get["ProjectionExpression"] = projection.clone();
        // Only the names the projection uses may go with it.
        if let (Some(names), Some(text)) = (names, projection.as_str()) {
            let words: Vec<&str> = text.split([',', '.', '[', ']', ' ']).collect();
            let used: Map<String, Value> = names
                .iter()
                .filter(|(k, _)| words.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            get["ExpressionAttributeNames"] = Value::Object(used);
        }
    }
    get
}

fn check_count(member: &str, n: usize, max: usize) -> Result<(), Error> {
    let constraint = if n == 0 {
        "Member must have length greater than or equal to 1".to_owned()
    } else if n > max {
        format!("Member must have length less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(Error::validation(protocol::validation_message([(member, "[...]", constraint.as_str())])))
}

fn decode_token(token: &str) -> Result<Value, Error> {
    BASE64
        .decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or_else(|| Error::validation("Invalid NextToken"))
}

fn request_of<T: DeserializeOwned>(json: Value) -> Result<T, Error> {
    serde_json::from_value(json).map_err(|e| Error::validation(format!("invalid statement request: {e}")))
}
