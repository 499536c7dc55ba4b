//! Single sign-on mapping rules: what an identity provider says about a person (groups, a
//! verified email) → organisation memberships, with the reason for every rule's outcome so an
//! admin can see why someone has their roles. Pure: no store, no HTTP.

use serde::{Deserialize, Serialize};

use crate::settings::{MappingRule, OrgRole};

/// What a sign-in told us about the person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
}

/// Why a rule did or did not apply (shown translated: `why-<kebab name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    GroupPresent,
    GroupAbsent,
    DomainMatches,
    DomainDiffers,
    EmailUnverified,
    NoEmail,
    DefaultApplies,
    DefaultSkipped,
    /// The rule matched but names an organisation that does not exist (yet).
    UnknownOrg,
}

/// One rule's outcome at a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The rule as an operator wrote it (`group "/social.coop"`).
    pub condition: String,
    pub org: String,
    pub role: OrgRole,
    /// Whether it gave the membership.
    pub applied: bool,
    pub reason: Reason,
}

/// Everything an admin needs to see why a sign-in gave these roles (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub seen: Seen,
    pub rules: Vec<Outcome>,
    /// The provider's admin group the person is in, which makes them a platform admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_admin: Option<String>,
}

impl Explanation {
    /// The memberships the applied rules give: each organisation once, admin winning over
    /// member.
    pub fn grants(&self) -> Vec<(String, OrgRole)> {
        let mut out: Vec<(String, OrgRole)> = Vec::new();
        for o in self.rules.iter().filter(|o| o.applied) {
            match out.iter_mut().find(|(org, _)| *org == o.org) {
                Some((_, role)) if o.role == OrgRole::Admin => *role = OrgRole::Admin,
                Some(_) => {}
                None => out.push((o.org.clone(), o.role)),
            }
        }
        out
    }

    /// Marks applied rules whose organisation `exists` says is missing as not applied.
    pub fn drop_unknown_orgs(&mut self, exists: impl Fn(&str) -> bool) {
        for o in self.rules.iter_mut().filter(|o| o.applied) {
            if !exists(&o.org) {
                o.applied = false;
                o.reason = Reason::UnknownOrg;
            }
        }
    }
}

/// Applies `rules` to what a sign-in saw. A `default` rule applies only when no `group` or
/// `email_domain` rule matched; an email domain counts only when the provider verified it.
pub fn evaluate(rules: &[MappingRule], seen: &Seen) -> Explanation {
    let domain = seen
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    let mut outcomes: Vec<Outcome> = rules
        .iter()
        .map(|r| {
            let (condition, applied, reason) = if let Some(g) = &r.group {
                let hit = seen.groups.iter().any(|x| x == g);
                let reason = if hit {
                    Reason::GroupPresent
                } else {
                    Reason::GroupAbsent
                };
                (format!("group {g:?}"), hit, reason)
            } else if let Some(d) = &r.email_domain {
                let want = d.trim_start_matches('@').to_ascii_lowercase();
                let (hit, reason) = match &domain {
                    None => (false, Reason::NoEmail),
                    Some(have) if *have != want => (false, Reason::DomainDiffers),
                    Some(_) if !seen.email_verified => (false, Reason::EmailUnverified),
                    Some(_) => (true, Reason::DomainMatches),
                };
                (format!("email_domain {want:?}"), hit, reason)
            } else {
                // Decided below, once the other rules are known.
                ("default".to_owned(), false, Reason::DefaultSkipped)
            };
            Outcome {
                condition,
                org: r.org.clone(),
                role: r.role,
                applied,
                reason,
            }
        })
        .collect();
    let any_specific = rules
        .iter()
        .zip(&outcomes)
        .any(|(r, o)| !r.default && o.applied);
    if !any_specific {
        for (r, o) in rules.iter().zip(outcomes.iter_mut()) {
            if r.default {
                o.applied = true;
                o.reason = Reason::DefaultApplies;
            }
        }
    }
    Explanation {
        seen: seen.clone(),
        rules: outcomes,
        platform_admin: None,
    }
}

