//! DynamoDB through the Rust SDK: table lifecycle and waiter, conditional CRUD with
//! ReturnValues, queries on the table and both index kinds with pagination, a cancelled
//! transaction, and an acknowledged write surviving kill -9.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem, Update,
};

use crate::harness::Server;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

fn attr(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build().expect("definition")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key")
}

/// Table `orders` keyed by (customer S, id N), LSI `by-amount` on amount, GSI `by-status` on
/// (status, id).
async fn create_orders(ddb: &Client) {
    let created = ddb
        .create_table()
        .table_name("orders")
        .attribute_definitions(attr("customer", ScalarAttributeType::S))
        .attribute_definitions(attr("id", ScalarAttributeType::N))
        .attribute_definitions(attr("amount", ScalarAttributeType::N))
        .attribute_definitions(attr("status", ScalarAttributeType::S))
        .key_schema(key("customer", KeyType::Hash))
        .key_schema(key("id", KeyType::Range))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by-amount")
                .key_schema(key("customer", KeyType::Hash))
                .key_schema(key("amount", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("lsi"),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-status")
                .key_schema(key("status", KeyType::Hash))
                .key_schema(key("id", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                .build()
                .expect("gsi"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    let description = created.table_description().expect("description");
    assert_eq!(description.table_status().map(|s| s.as_str()), Some("CREATING"));
    ddb.wait_until_table_exists()
        .table_name("orders")
        .wait(Duration::from_secs(10))
        .await
        .expect("table exists");
}

#[tokio::test]
async fn table_lifecycle_with_waiter() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    let table = ddb.describe_table().table_name("orders").send().await.expect("describe");
    let table = table.table().expect("table");
    assert_eq!(table.table_status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(table.table_arn(), Some("arn:aws:dynamodb:us-east-1:000000000000:table/orders"));
    assert_eq!(table.global_secondary_indexes().len(), 1);
    assert_eq!(table.local_secondary_indexes().len(), 1);
    let again = ddb
        .create_table()
        .table_name("orders")
        .attribute_definitions(attr("customer", ScalarAttributeType::S))
        .key_schema(key("customer", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect_err("exists");
    assert!(again.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()));
    let listed = ddb.list_tables().send().await.expect("list");
    assert_eq!(listed.table_names(), ["orders"]);
    ddb.delete_table().table_name("orders").send().await.expect("delete");
    ddb.wait_until_table_not_exists().table_name("orders").wait(Duration::from_secs(10)).await.expect("gone");
}

#[tokio::test]
async fn crud_with_conditions_and_return_values() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    ddb.put_item()
        .table_name("orders")
        .item("customer", s("ann"))
        .item("id", n("1"))
        .item("amount", n("12.50"))
        .condition_expression("attribute_not_exists(customer)")
        .send()
        .await
        .expect("put");
    let failed = ddb
        .put_item()
        .table_name("orders")
        .item("customer", s("ann"))
        .item("id", n("1"))
        .condition_expression("attribute_not_exists(customer)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .expect_err("exists");
    let failed = failed.into_service_error();
    assert!(failed.is_conditional_check_failed_exception());
    let updated = ddb
        .update_item()
        .table_name("orders")
        .key("customer", s("ann"))
        .key("id", n("1"))
        .update_expression("SET amount = amount + :d, #s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":d", n("0.5"))
        .expression_attribute_values(":s", s("open"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .expect("update");
    let attributes = updated.attributes().expect("attributes");
    assert_eq!(attributes.get("amount"), Some(&n("13")));
    let got = ddb
        .get_item()
        .table_name("orders")
        .key("customer", s("ann"))
        .key("id", n("1"))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    assert_eq!(got.item().and_then(|i| i.get("status")), Some(&s("open")));
    let deleted = ddb
        .delete_item()
        .table_name("orders")
        .key("customer", s("ann"))
        .key("id", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.attributes().and_then(|a| a.get("status")), Some(&s("open")));
}

#[tokio::test]
async fn queries_on_table_and_indexes_with_pagination() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    for i in 1..=25 {
        let status = if i % 2 == 0 { "open" } else { "closed" };
        ddb.put_item()
            .table_name("orders")
            .item("customer", s("ann"))
            .item("id", n(&i.to_string()))
            .item("amount", n(&(100 - i).to_string()))
            .item("status", s(status))
            .send()
            .await
            .expect("put");
    }
    let pages: Vec<_> = ddb
        .query()
        .table_name("orders")
        .key_condition_expression("customer = :c AND id > :min")
        .expression_attribute_values(":c", s("ann"))
        .expression_attribute_values(":min", n("5"))
        .limit(7)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p.items().iter().map(|i| i.get("id").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default())
        })
        .collect();
    assert_eq!(ids, (6..=25).map(|i| i.to_string()).collect::<Vec<_>>());
    let by_amount = ddb
        .query()
        .table_name("orders")
        .index_name("by-amount")
        .key_condition_expression("customer = :c AND amount <= :t")
        .expression_attribute_values(":c", s("ann"))
        .expression_attribute_values(":t", n("80"))
        .scan_index_forward(false)
        .send()
        .await
        .expect("lsi query");
    let amounts: Vec<&str> =
        by_amount.items().iter().filter_map(|i| i.get("amount")?.as_n().ok().map(String::as_str)).collect();
    assert_eq!(amounts, ["80", "79", "78", "77", "76", "75"]);
    let open = ddb
        .query()
        .table_name("orders")
        .index_name("by-status")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("open"))
        .limit(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("gsi query");
    assert_eq!(open.len(), 12);
    // KEYS_ONLY: the table's and the index's keys, nothing else.
    assert!(open.iter().all(|i| i.len() == 3 && !i.contains_key("amount")));
}

#[tokio::test]
async fn transaction_cancelled_with_reasons() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    ddb.put_item()
        .table_name("orders")
        .item("customer", s("bob"))
        .item("id", n("1"))
        .send()
        .await
        .expect("put");
    let put = Put::builder()
        .table_name("orders")
        .item("customer", s("bob"))
        .item("id", n("2"))
        .build()
        .expect("put");
    let check = ConditionCheck::builder()
        .table_name("orders")
        .key("customer", s("bob"))
        .key("id", n("1"))
        .condition_expression("attribute_exists(paid)")
        .build()
        .expect("check");
    let err = ddb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .send()
        .await
        .expect_err("cancelled")
        .into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) = err
    else {
        panic!("expected TransactionCanceledException, got {err:?}");
    };
    let codes: Vec<&str> = e.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed"]);
    let absent = ddb.get_item().table_name("orders").key("customer", s("bob")).key("id", n("2")).send().await;
    assert!(absent.expect("get").item().is_none());
}

/// A ClientRequestToken makes a transaction idempotent: the same items again with the same
/// token change nothing (also after a kill -9), other items with it are refused.
#[tokio::test]
async fn a_client_request_token_makes_a_transaction_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    let bump = |id: &str| {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name("orders")
                    .key("customer", s("ann"))
                    .key("id", n(id))
                    .update_expression("ADD hits :one")
                    .expression_attribute_values(":one", n("1"))
                    .build()
                    .expect("update"),
            )
            .build()
    };
    let hits = |ddb: Client| async move {
        let out =
            ddb.get_item().table_name("orders").key("customer", s("ann")).key("id", n("1")).send().await;
        out.expect("get").item().and_then(|i| i.get("hits").cloned())
    };
    for _ in 0..2 {
        ddb.transact_write_items()
            .client_request_token("order-42")
            .transact_items(bump("1"))
            .send()
            .await
            .expect("transact");
    }
    assert_eq!(hits(ddb.clone()).await, Some(n("1")), "the repeat wrote nothing");

    server.kill9();
    server.restart();
    let ddb = server.dynamodb("test", "us-east-1").await;
    ddb.transact_write_items()
        .client_request_token("order-42")
        .transact_items(bump("1"))
        .send()
        .await
        .expect("transact after restart");
    assert_eq!(hits(ddb.clone()).await, Some(n("1")), "the token outlived the restart");

    let err = ddb
        .transact_write_items()
        .client_request_token("order-42")
        .transact_items(bump("2"))
        .send()
        .await
        .expect_err("other items, same token")
        .into_service_error();
    assert_eq!(err.meta().code(), Some("IdempotentParameterMismatchException"));
    // Without a token the same items run every time.
    ddb.transact_write_items().transact_items(bump("1")).send().await.expect("transact");
    assert_eq!(hits(ddb).await, Some(n("2")));
}

#[tokio::test]
async fn acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    let item: HashMap<String, AttributeValue> =
        [("customer".to_owned(), s("carl")), ("id".to_owned(), n("7")), ("status".to_owned(), s("open"))]
            .into();
    ddb.put_item().table_name("orders").set_item(Some(item.clone())).send().await.expect("put");
    server.kill9();
    server.restart();
    let ddb = server.dynamodb("test", "us-east-1").await;
    let got = ddb
        .get_item()
        .table_name("orders")
        .key("customer", s("carl"))
        .key("id", n("7"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.item(), Some(&item));
    let open = ddb
        .query()
        .table_name("orders")
        .index_name("by-status")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("open"))
        .send()
        .await
        .expect("index survived");
    assert_eq!(open.count(), 1);
}

/// PartiQL through the SDK: INSERT with parameters, a keyed SELECT on the table and on the
/// GSI, an UPDATE with RETURNING, a duplicate INSERT, a batch and a cancelled transaction.
#[tokio::test]
async fn partiql_statements_batches_and_transactions() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    create_orders(&ddb).await;
    for (id, status) in [("1", "paid"), ("2", "open"), ("3", "paid")] {
        ddb.execute_statement()
            .statement("INSERT INTO orders VALUE {'customer': ?, 'id': ?, 'status': ?, 'amount': 10}")
            .parameters(s("bob"))
            .parameters(n(id))
            .parameters(s(status))
            .send()
            .await
            .expect("insert");
    }
    let err = ddb
        .execute_statement()
        .statement("INSERT INTO orders VALUE {'customer': 'bob', 'id': 1}")
        .send()
        .await
        .expect_err("duplicate")
        .into_service_error();
    assert!(err.is_duplicate_item_exception(), "{err:?}");

    let got = ddb
        .execute_statement()
        .statement("SELECT id FROM orders WHERE customer = 'bob' AND id >= 2 ORDER BY id DESC")
        .send()
        .await
        .expect("select");
    let ids: Vec<&str> =
        got.items().iter().filter_map(|i| i.get("id")?.as_n().ok().map(String::as_str)).collect();
    assert_eq!(ids, ["3", "2"]);
    let got = ddb
        .execute_statement()
        .statement(r#"SELECT * FROM "orders"."by-status" WHERE status = 'paid'"#)
        .send()
        .await
        .expect("select on the index");
    assert_eq!(got.items().len(), 2);

    let got = ddb
        .execute_statement()
        .statement("UPDATE orders SET amount = amount + 5 WHERE customer = 'bob' AND id = 2 RETURNING MODIFIED NEW *")
        .send()
        .await
        .expect("update");
    assert_eq!(got.items().first().and_then(|i| i.get("amount")), Some(&n("15")));

    let batch = ddb
        .batch_execute_statement()
        .statements(
            aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                .statement("SELECT amount FROM orders WHERE customer = 'bob' AND id = 2")
                .build()
                .expect("statement"),
        )
        .statements(
            aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                .statement("SELECT * FROM orders WHERE customer = 'bob'")
                .build()
                .expect("statement"),
        )
        .send()
        .await
        .expect("batch");
    let responses = batch.responses();
    assert_eq!(responses[0].item().and_then(|i| i.get("amount")), Some(&n("15")));
    assert_eq!(responses[1].error().and_then(|e| e.code()).map(|c| c.as_str()), Some("ValidationError"));

    let statement = |text: &str| {
        aws_sdk_dynamodb::types::ParameterizedStatement::builder().statement(text).build().expect("statement")
    };
    let err = ddb
        .execute_transaction()
        .transact_statements(statement("DELETE FROM orders WHERE customer = 'bob' AND id = 3"))
        .transact_statements(statement("INSERT INTO orders VALUE {'customer': 'bob', 'id': 1}"))
        .send()
        .await
        .expect_err("cancelled")
        .into_service_error();
    let aws_sdk_dynamodb::operation::execute_transaction::ExecuteTransactionError::TransactionCanceledException(e) = err
    else {
        panic!("expected TransactionCanceledException, got {err:?}");
    };
    let codes: Vec<&str> = e.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
    assert_eq!(codes, ["None", "DuplicateItem"]);
    let still = ddb.get_item().table_name("orders").key("customer", s("bob")).key("id", n("3")).send().await;
    assert!(still.expect("get").item().is_some(), "the cancelled transaction deleted nothing");
}
