//! API Gateway's mapping-template variables, with the AWS developer guide's examples.

use vtl::apigw::{self, ContextVars, Params, Request};
use vtl::{Map, Template, Value};

fn request(body: &str) -> Request {
    let vars = ContextVars {
        account_id: "123456789012".into(),
        api_id: "abcd1234".into(),
        http_method: "POST".into(),
        path: "/prod/pets/7".into(),
        request_id: "req-1".into(),
        resource_id: "efg567".into(),
        resource_path: "/pets/{petId}".into(),
        stage: "prod".into(),
        source_ip: "192.0.2.1".into(),
        user_agent: "curl/7.84.0".into(),
        authorizer: [("principalId".to_owned(), Value::from("user-1"))].into_iter().collect::<Map>(),
        ..Default::default()
    };
    Request {
        body: body.into(),
        params: Params {
            path: vec![("petId".into(), "7".into())],
            querystring: vec![("type".into(), "dog".into()), ("petId".into(), "shadowed".into())],
            header: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Name".into(), "O'Neil \"Jr\"".into()),
            ],
        },
        context: vars.to_map(),
        stage_variables: vec![("backend".into(), "pets.example".into())],
    }
}

fn render(src: &str, req: &Request) -> String {
    let t = Template::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    apigw::render(&t, req).unwrap_or_else(|e| panic!("{src}: {e}")).body
}

const THINGS: &str = r#"{
  "name": "foo",
  "things": {
    "1d6a4b2e": {},
    "2b6f1c3d": {"color": "red"},
    "3c7e8d4f": {}
  },
  "count": 3,
  "price": 10.5,
  "tags": ["a", "b"]
}"#;

