//! XML on the wire: a small writer for response documents and a well-formedness check for
//! request bodies. Escaping is quick-xml's; the writer only keeps the nesting straight.

use quick_xml::escape::{escape, partial_escape};

use crate::ProtocolError;

/// Builds an XML document element by element. Element names are the service model's member
/// names, always static text, so only text content is escaped.
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    pub fn new() -> XmlWriter {
        XmlWriter { buf: String::with_capacity(512) }
    }

    /// A writer whose document starts with `<?xml version="1.0" encoding="UTF-8"?>`, as S3's do.
    pub fn with_declaration() -> XmlWriter {
        let mut w = XmlWriter::new();
        w.buf.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        w.buf.push('\n');
        w
    }

    pub fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// Opens an element carrying an `xmlns` attribute.
    pub fn open_ns(&mut self, name: &str, xmlns: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(" xmlns=\"");
        self.buf.push_str(&escape(xmlns));
        self.buf.push_str("\">");
    }

    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        // Text needs only `<`, `>` and `&` escaped; AWS leaves quotes as they are.
        self.buf.push_str(&partial_escape(text));
        self.close(name);
    }

    /// `<name>text</name>` when there is a value, nothing otherwise: optional members are
    /// omitted, not written empty.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf.into_bytes()
    }
}

/// Checks that `body` is one well-formed XML document, as rest-xml services do before reading
/// it; `MalformedXML`-style errors come from the `Serialization` rejection.
pub fn check_well_formed(body: &[u8]) -> Result<(), ProtocolError> {
    use quick_xml::events::Event;
    let malformed = || {
        ProtocolError::Serialization(
            "The XML you provided was not well-formed or did not validate against our published schema"
                .to_owned(),
        )
    };
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Ok(Event::Empty(_)) if depth == 0 => roots += 1,
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Text(t)) if depth == 0 && !AsRef::<str>::as_ref(&t).trim().is_empty() => {
                return Err(malformed());
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(malformed()),
        }
    }
    if depth != 0 || roots != 1 {
        return Err(malformed());
    }
    Ok(())
}

/// The text of the first element named `tag` (local name), unescaped.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_texts(xml, tag).into_iter().next()
}

/// The text of every element named `tag` (local name), in document order.
pub fn xml_texts(xml: &str, tag: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == tag => {
                inside = true;
                text.clear();
            }
            Ok(Event::End(e)) if inside && e.local_name().as_ref() == tag => {
                inside = false;
                out.push(std::mem::take(&mut text));
            }
            Ok(Event::Text(t)) if inside => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if inside => match r.resolve_char_ref() {
                Ok(Some(c)) => text.push(c),
                _ => {
                    let entity = format!("&{};", r.xml10_content());
                    text.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
                }
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_and_entities() {
        let xml = "<R><A>x &amp; y</A><B><A>2</A></B><Code>NotFound</Code></R>";
        assert_eq!(xml_texts(xml, "A"), vec!["x & y".to_owned(), "2".to_owned()]);
        assert_eq!(xml_text(xml, "Code").as_deref(), Some("NotFound"));
        assert_eq!(xml_text(xml, "Missing"), None);
    }

    #[test]
    fn escapes_text() {
        let mut w = XmlWriter::new();
        w.leaf("A", "<&>\"'");
        assert_eq!(String::from_utf8(w.finish()).expect("utf8"), "<A>&lt;&amp;&gt;\"'</A>");
    }

    #[test]
    fn well_formed() {
        assert!(check_well_formed(b"<?xml version=\"1.0\"?><a><b>x</b></a>").is_ok());
        assert!(check_well_formed(b"<a/>").is_ok());
        for bad in [&b"<a>"[..], b"<a></b>", b"", b"<a/><b/>", b"text", b"<a>\xff</a>", b"<a></a>junk"] {
            assert!(check_well_formed(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
