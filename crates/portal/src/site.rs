//! Site settings a platform admin changes in the portal (`/admin/settings`), stored through
//! the store so every node sees the same: the site's name, a welcome text on the sign-in page,
//! the sign-up policy and the language for browsers that ask for none of ours. A setting never
//! changed keeps the settings file's value (or the built-in default).

use plenary_store::StoreError;

use super::SignupPolicy;
use super::i18n;
use crate::PortalState;

/// The longest site name and welcome text accepted, in characters.
pub const MAX_NAME: usize = 60;
pub const MAX_WELCOME: usize = 500;

/// The site settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Shown in every page's bar and title; `None`: the translated "Plenary".
    pub name: Option<String>,
    /// Shown above the sign-in form (plain text).
    pub welcome: String,
    pub signup: SignupPolicy,
    /// For browsers that ask for none of our languages.
    pub default_lang: &'static str,
}

impl Site {
    /// The settings in effect: the stored ones over the settings file's.
    pub async fn load(app: &PortalState) -> Result<Self, StoreError> {
        let stored = app.store.site_settings().await?;
        Ok(Self::from_stored(app.settings.signup, &stored))
    }

    /// `file_signup`: the settings file's policy. A stored value that does not parse (written
    /// by a newer version, say) is ignored and logged, never fatal.
    pub fn from_stored(file_signup: SignupPolicy, stored: &[(String, String)]) -> Self {
        let mut site = Self {
            name: None,
            welcome: String::new(),
            signup: file_signup,
            default_lang: i18n::LANGS[0],
        };
        for (key, value) in stored {
            let ok = match key.as_str() {
                "site_name" => {
                    site.name = Some(value.clone()).filter(|v| !v.is_empty());
                    true
                }
                "welcome" => {
                    site.welcome = value.clone();
                    true
                }
                "signup" => SignupPolicy::parse(value)
                    .map(|p| site.signup = p)
                    .is_some(),
                "default_lang" => i18n::known(value).map(|l| site.default_lang = l).is_some(),
                _ => false,
            };
            if !ok {
                tracing::warn!(
                    key,
                    value,
                    "ignoring a site setting this version does not know"
                );
            }
        }
        site
    }
}

/// What the settings form submitted, checked: the `(key, value)` pairs to store, or the
/// message key of the first thing wrong.
pub fn validate(
    name: &str,
    welcome: &str,
    signup: &str,
    default_lang: &str,
) -> Result<Vec<(&'static str, String)>, &'static str> {
    let name = name.trim();
    let welcome = welcome.trim();
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err("error-site-name");
    }
    if welcome.chars().count() > MAX_WELCOME
        || welcome
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err("error-welcome");
    }
    let Some(policy) = SignupPolicy::parse(signup) else {
        return Err("error-bad-choice");
    };
    let Some(lang) = i18n::known(default_lang).filter(|l| *l == default_lang) else {
        return Err("error-bad-choice");
    };
    Ok(vec![
        ("site_name", name.to_owned()),
        ("welcome", welcome.replace("\r\n", "\n")),
        ("signup", policy.as_str().to_owned()),
        ("default_lang", lang.to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn stored_settings_override_the_file() {
        let none = Site::from_stored(SignupPolicy::Approval, &[]);
        assert_eq!(none.signup, SignupPolicy::Approval);
        assert_eq!((none.name, none.default_lang), (None, "en"));
        let s = Site::from_stored(
            SignupPolicy::Approval,
            &pairs(&[
                ("signup", "invite"),
                ("site_name", "meet.coop"),
                ("default_lang", "fr"),
                ("welcome", "Hello"),
            ]),
        );
        assert_eq!(s.signup, SignupPolicy::Invite);
        assert_eq!(s.name.as_deref(), Some("meet.coop"));
        assert_eq!((s.default_lang, s.welcome.as_str()), ("fr", "Hello"));
        // An empty name is the default one.
        let s = Site::from_stored(SignupPolicy::Open, &pairs(&[("site_name", "")]));
        assert_eq!(s.name, None);
    }

    #[test]
    fn unknown_or_bad_stored_values_are_ignored() {
        let s = Site::from_stored(
            SignupPolicy::Open,
            &pairs(&[
                ("signup", "everyone"),
                ("default_lang", "xx"),
                ("colour", "red"),
            ]),
        );
        assert_eq!(s, Site::from_stored(SignupPolicy::Open, &[]));
    }

    #[test]
    fn the_form_is_checked() {
        let ok = validate("  meet.coop ", "Welcome,\r\nmembers", "open", "de").unwrap();
        assert_eq!(
            ok,
            [
                ("site_name", "meet.coop".to_owned()),
                ("welcome", "Welcome,\nmembers".to_owned()),
                ("signup", "open".to_owned()),
                ("default_lang", "de".to_owned()),
            ]
        );
        assert_eq!(
            validate(&"x".repeat(61), "", "open", "en"),
            Err("error-site-name")
        );
        assert_eq!(
            validate("a\u{7}b", "", "open", "en"),
            Err("error-site-name")
        );
        assert_eq!(
            validate("", &"x".repeat(501), "open", "en"),
            Err("error-welcome")
        );
        assert_eq!(validate("", "", "anyone", "en"), Err("error-bad-choice"));
        assert_eq!(validate("", "", "open", "fr-CA"), Err("error-bad-choice"));
        assert_eq!(validate("", "", "open", ""), Err("error-bad-choice"));
    }
}