#[test]
fn input_json_and_path() {
    let req = request(THINGS);
    assert_eq!(render("$input.json('$.name')", &req), r#""foo""#);
    assert_eq!(render("$input.json('$.things.2b6f1c3d')", &req), r#"{"color":"red"}"#);
    assert_eq!(render("$input.json('$.tags')", &req), r#"["a","b"]"#);
    assert_eq!(render("$input.path('$.name')", &req), "foo");
    assert_eq!(render("$input.path('$.count')", &req), "3");
    assert_eq!(render("$input.path('$.price')", &req), "10.5");
    assert_eq!(render("$input.path('$.tags').size()", &req), "2");
    assert_eq!(render("$input.path('$.things.2b6f1c3d')", &req), "{color=red}");
    assert_eq!(render("$input.path('$').things.keySet().size()", &req), "3");
    // A missing path prints nothing in API Gateway, and its JSON is null.
    assert_eq!(render("[$input.path('$.nope')]", &req), "[]");
    assert_eq!(render("[$input.json('$.nope')]", &req), "[null]");
    assert_eq!(render("$input.body", &req), THINGS);
}

#[test]
fn the_developer_guide_things_example() {
    let src = r##"#set($inputRoot = $input.path('$'))
{
  "name" : "$inputRoot.name",
  "ids" : [
#foreach($elem in $inputRoot.things.keySet())
    "$elem"#if($foreach.hasNext),#end

#end
  ]
}"##;
    let out = render(src, &request(THINGS));
    assert_eq!(
        out,
        "{\n  \"name\" : \"foo\",\n  \"ids\" : [\n    \"1d6a4b2e\",\n    \"2b6f1c3d\",\n    \"3c7e8d4f\"\n  ]\n}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(parsed["ids"][2], "3c7e8d4f");
}

#[test]
fn params_search_path_then_querystring_then_header() {
    let req = request("{}");
    assert_eq!(render("$input.params('petId')", &req), "7");
    assert_eq!(render("$input.params('type')", &req), "dog");
    assert_eq!(render("$input.params('content-type')", &req), "application/json");
    assert_eq!(render("[$input.params('absent')]", &req), "[]");
    assert_eq!(render("$input.params().path", &req), "{petId=7}");
    assert_eq!(render("$input.params().querystring.get('type')", &req), "dog");
    assert_eq!(render("$input.params().header.keySet()", &req), "[Content-Type, X-Name]");
}

#[test]
fn all_params_as_json_like_the_guide() {
    let src = r#"#set($allParams = $input.params())
{
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
}
}"#;
    let mut req = request("{}");
    // escapeJavaScript turns ' into \', which JSON does not know (in AWS too): keep it out.
    req.params.header.retain(|(k, _)| k != "X-Name");
    req.params.header.push(("X-Quote".into(), "say \"hi\"".into()));
    let out = render(src, &req);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(parsed["params"]["path"]["petId"], "7");
    assert_eq!(parsed["params"]["header"]["X-Quote"], "say \"hi\"");
    assert_eq!(parsed["params"]["querystring"]["type"], "dog");
    assert_eq!(parsed["params"]["header"]["Content-Type"], "application/json");
}

#[test]
fn context_and_stage_variables() {
    let req = request("{}");
    let src = r#"{"stage":"$context.stage","id":"$context.requestId","ip":"$context.identity.sourceIp","m":"$context.httpMethod","r":"$context.resourcePath","p":"$context.authorizer.principalId","b":"$stageVariables.backend","b2":"$stageVariables['backend']"}"#;
    let out = render(src, &req);
    assert_eq!(
        out,
        r#"{"stage":"prod","id":"req-1","ip":"192.0.2.1","m":"POST","r":"/pets/{petId}","p":"user-1","b":"pets.example","b2":"pets.example"}"#
    );
    // Keys with no value print nothing.
    assert_eq!(render("[$context.identity.apiKey]", &req), "[]");
}

#[test]
fn util_functions() {
    let req = request("{}");
    assert_eq!(render("$util.escapeJavaScript($input.params('X-Name'))", &req), r#"O\'Neil \"Jr\""#);
    assert_eq!(render("$util.escapeJavaScript(\"a/b\\c\")", &req), r"a\/b\\c");
    assert_eq!(apigw::escape_javascript("tab\there\nü€😀"), r"tab\there\n\u00FC\u20AC\uD83D\uDE00");
    assert_eq!(render("$util.base64Encode('hello world')", &req), "aGVsbG8gd29ybGQ=");
    assert_eq!(render("$util.base64Decode('aGVsbG8gd29ybGQ=')", &req), "hello world");
    assert_eq!(render("$util.urlEncode('a b&c=d/é*~')", &req), "a+b%26c%3Dd%2F%C3%A9*%7E");
    assert_eq!(render("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", &req), "a b&c=d/é");
    assert_eq!(
        render("#set($o = $util.parseJson('{\"a\":{\"b\":[1,2]}}'))$o.a.b.get(1) $o", &req),
        "2 {a={b=[1, 2]}}"
    );
}

#[test]
fn overrides_are_collected() {
    let req = request("{}");
    let t = Template::parse(
        "#set($context.responseOverride.status = 201)\n#set($context.responseOverride.header.X-Trace = 'x')\n#set($context.responseOverride.header['Location'] = \"/pets/$input.params('petId')\")\n#set($context.requestOverride.header.Authorization = 'Bearer t')\n#set($context.requestOverride.querystring.q = 'v')\n#set($context.requestOverride.path.petId = '8')\nok",
    )
    .expect("parses");
    let out = apigw::render(&t, &req).expect("renders");
    assert_eq!(out.body, "ok");
    assert_eq!(out.overrides.response_status, Some(201));
    assert_eq!(
        out.overrides.response_headers,
        vec![("X-Trace".to_owned(), "x".to_owned()), ("Location".to_owned(), "/pets/7".to_owned())]
    );
    assert_eq!(out.overrides.request_headers, vec![("Authorization".to_owned(), "Bearer t".to_owned())]);
    assert_eq!(out.overrides.request_querystring, vec![("q".to_owned(), "v".to_owned())]);
    assert_eq!(out.overrides.request_path, vec![("petId".to_owned(), "8".to_owned())]);
}

#[test]
fn a_body_that_is_not_json() {
    let t = Template::parse("$input.json('$.a')").expect("parses");
    match apigw::render(&t, &request("not json")) {
        Err(e @ apigw::Error::InvalidJson(_)) => {
            assert!(e.to_string().starts_with("Could not parse request body into json: "), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // The raw body and the parameters need no JSON.
    let t = Template::parse("$input.body/$input.params('petId')").expect("parses");
    assert_eq!(apigw::render(&t, &request("not json")).expect("renders").body, "not json/7");
    // An empty body reads as an empty object.
    let t = Template::parse("$input.json('$')").expect("parses");
    assert_eq!(apigw::render(&t, &request("")).expect("renders").body, "{}");
}

#[test]
fn foreach_stops_after_a_thousand_turns() {
    let t = Template::parse("#foreach($i in [1..5000])#set($last = $i)#end$last").expect("parses");
    assert_eq!(apigw::render(&t, &request("{}")).expect("renders").body, "1000");
}

#[test]
fn lambda_style_request_template() {
    let body = r#"{"user": {"first": "Ann", "last": "Lee"}, "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 1}]}"#;
    let src = r##"#set($root = $input.path('$'))
{
  "fullName": "$root.user.first $root.user.last",
  "skus": [#foreach($i in $root.items)"$i.sku"#if($foreach.hasNext), #end#end],
  "total": #set($t = 0)#foreach($i in $root.items)#set($t = $t + $i.qty)#end$t,
  "raw": $input.json('$.items[0]')
}"##;
    let out = render(src, &request(body));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["fullName"], "Ann Lee");
    assert_eq!(v["skus"], serde_json::json!(["a1", "b2"]));
    assert_eq!(v["total"], 3);
    assert_eq!(v["raw"]["sku"], "a1");
}
