//! The accounts' part of the settings: who may sign up, and the identity providers members
//! sign in through with the rules that turn what a provider says into memberships. Read from
//! the settings file by the server and passed down.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who may create an account (`PLENARY_SIGNUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupPolicy {
    /// Anyone; the account works at once.
    Open,
    /// Anyone may ask; an admin approves (the default: an open instance gets abused).
    Approval,
    /// Nobody signs up; admins create accounts or send invitation links.
    Invite,
}

impl SignupPolicy {
    /// A policy by its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "approval" => Some(Self::Approval),
            "invite" => Some(Self::Invite),
            _ => None,
        }
    }

    /// The policy's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
            Self::Invite => "invite",
        }
    }
}

/// An OpenID Connect provider (Keycloak, Authentik, …) and the rules that turn what it says
/// about a person into organisation memberships.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoProvider {
    /// Short name used in URLs (`/auth/sso/<id>`): lower-case letters, digits and `-`.
    pub id: String,
    /// What the sign-in button says ("social.coop account").
    pub name: String,
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` must answer.
    pub issuer: String,
    pub client_id: String,
    /// Empty for a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes asked for besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim (in the ID token or the userinfo answer) that lists the person's groups.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Mapping rules, applied at each sign-in through this provider.
    #[serde(default)]
    pub rules: Vec<MappingRule>,
    /// Members of any of these groups are platform admins; re-checked at each sign-in (leaving
    /// the group takes the role back, unless an admin gave it by hand).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_groups: Vec<String>,
}

impl fmt::Debug for SsoProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoProvider")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("rules", &self.rules.len())
            .field("admin_groups", &self.admin_groups)
            .finish()
    }
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

fn default_groups_claim() -> String {
    "groups".into()
}

/// One mapping rule: a condition (exactly one of `group`, `email_domain`, `default`) and the
/// membership it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// The groups claim contains exactly this value (Keycloak: `/social.coop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The provider vouches (`email_verified`) for an email address at this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
    /// Applies when no `group` or `email_domain` rule of the provider matched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// The organisation's name, as created by a platform admin.
    pub org: String,
    #[serde(default)]
    pub role: OrgRole,
}

/// A role in an organisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    #[default]
    Member,
    Admin,
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}
