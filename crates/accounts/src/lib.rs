//! Accounts: passwords and secrets, rate limits, the limits organisations put on their members,
//! the first admin and `set-password`, and the settings and mapping rules of single sign-on.
//! No HTTP here: the portal and the APIs call these.

pub mod mapping;
pub mod password;
pub mod settings;
pub mod throttle;

use plenary_proto::clock::unix_secs;
use plenary_store::{NewUser, Store, StoreError, UserStatus};

pub use settings::{MappingRule, OrgRole, Secret, SignupPolicy, SsoProvider};

/// The limits that apply to an account: the tightest of its organisations' (`None`: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_rooms: Option<i64>,
    pub max_participants: Option<i64>,
    pub max_meeting_minutes: Option<i64>,
}

pub async fn limits_of(store: &dyn Store, user_id: i64) -> Result<Limits, StoreError> {
    let tightest = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    Ok(store
        .orgs_of(user_id)
        .await?
        .into_iter()
        .fold(Limits::default(), |l, m| Limits {
            max_rooms: tightest(l.max_rooms, m.org.max_rooms_per_member),
            max_participants: tightest(l.max_participants, m.org.max_participants),
            max_meeting_minutes: tightest(l.max_meeting_minutes, m.org.max_meeting_minutes),
        }))
}

/// Something with one `@`, text on both sides and a dot in the domain: the rest is the
/// mail server's business.
pub fn plausible_email(e: &str) -> bool {
    e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
}

/// An API token's secret starts with this, so that people and secret scanners recognise it.
pub const API_TOKEN_PREFIX: &str = "plt_";

/// Makes an API token acting as `user_id`; returns its secret (shown once: only a hash is
/// kept) and the record.
pub async fn create_api_token(
    store: &dyn Store,
    user_id: i64,
    name: &str,
) -> Result<(String, plenary_store::ApiToken), StoreError> {
    let secret = format!("{API_TOKEN_PREFIX}{}", password::random_token());
    let token = store
        .create_api_token(&plenary_store::NewApiToken {
            token_hash: password::session_hash(&secret),
            name: name.trim().chars().take(100).collect(),
            user_id,
            created_at: unix_secs(),
        })
        .await?;
    Ok((secret, token))
}

/// The active account an API token's secret acts as.
pub async fn api_token_user(
    store: &dyn Store,
    secret: &str,
) -> Result<Option<plenary_store::User>, StoreError> {
    if !secret.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store
        .api_token_user(&password::session_hash(secret), unix_secs())
        .await?
        .filter(|u| u.status == UserStatus::Active))
}

/// What `plenary set-password` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSet {
    /// The account existed; its password is replaced and it is active again.
    Updated,
    /// No such account: an active platform admin was created.
    CreatedAdmin,
}

/// Sets an account's password (for an operator at the command line: a lost admin password).
pub async fn set_password(
    store: &dyn Store,
    email: &str,
    password: &str,
) -> anyhow::Result<PasswordSet> {
    let email = email.trim().to_lowercase();
    anyhow::ensure!(
        plausible_email(&email) || email.ends_with("@localhost"),
        "{email:?} is not an email address"
    );
    anyhow::ensure!(
        password.chars().count() >= password::MIN_PASSWORD,
        "the password needs at least {} characters",
        password::MIN_PASSWORD
    );
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw))
        .await?
        .map_err(anyhow::Error::msg)?;
    match store.user_by_email(&email).await? {
        Some(u) => {
            store.set_password_hash(u.id, &hash).await?;
            if u.status != UserStatus::Active {
                store
                    .update_user(u.id, UserStatus::Active, u.is_admin)
                    .await?;
            }
            Ok(PasswordSet::Updated)
        }
        None => {
            store
                .create_user(&NewUser {
                    email,
                    name: "Administrator".into(),
                    password_hash: Some(hash),
                    is_admin: true,
                    status: UserStatus::Active,
                    created_at: unix_secs(),
                })
                .await?;
            Ok(PasswordSet::CreatedAdmin)
        }
    }
}

/// The first account: a platform admin with a generated password, made on the first start
/// of an empty database. Returns `(email, password)` to print once.
pub async fn bootstrap_admin(
    store: &dyn Store,
    admin_email: &str,
) -> anyhow::Result<Option<(String, String)>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let email = admin_email.to_lowercase();
    let password = password::random_token();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw))
        .await?
        .map_err(anyhow::Error::msg)?;
    let created = store
        .create_user(&NewUser {
            email: email.clone(),
            name: "Administrator".into(),
            password_hash: Some(hash),
            is_admin: true,
            status: UserStatus::Active,
            created_at: unix_secs(),
        })
        .await;
    match created {
        Ok(_) => Ok(Some((email, password))),
        // Another node made it first.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "ada.lovelace+x@example.coop"] {
            assert!(plausible_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b.", "a b@c.d", "a@b@c.d",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
