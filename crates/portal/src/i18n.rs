//! The interface's four languages with Fluent: English, French, German, Spanish. The message
//! files live in `crates/server/locales/<lang>/` and are built into the binary. The language
//! comes from the `lang` cookie (the person's choice), else `Accept-Language`, else English.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// The languages, in the order the switcher shows them. The first is the fallback.
pub const LANGS: [&str; 4] = ["en", "fr", "de", "es"];

/// Per language: the portal's pages, and the meeting client's texts (ids `client-…`).
const SOURCES: [(&str, [&str; 2]); 4] = [
    (
        "en",
        [
            include_str!("../locales/en/portal.ftl"),
            include_str!("../locales/en/client.ftl"),
        ],
    ),
    (
        "fr",
        [
            include_str!("../locales/fr/portal.ftl"),
            include_str!("../locales/fr/client.ftl"),
        ],
    ),
    (
        "de",
        [
            include_str!("../locales/de/portal.ftl"),
            include_str!("../locales/de/client.ftl"),
        ],
    ),
    (
        "es",
        [
            include_str!("../locales/es/portal.ftl"),
            include_str!("../locales/es/client.ftl"),
        ],
    ),
];

/// The variables the client's messages use; the client fills `{name}` placeholders itself.
const CLIENT_VARIABLES: [&str; 9] = [
    "message", "reason", "n", "name", "page", "pages", "question", "time", "choice",
];

/// Every language's messages.
pub struct I18n {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
    ids: HashMap<&'static str, BTreeSet<String>>,
    /// The meeting client's messages per language, formatted once at load.
    client: HashMap<&'static str, BTreeMap<String, String>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n").field("langs", &LANGS).finish()
    }
}

/// A message the interface asked for that a language lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no message {key:?} in {lang}")]
pub struct Missing {
    pub lang: String,
    pub key: String,
}

impl I18n {
    /// Parses the built-in message files. Fails on a syntax error (caught by the tests).
    pub fn load() -> Result<Self, String> {
        let mut bundles = HashMap::new();
        let mut ids = HashMap::new();
        for (lang, sources) in SOURCES {
            let id: LanguageIdentifier = lang.parse().map_err(|e| format!("{lang}: {e}"))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No Unicode isolation marks around arguments: pages are not bidirectional yet,
            // and the marks would show up in plain-text contexts (titles, emails).
            bundle.set_use_isolating(false);
            let mut set = BTreeSet::new();
            for source in sources {
                let res = FluentResource::try_new(source.to_owned())
                    .map_err(|(_, errs)| format!("{lang}: {errs:?}"))?;
                set.extend(res.entries().filter_map(|e| match e {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                }));
                bundle
                    .add_resource(res)
                    .map_err(|errs| format!("{lang}: {errs:?}"))?;
            }
            bundles.insert(lang, bundle);
            ids.insert(lang, set);
        }
        let mut i18n = Self {
            bundles,
            ids,
            client: HashMap::new(),
        };
        for lang in LANGS {
            let messages = i18n.format_client(lang);
            i18n.client.insert(lang, messages);
        }
        Ok(i18n)
    }

    /// The message ids of a language.
    pub fn ids(&self, lang: &str) -> BTreeSet<String> {
        self.ids.get(lang).cloned().unwrap_or_default()
    }

    /// `key` in `lang`, formatted with `args`.
    pub fn message(
        &self,
        lang: &str,
        key: &str,
        args: Option<&FluentArgs<'_>>,
    ) -> Result<String, Missing> {
        let missing = || Missing {
            lang: lang.to_owned(),
            key: key.to_owned(),
        };
        let bundle = self.bundles.get(lang).ok_or_else(missing)?;
        let msg = bundle.get_message(key).ok_or_else(missing)?;
        let pattern = msg.value().ok_or_else(missing)?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(lang, key, ?errors, "message formatted with errors");
        }
        Ok(text.into_owned())
    }

    /// The meeting client's messages in `lang` (empty for a language we do not have),
    /// variables left as `{name}` placeholders.
    pub fn client_messages(&self, lang: &str) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        self.client.get(lang).unwrap_or(&NONE)
    }

    fn format_client(&self, lang: &str) -> BTreeMap<String, String> {
        let mut args = FluentArgs::new();
        for v in CLIENT_VARIABLES {
            args.set(v, format!("{{{v}}}"));
        }
        self.ids(lang)
            .into_iter()
            .filter(|id| id.starts_with("client-"))
            .map(|id| {
                let text = self.t(lang, &id, Some(&args));
                (id, text)
            })
            .collect()
    }

    /// `key` in `lang`, else in English, else the key itself (logged): a person always sees
    /// something, and the tests make sure it never comes to that.
    pub fn t(&self, lang: &str, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        self.message(lang, key, args)
            .or_else(|_| self.message(LANGS[0], key, args))
            .unwrap_or_else(|e| {
                tracing::error!(%e, "untranslated message");
                key.to_owned()
            })
    }
}

