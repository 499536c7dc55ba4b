//! The XML envelope BigBlueButton clients parse: `<response>` with `returncode` first, HTTP 200
//! even on `FAILED`, `text/xml;charset=utf-8`. Written by hand: the documents are small and flat,
//! and element order matters to some clients (bbb-api.md §1.5).

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An XML document under construction, starting inside `<response>`.
#[derive(Debug)]
pub struct Xml {
    out: String,
    open: Vec<&'static str>,
}

impl Xml {
    /// `<response><returncode>SUCCESS</returncode>`.
    pub fn success() -> Self {
        let mut x = Self::response();
        x.elem("returncode", "SUCCESS");
        x
    }

    /// A `FAILED` response with its machine key and English message.
    pub fn failed(key: &str, message: &str) -> Self {
        let mut x = Self::response();
        x.elem("returncode", "FAILED");
        x.elem("messageKey", key);
        x.elem("message", message);
        x
    }

    fn response() -> Self {
        let mut x = Self {
            out: String::with_capacity(512),
            open: Vec::new(),
        };
        x.open("response");
        x
    }

    /// `<name>text</name>`, text escaped.
    pub fn elem(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        escape_into(&mut self.out, &text.to_string());
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name/>`.
    pub fn empty(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}/>");
        self
    }

    /// `<name attr="v"…>text</name>`.
    pub fn elem_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push('>');
        escape_into(&mut self.out, text);
        let _ = write!(self.out, "</{name}>");
        self
    }

    pub fn open(&mut self, name: &'static str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self.open.push(name);
        self
    }

    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            let _ = write!(self.out, "</{name}>");
        }
        self
    }

    /// The finished document (closes whatever is open).
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

impl IntoResponse for Xml {
    fn into_response(self) -> Response {
        xml_response(self.finish())
    }
}

pub fn xml_response(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Escapes text and attribute values; drops characters XML 1.0 cannot carry at all.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut x = Xml::success();
        x.elem("meetingName", "Tom & <Jerry> \"q\" 'a'\u{1}")
            .open("attendees")
            .empty("x")
            .close()
            .elem_attrs("image", &[("alt", "a\"b")], "u");
        assert_eq!(
            x.finish(),
            "<response><returncode>SUCCESS</returncode><meetingName>Tom &amp; &lt;Jerry&gt; &quot;q&quot; &apos;a&apos;</meetingName><attendees><x/></attendees><image alt=\"a&quot;b\">u</image></response>"
        );
    }

    #[test]
    fn failed_shape() {
        assert_eq!(
            Xml::failed("notFound", "A meeting with that ID does not exist").finish(),
            "<response><returncode>FAILED</returncode><messageKey>notFound</messageKey><message>A meeting with that ID does not exist</message></response>"
        );
    }
}
