//! Join tokens: short-lived, HMAC-signed grants. Only the admission service mints them
//! (`sign` is private to this crate); signalling only verifies them (style.md practice 11).
//!
//! Format: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use plenary_proto::{Role, RoomId};

type HmacSha256 = Hmac<Sha256>;

/// The grants a join token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// The only room this token admits to.
    pub room: RoomId,
    /// When set, the display name is fixed by the issuer and the client's choice is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
    /// The issuer's own id for this person (the BigBlueButton API's `userID`), reported back
    /// to the issuer in meeting information and webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Join with the microphone muted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start_muted: bool,
    /// Where the client sends the person when the meeting ends or they leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
    /// A guest who waits in the waiting room until a moderator lets them in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait_for_moderator: bool,
    /// The one seat this token admits to (recorded in the store when the token was minted):
    /// a second connection with the token takes the seat over, it never adds a participant.
    /// A token without a known seat admits nobody.
    #[serde(default)]
    pub seat: String,
    /// The Plenary account that asked, when signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// The address (IPv6: its /64) a guest asked from: who a moderator's "remove and bar"
    /// refuses when nothing else identifies them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl JoinClaims {
    /// What identifies the person holding this token, for barring: their account, their
    /// integration's user id, else the address they came from.
    pub fn identity(&self) -> Vec<String> {
        let mut id = Vec::new();
        if let Some(a) = self.account {
            id.push(format!("account:{a}"));
        }
        if let Some(u) = &self.user_id {
            id.push(format!("user:{u}"));
        }
        if id.is_empty()
            && let Some(f) = &self.from
        {
            id.push(format!("address:{f}"));
        }
        id
    }
}

impl JoinClaims {
    /// Claims with nothing but the essentials; the optional grants default to off.
    pub fn new(room: RoomId, name: Option<String>, role: Role, exp: u64) -> Self {
        Self {
            room,
            name,
            role,
            exp,
            user_id: None,
            start_muted: false,
            logout_url: None,
            wait_for_moderator: false,
            seat: String::new(),
            account: None,
            from: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Signs `claims` with `secret`. Only admission calls this.
pub(crate) fn sign_join_token(secret: &[u8], claims: &JoinClaims) -> String {
    let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = B64.encode(mac(secret, body.as_bytes()).finalize().into_bytes());
    format!("{body}.{sig}")
}

/// Checks a token's signature and expiry (`now` in seconds since the Unix epoch).
pub fn verify_join_token(secret: &[u8], token: &str, now: u64) -> Result<JoinClaims, TokenError> {
    let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    // verify_slice compares in constant time.
    mac(secret, body.as_bytes())
        .verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let json = B64.decode(body).map_err(|_| TokenError::Malformed)?;
    let claims: JoinClaims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> JoinClaims {
        JoinClaims::new(
            RoomId::parse("abc-defg-hij").unwrap(),
            None,
            Role::Participant,
            1_000,
        )
    }

    #[test]
    fn sign_then_verify() {
        let t = sign_join_token(b"secret", &claims());
        assert_eq!(verify_join_token(b"secret", &t, 999).unwrap(), claims());
    }

    #[test]
    fn expired_wrong_key_and_tampered_tokens_are_refused() {
        let t = sign_join_token(b"secret", &claims());
        assert_eq!(
            verify_join_token(b"secret", &t, 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify_join_token(b"other", &t, 0),
            Err(TokenError::BadSignature)
        );
        let mut forged = claims();
        forged.role = Role::Moderator;
        let forged_body = sign_join_token(b"attacker", &forged);
        let (body, _) = forged_body.split_once('.').unwrap();
        let (_, sig) = t.split_once('.').unwrap();
        assert_eq!(
            verify_join_token(b"secret", &format!("{body}.{sig}"), 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for t in ["", ".", "abc", "a.b.c", "!!!.???", "e30.AAAA"] {
            let r = verify_join_token(b"secret", t, 0);
            assert!(
                matches!(r, Err(TokenError::Malformed | TokenError::BadSignature)),
                "{t}: {r:?}"
            );
        }
    }
}