/// The language to use: the `lang` cookie if it names one of ours, else the best match in
/// `Accept-Language` (by quality, then order), else English.
pub fn negotiate(
    cookie: Option<&str>,
    accept_language: Option<&str>,
    fallback: &'static str,
) -> &'static str {
    if let Some(l) = cookie.and_then(known) {
        return l;
    }
    let mut offers: Vec<(f32, usize, &'static str)> = Vec::new();
    for (i, part) in accept_language.unwrap_or("").split(',').enumerate() {
        let mut bits = part.split(';');
        let tag = bits.next().unwrap_or("").trim();
        let q = bits
            .find_map(|b| b.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(l) = known(tag)
            && q > 0.0
        {
            offers.push((q, i, l));
        }
    }
    offers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    offers.first().map_or(fallback, |o| o.2)
}

/// One of our languages for a tag like `fr`, `fr-CA` or `DE-de`.
pub fn known(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    LANGS.iter().copied().find(|l| *l == primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message() {
        let i18n = I18n::load().unwrap();
        let en = i18n.ids("en");
        assert!(en.len() > 20);
        for lang in LANGS {
            let ids = i18n.ids(lang);
            let missing: Vec<_> = en.difference(&ids).collect();
            let extra: Vec<_> = ids.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang}: missing {missing:?}, extra {extra:?}"
            );
            for id in &ids {
                let text = i18n.message(lang, id, Some(&args())).unwrap();
                assert!(!text.trim().is_empty(), "{lang}/{id} is empty");
            }
        }
    }

    fn args() -> FluentArgs<'static> {
        let mut a = FluentArgs::new();
        a.set("name", "Ada");
        a.set("minutes", 15);
        a.set("min", 10);
        a
    }

    #[test]
    fn messages_are_formatted_in_each_language() {
        let i18n = I18n::load().unwrap();
        let a = args();
        assert_eq!(i18n.t("en", "signed-in-as", Some(&a)), "Signed in as Ada");
        assert_eq!(i18n.t("de", "signed-in-as", Some(&a)), "Angemeldet als Ada");
        assert_eq!(i18n.t("fr", "nav-rooms", None), "Mes salles");
        assert_eq!(i18n.t("es", "nav-rooms", None), "Mis salas");
        assert!(i18n.message("fr", "no-such-key", None).is_err());
        assert_eq!(i18n.t("fr", "no-such-key", None), "no-such-key");
    }

    #[test]
    fn the_client_uses_only_messages_that_exist() {
        // Every `data-i18n…="key"` in the client's pages and every `tr('key'` in its scripts.
        let files = [
            include_str!("../templates/landing.html"),
            include_str!("../../../web/room.html"),
            include_str!("../../../web/js/room.js"),
            include_str!("../../../web/js/panel.js"),
            include_str!("../../../web/js/landing.js"),
            include_str!("../../../web/js/devices.js"),
            include_str!("../../../web/js/tiles.js"),
            include_str!("../../../web/js/stage.js"),
            include_str!("../../../web/js/settings.js"),
            include_str!("../../../web/js/keys.js"),
            include_str!("../../../web/js/recording.js"),
            include_str!("../../../web/js/polls.js"),
            include_str!("../../../web/js/agenda.js"),
            include_str!("../../../web/js/notes.js"),
        ];
        let i18n = I18n::load().unwrap();
        let en = i18n.client_messages("en");
        let mut used = BTreeSet::new();
        for f in files {
            for (i, _) in f.match_indices("client-") {
                let key: String = f[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                used.insert(key);
            }
        }
        assert!(used.len() > 30, "{used:?}");
        for key in &used {
            assert!(
                en.contains_key(key),
                "the client uses {key}, which no message file has"
            );
        }
        let unused: Vec<_> = en.keys().filter(|k| !used.contains(*k)).collect();
        assert!(unused.is_empty(), "messages nobody uses: {unused:?}");
        for lang in LANGS {
            let m = i18n.client_messages(lang);
            assert_eq!(m.len(), en.len(), "{lang}");
            assert_eq!(
                m["client-join-failed"].matches("{message}").count(),
                1,
                "{lang}"
            );
        }
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(None, None, "en"), "en");
        assert_eq!(negotiate(None, Some("fr-CA,fr;q=0.9,en;q=0.8"), "en"), "fr");
        assert_eq!(
            negotiate(None, Some("pt-BR, de;q=0.5, es;q=0.7"), "en"),
            "es"
        );
        assert_eq!(negotiate(None, Some("de;q=0, es;q=0.1"), "en"), "es");
        assert_eq!(negotiate(None, Some("ja, zh"), "en"), "en");
        assert_eq!(negotiate(Some("de"), Some("fr"), "en"), "de");
        assert_eq!(negotiate(Some("xx"), Some("fr"), "en"), "fr");
        assert_eq!(negotiate(None, Some(";;;,q=,=,"), "en"), "en");
        // The site's default language for browsers that ask for none of ours.
        assert_eq!(negotiate(None, Some("ja, zh"), "fr"), "fr");
        assert_eq!(negotiate(None, None, "de"), "de");
        assert_eq!(negotiate(None, Some("es"), "de"), "es");
    }
}
