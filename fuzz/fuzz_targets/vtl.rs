//! Velocity templates: the input is a template and a request body, split at the first NUL.
//! Parsing never panics; a parsed template renders (or fails cleanly) within its budget, both
//! bare and as an API Gateway mapping template with `$input`, `$util` and `$context`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtl::apigw::{self, ContextVars, Params, Request};
use vtl::{Context, Template, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, body) = text.split_once('\0').unwrap_or((text, r#"{"a":[1,{"b":"x"}],"s":"y"}"#));
    let Ok(parsed) = Template::parse(template) else { return };

    let mut bare = Context::new();
    bare.set("s", "Hello, World").set("n", Value::Int(3)).set("l", Value::List(vec![Value::Int(1), Value::from("two")]));
    if let Ok(out) = parsed.render(&bare) {
        assert!(out.len() <= bare.limits.max_output, "output over budget");
    }

    let request = Request {
        body: body.to_owned(),
        params: Params {
            path: vec![("id".into(), "7".into())],
            querystring: vec![("q".into(), "a b".into())],
            header: vec![("Content-Type".into(), "application/json".into())],
        },
        context: ContextVars { request_id: "r".into(), stage: "dev".into(), ..Default::default() }.to_map(),
        stage_variables: vec![("v".into(), "1".into())],
    };
    if let Ok(out) = apigw::render(&parsed, &request) {
        assert!(out.body.len() <= apigw::limits().max_output, "output over budget");
    }
});