/// A rule an admin added in the portal as a settings-file rule (`None`: a kind this version
/// does not know).
pub fn from_stored(r: &plenary_store::SsoRule) -> Option<MappingRule> {
    let (group, email_domain, default) = match r.kind.as_str() {
        "group" => (Some(r.value.clone()), None, false),
        "email_domain" => (None, Some(r.value.clone()), false),
        "default" => (None, None, true),
        _ => return None,
    };
    Some(MappingRule {
        group,
        email_domain,
        default,
        org: r.org.clone(),
        role: if r.is_admin {
            OrgRole::Admin
        } else {
            OrgRole::Member
        },
    })
}

/// The longest group name or domain a rule added in the portal may have.
pub const MAX_RULE_VALUE: usize = 200;

/// Checks a rule from the admin's form: its kind and normalised value (a domain lower-cased,
/// without a leading `@`; nothing for `default`), or the message key of what is wrong.
pub fn check_new(kind: &str, value: &str) -> Result<(&'static str, String), &'static str> {
    let value = value.trim();
    let plain = !value.is_empty()
        && value.chars().count() <= MAX_RULE_VALUE
        && !value.chars().any(char::is_control);
    match kind {
        "group" if plain => Ok(("group", value.to_owned())),
        "group" => Err("error-rule-value"),
        "email_domain" => {
            let d = value.trim_start_matches('@').to_ascii_lowercase();
            let ok = plain
                && d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !d.contains('@')
                && !d.chars().any(char::is_whitespace);
            if ok {
                Ok(("email_domain", d))
            } else {
                Err("error-rule-value")
            }
        }
        "default" => Ok(("default", String::new())),
        _ => Err("error-bad-choice"),
    }
}

/// The first of a provider's `admin_groups` the person is in (exact match), if any.
pub fn admin_group(admin_groups: &[String], seen: &Seen) -> Option<String> {
    admin_groups
        .iter()
        .find(|g| seen.groups.iter().any(|x| x == *g))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(g: &str, org: &str, role: OrgRole) -> MappingRule {
        MappingRule {
            group: Some(g.into()),
            email_domain: None,
            default: false,
            org: org.into(),
            role,
        }
    }

    fn rules() -> Vec<MappingRule> {
        vec![
            group("/social.coop", "social.coop", OrgRole::Member),
            group("/social.coop/admins", "social.coop", OrgRole::Admin),
            MappingRule {
                group: None,
                email_domain: Some("radicalroutes.org.uk".into()),
                default: false,
                org: "Radical Routes".into(),
                role: OrgRole::Member,
            },
            MappingRule {
                group: None,
                email_domain: None,
                default: true,
                org: "Guests".into(),
                role: OrgRole::Member,
            },
        ]
    }

    fn seen(email: &str, verified: bool, groups: &[&str]) -> Seen {
        Seen {
            email: Some(email.into()),
            email_verified: verified,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[test]
    fn groups_give_membership_and_admin_wins() {
        let e = evaluate(
            &rules(),
            &seen("a@x.org", true, &["/social.coop", "/social.coop/admins"]),
        );
        assert_eq!(e.grants(), [("social.coop".to_owned(), OrgRole::Admin)]);
        assert_eq!(e.rules[0].reason, Reason::GroupPresent);
        assert_eq!(e.rules[3].reason, Reason::DefaultSkipped);
        let e = evaluate(&rules(), &seen("b@x.org", true, &["/social.coop"]));
        assert_eq!(e.grants(), [("social.coop".to_owned(), OrgRole::Member)]);
        assert_eq!(e.rules[1].reason, Reason::GroupAbsent);
    }

    #[test]
    fn rules_added_in_the_portal() {
        assert_eq!(
            check_new("group", " /social.coop "),
            Ok(("group", "/social.coop".into()))
        );
        assert_eq!(check_new("group", ""), Err("error-rule-value"));
        assert_eq!(check_new("group", "a\u{0}b"), Err("error-rule-value"));
        assert_eq!(
            check_new("group", &"g".repeat(201)),
            Err("error-rule-value")
        );
        assert_eq!(
            check_new("email_domain", "@RadicalRoutes.org.uk"),
            Ok(("email_domain", "radicalroutes.org.uk".into()))
        );
        for bad in ["", "localhost", ".org", "a.org.", "a@b.org", "a b.org"] {
            assert_eq!(
                check_new("email_domain", bad),
                Err("error-rule-value"),
                "{bad}"
            );
        }
        assert_eq!(
            check_new("default", "ignored"),
            Ok(("default", String::new()))
        );
        assert_eq!(check_new("everyone", "x"), Err("error-bad-choice"));

        let stored = |kind: &str, value: &str, is_admin| plenary_store::SsoRule {
            id: 1,
            provider: "p".into(),
            kind: kind.into(),
            value: value.into(),
            org: "O".into(),
            is_admin,
            created_at: 0,
        };
        let r = from_stored(&stored("group", "/g", true)).unwrap();
        assert_eq!((r.group.as_deref(), r.role), (Some("/g"), OrgRole::Admin));
        let r = from_stored(&stored("email_domain", "x.org", false)).unwrap();
        assert_eq!(
            (r.email_domain.as_deref(), r.role),
            (Some("x.org"), OrgRole::Member)
        );
        assert!(from_stored(&stored("default", "", false)).unwrap().default);
        assert!(from_stored(&stored("sometimes", "", false)).is_none());
        // A stored rule behaves like a file rule.
        let e = evaluate(
            &[from_stored(&stored("group", "/g", true)).unwrap()],
            &seen("a@x.org", true, &["/g"]),
        );
        assert_eq!(e.grants(), [("O".to_owned(), OrgRole::Admin)]);
    }

    #[test]
    fn admin_groups_match_exactly() {
        let groups = vec!["/ops".to_owned(), "/board".to_owned()];
        let s = seen("a@x.org", true, &["/social.coop", "/board"]);
        assert_eq!(admin_group(&groups, &s).as_deref(), Some("/board"));
        assert_eq!(
            admin_group(&groups, &seen("a@x.org", true, &["/ops-team", "ops"])),
            None
        );
        assert_eq!(admin_group(&[], &s), None);
    }

    #[test]
    fn group_match_is_exact() {
        let e = evaluate(
            &rules(),
            &seen("c@x.org", true, &["/social.coop.evil", "social.coop"]),
        );
        assert_eq!(e.grants(), [("Guests".to_owned(), OrgRole::Member)]);
    }

    #[test]
    fn email_domain_needs_a_verified_address() {
        let e = evaluate(&rules(), &seen("Carol@RadicalRoutes.org.uk", true, &[]));
        assert_eq!(e.grants(), [("Radical Routes".to_owned(), OrgRole::Member)]);
        assert_eq!(e.rules[2].reason, Reason::DomainMatches);
        let e = evaluate(&rules(), &seen("carol@radicalroutes.org.uk", false, &[]));
        assert_eq!(e.rules[2].reason, Reason::EmailUnverified);
        assert_eq!(e.grants(), [("Guests".to_owned(), OrgRole::Member)]);
        // A look-alike domain is not the domain.
        let e = evaluate(&rules(), &seen("eve@notradicalroutes.org.uk", true, &[]));
        assert_eq!(e.rules[2].reason, Reason::DomainDiffers);
        let e = evaluate(
            &rules(),
            &Seen {
                email: None,
                ..Seen::default()
            },
        );
        assert_eq!(e.rules[2].reason, Reason::NoEmail);
    }

    #[test]
    fn default_only_when_nothing_else_matched_and_none_without_rules() {
        let e = evaluate(&rules(), &seen("d@elsewhere.example", true, &[]));
        assert_eq!(e.grants(), [("Guests".to_owned(), OrgRole::Member)]);
        assert_eq!(e.rules[3].reason, Reason::DefaultApplies);
        assert!(
            evaluate(&[], &seen("d@x", true, &["/g"]))
                .grants()
                .is_empty()
        );
    }

    #[test]
    fn unknown_organisations_are_explained_not_granted() {
        let mut e = evaluate(&rules(), &seen("a@x.org", true, &["/social.coop"]));
        e.drop_unknown_orgs(|org| org != "social.coop");
        assert!(e.grants().is_empty());
        assert_eq!(e.rules[0].reason, Reason::UnknownOrg);
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"unknown-org\""), "{json}");
        let back: Explanation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
