//! The console's reader of the services' public APIs over [`ports::ServiceApi`]: each request
//! written the way an SDK writes it in that service's protocol, each answer read back as JSON or
//! as a small XML tree. Read-only by construction: the console never calls a mutating operation.

use bytes::Bytes;
use http::Method;
use ports::ServiceApi;
use quick_xml::events::Event;
use serde_json::Value;
use types::Scope;

use crate::error::Error;

/// The services' APIs, as one tenant.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    port: &'a dyn ServiceApi,
    scope: &'a Scope,
}

impl<'a> Reader<'a> {
    pub fn new(port: &'a dyn ServiceApi, scope: &'a Scope) -> Reader<'a> {
        Reader { port, scope }
    }

    pub fn scope(&self) -> &Scope {
        self.scope
    }

    async fn send(&self, service: &str, req: http::Request<Bytes>) -> Result<Bytes, Error> {
        let resp = self.port.call(self.scope, service, req).await;
        let status = resp.status();
        let body = resp.into_body();
        if status.is_success() {
            Ok(body)
        } else {
            Err(Error::Upstream {
                service: service.to_owned(),
                status: status.as_u16(),
                detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
            })
        }
    }

    /// An awsJson call; `version` is `1.0` or `1.1`, `target` is `{prefix}.{Operation}`.
    pub async fn json(
        &self,
        service: &str,
        version: &str,
        target: &str,
        body: Value,
    ) -> Result<Value, Error> {
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("content-type", format!("application/x-amz-json-{version}"))
            .header("x-amz-target", target)
            .body(Bytes::from(body.to_string()))
            .map_err(Error::internal)?;
        let body = self.send(service, req).await?;
        parse_json(&body)
    }

    /// A rest-json GET; `path` carries its query string.
    pub async fn get_json(&self, service: &str, path: &str) -> Result<Value, Error> {
        let req = http::Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Bytes::new())
            .map_err(Error::internal)?;
        let body = self.send(service, req).await?;
        parse_json(&body)
    }

    /// A query-protocol call; returns the response document as a tree.
    pub async fn query(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Element, Error> {
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action).append_pair("Version", version);
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Bytes::from(form))
            .map_err(Error::internal)?;
        let body = self.send(service, req).await?;
        Ok(parse_xml(&String::from_utf8_lossy(&body)))
    }

    /// A rest-xml GET (S3).
    pub async fn get_xml(&self, service: &str, path: &str) -> Result<Element, Error> {
        let req = http::Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Bytes::new())
            .map_err(Error::internal)?;
        let body = self.send(service, req).await?;
        Ok(parse_xml(&String::from_utf8_lossy(&body)))
    }
}

fn parse_json(body: &[u8]) -> Result<Value, Error> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(Error::internal)
}

/// An XML element: enough of the DOM to read AWS answers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Every element named `name`, at any depth, in document order.
    pub fn descendants<'s>(&'s self, name: &str, out: &mut Vec<&'s Element>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.descendants(name, out);
        }
    }

    pub fn find_all(&self, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        self.descendants(name, &mut out);
        out
    }
}

/// Parses a document into a tree under a nameless root; malformed input yields what was read
/// before the fault (the console shows what it can rather than nothing).
pub fn parse_xml(xml: &str) -> Element {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(Element { name: e.local_name().into_inner().to_owned(), ..Element::default() })
            }
            Ok(Event::Empty(e)) => {
                let el = Element { name: e.local_name().into_inner().to_owned(), ..Element::default() };
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() > 1
                    && let Some(done) = stack.pop()
                    && let Some(top) = stack.last_mut()
                {
                    top.children.push(done);
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.into_inner());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => {
                            let entity = format!("&{};", r.xml10_content());
                            top.text.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
                        }
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    // Close whatever a truncated document left open.
    while stack.len() > 1 {
        if let Some(done) = stack.pop()
            && let Some(top) = stack.last_mut()
        {
            top.children.push(done);
        }
    }
    stack.pop().unwrap_or_default()
}

/// Everything but RFC 3986's unreserved characters, as SigV4 canonicalises them.
const COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_tree_reads_nesting_entities_and_empty_elements() {
        let root =
            parse_xml("<?xml version=\"1.0\"?><R xmlns=\"x\"><A>x &amp; y&#33;</A><B><A>2</A><C/></B></R>");
        let r = root.child("R").expect("R");
        assert_eq!(r.text_of("A"), Some("x & y!"));
        assert_eq!(r.find_all("A").len(), 2);
        assert!(r.child("B").and_then(|b| b.child("C")).is_some());
        // Truncated input keeps what was read.
        let cut = parse_xml("<R><A>1</A><B>");
        assert_eq!(cut.child("R").and_then(|r| r.text_of("A")), Some("1"));
    }
}
