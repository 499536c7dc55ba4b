//! The `<modules>` document of `create` (pre-upload slides) and `insertDocument`
//! (bbb-api.md §1.5.1): presentation documents by URL or inline base64. Kept as given;
//! Plenary shows no slides yet.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::meeting::Document;

/// The largest modules document read (inline slides come base64 in it).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::default())
                .ok()
                .map(|v| v.into_owned())
        })
}

fn flag(e: &BytesStart<'_>, name: &str, default: bool) -> bool {
    attr(e, name).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

/// The presentation documents in a modules document, or why it cannot be read.
pub fn parse(xml: &str) -> Result<Vec<Document>, String> {
    if xml.len() > MAX_BYTES {
        return Err(format!(
            "the modules document is larger than {MAX_BYTES} bytes"
        ));
    }
    let mut r = Reader::from_str(xml);
    r.config_mut().trim_text(true);
    let mut docs = Vec::new();
    let mut in_presentation = false;
    let mut open_doc: Option<Document> = None;
    let mut saw_modules = false;
    loop {
        match r.read_event() {
            Err(e) => return Err(format!("the modules document is not well-formed XML: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == "modules" => {
                saw_modules = true;
            }
            Ok(Event::Start(e)) if e.name().as_ref() == "module" => {
                in_presentation = attr(&e, "name").as_deref() == Some("presentation");
            }
            Ok(Event::End(e)) if e.name().as_ref() == "module" => in_presentation = false,
            Ok(ev @ (Event::Start(_) | Event::Empty(_))) if in_presentation => {
                let (e, empty) = match &ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => unreachable!(),
                };
                if e.name().as_ref() != "document" {
                    continue;
                }
                let d = Document {
                    url: attr(e, "url"),
                    filename: attr(e, "filename").or_else(|| attr(e, "name")),
                    inline_base64: None,
                    current: flag(e, "current", false),
                    downloadable: flag(e, "downloadable", false),
                    removable: flag(e, "removable", true),
                };
                if empty {
                    docs.push(d);
                } else {
                    open_doc = Some(d);
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(d) = open_doc.as_mut() {
                    let text = t.xml10_content().trim().to_owned();
                    if !text.is_empty() {
                        d.inline_base64 = Some(text);
                    }
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "document" => {
                if let Some(d) = open_doc.take() {
                    docs.push(d);
                }
            }
            Ok(_) => {}
        }
    }
    if !saw_modules {
        return Err("the XML body must be a <modules> document".into());
    }
    if docs
        .iter()
        .any(|d| d.url.is_none() && d.inline_base64.is_none())
    {
        return Err("a presentation document needs a url or inline content".into());
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_url_and_inline_documents() {
        let docs = parse(
            r#"<?xml version="1.0"?><modules><module name="presentation">
            <document url="https://host/a.pdf" filename="a.pdf" downloadable="true" removable="false" current="true"/>
            <document name="b.pdf">QUJD</document></module>
            <module name="clientSettingsOverride"><![CDATA[{"public":{}}]]></module></modules>"#,
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].url.as_deref(), Some("https://host/a.pdf"));
        assert!(docs[0].current && docs[0].downloadable && !docs[0].removable);
        assert_eq!(docs[1].filename.as_deref(), Some("b.pdf"));
        assert_eq!(docs[1].inline_base64.as_deref(), Some("QUJD"));
    }

    #[test]
    fn refuses_what_is_not_a_modules_document() {
        assert!(parse("<modules><module name=\"presentation\"><document").is_err());
        assert!(parse("<html/>").is_err());
        assert!(parse("not xml at all <<").is_err());
        assert!(
            parse("<modules><module name=\"presentation\"><document/></module></modules>").is_err()
        );
        assert_eq!(parse("<modules/>").unwrap(), vec![]);
    }
}
