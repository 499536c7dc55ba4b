//! Request parameters as BigBlueButton reads them (bbb-api.md §1.1): from the query string and,
//! for form POSTs, the body; empty values count as absent; unknown ones are ignored; control
//! characters are stripped from values.

use std::collections::BTreeMap;

/// The parameters of one request, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// A parameter that is present but not usable. Answers `validationError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Params {
    /// Parses `a=1&b=x+y` (percent-decoding, `+` as space; bad UTF-8 becomes U+FFFD).
    pub fn parse(raw: &str) -> Self {
        Self {
            pairs: form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Adds parameters that the request sent in its body.
    pub fn extend(&mut self, other: Params) {
        self.pairs.extend(other.pairs);
    }

    /// The parameters re-encoded as bbb-web 2.4–2.6 rebuilt a POST's query for its checksum:
    /// names sorted, `checksum` left out, values form-encoded (space as `+`), joined by `&`.
    pub fn sorted_form(&self) -> String {
        let mut pairs: Vec<&(String, String)> =
            self.pairs.iter().filter(|(k, _)| k != "checksum").collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            out.append_pair(k, v);
        }
        out.finish()
    }

    /// The names sent, in order (with repeats).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// Whether `name` appears at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// The first non-empty value of `name`, control characters removed.
    pub fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| strip_controls(v))
            .find(|v| !v.trim().is_empty())
    }

    /// Like [`Params::get`], trimmed (bbb-web trims meetingID and fullName).
    pub fn trimmed(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.trim().to_owned())
    }

    /// `true`/`false` (any case); absent means `default`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, Invalid> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(Invalid(format!("Parameter {name} must be true or false"))),
        }
    }

    /// A whole number at least 0; absent means `None`.
    pub fn count(&self, name: &str) -> Result<Option<u32>, Invalid> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| Invalid(format!("Parameter {name} must be a whole number"))),
        }
    }

    /// `meta_<name>` parameters whose name matches `^meta_[a-zA-Z][a-zA-Z0-9-]*$`, keyed by the
    /// lower-cased name; others are dropped, as bbb-web does. Empty values are kept (for
    /// `updateRecordings`, where an empty value deletes).
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.pairs {
            let Some(name) = k.strip_prefix("meta_") else {
                continue;
            };
            let mut chars = name.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
            if valid {
                out.entry(name.to_ascii_lowercase())
                    .or_insert_with(|| strip_controls(v));
            }
        }
        out
    }

    /// Parameters whose name starts with `prefix`, with the prefix removed (first value wins).
    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.pairs {
            if let Some(name) = k.strip_prefix(prefix).filter(|n| !n.is_empty()) {
                out.entry(name.to_owned())
                    .or_insert_with(|| strip_controls(v));
            }
        }
        out
    }

    /// A comma-separated list, entries trimmed, empty ones dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// bbb-web strips `\p{Cc}` from parameter values.
fn strip_controls(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_absent_and_junk_is_ignored() {
        let p = Params::parse("meetingID=&recordID=&0=1&name=Co+op%20Hall&name=second");
        assert_eq!(p.get("meetingID"), None);
        assert!(p.has("meetingID"));
        assert_eq!(p.get("name").as_deref(), Some("Co op Hall"));
        assert_eq!(p.get("missing"), None);
    }

    #[test]
    fn controls_stripped_and_trimmed() {
        let p = Params::parse("fullName=%20Ada%07%0ALovelace%20");
        assert_eq!(p.trimmed("fullName").as_deref(), Some("AdaLovelace"));
    }

    #[test]
    fn booleans_and_counts() {
        let p = Params::parse("record=TRUE&muteOnStart=false&bad=yes&max=12&neg=-1");
        assert_eq!(p.bool("record", false), Ok(true));
        assert_eq!(p.bool("muteOnStart", true), Ok(false));
        assert_eq!(p.bool("absent", true), Ok(true));
        assert!(p.bool("bad", false).is_err());
        assert_eq!(p.count("max"), Ok(Some(12)));
        assert!(p.count("neg").is_err());
        assert_eq!(p.count("absent"), Ok(None));
    }

    #[test]
    fn metadata_rules() {
        let p = Params::parse(
            "meta_endCallbackUrl=https%3A%2F%2Fx&meta_bbb-origin=greenlight&meta_bad_name=x&meta_1x=y&meta_=z&meta_gl-listed=",
        );
        let m = p.metadata();
        assert_eq!(
            m.get("endcallbackurl").map(String::as_str),
            Some("https://x")
        );
        assert_eq!(m.get("bbb-origin").map(String::as_str), Some("greenlight"));
        assert_eq!(m.get("gl-listed").map(String::as_str), Some(""));
        assert_eq!(m.len(), 3, "{m:?}");
    }

    #[test]
    fn lists() {
        let p = Params::parse("recordID=a,%20b,,c");
        assert_eq!(p.list("recordID"), vec!["a", "b", "c"]);
    }

    #[test]
    fn malformed_encoding_does_not_fail() {
        let p = Params::parse("a=%ZZ%&b=%FF%FE&=x&&c");
        assert_eq!(p.get("a").as_deref(), Some("%ZZ%"));
        assert!(p.get("b").is_some());
        assert!(p.has("c"));
    }
}
