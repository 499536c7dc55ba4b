//! Typed identifiers, so a room id can never be passed where a participant id is meant.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A participant in one live meeting, unique within a server process.
///
/// Serialised as a JSON number; values stay below 2^53 so JavaScript reads them exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A room's public id: the friendly part of its link (`/r/abc-defg-hij`).
///
/// Cheap to clone (shared). Lower-case ASCII letters, digits and dashes, 3 to 64 characters, no leading or trailing dash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomId(Arc<str>);

/// Why a string is not a valid [`RoomId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomIdError {
    #[error("a room id must be 3 to 64 characters long")]
    Length,
    #[error("a room id may only hold lower-case letters, digits and inner dashes")]
    Characters,
}

impl RoomId {
    /// Parses and validates a room id.
    pub fn parse(s: &str) -> Result<Self, RoomIdError> {
        if !(3..=64).contains(&s.len()) {
            return Err(RoomIdError::Length);
        }
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(RoomIdError::Characters);
        }
        Ok(Self(Arc::from(s)))
    }

    /// A fresh random id shaped like `abc-defg-hij`: easy to read out over a phone line,
    /// about 47 bits of entropy (the link is the only thing guarding an open room).
    pub fn random() -> Self {
        use rand::Rng;
        // No vowels-look-alike confusion: letters only, no digits to misread.
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
        let mut rng = rand::rng();
        let mut part = |n: usize| -> String {
            (0..n)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        };
        Self(Arc::from(format!("{}-{}-{}", part(3), part(4), part(3))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoomId {
    type Error = RoomIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RoomId> for String {
    fn from(id: RoomId) -> String {
        id.0.to_string()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_id_validation() {
        assert!(RoomId::parse("abc-defg-hij").is_ok());
        assert!(RoomId::parse("team7").is_ok());
        assert_eq!(RoomId::parse("ab"), Err(RoomIdError::Length));
        assert_eq!(RoomId::parse(&"a".repeat(65)), Err(RoomIdError::Length));
        assert_eq!(RoomId::parse("Abc"), Err(RoomIdError::Characters));
        assert_eq!(RoomId::parse("-abc"), Err(RoomIdError::Characters));
        assert_eq!(RoomId::parse("abc-"), Err(RoomIdError::Characters));
        assert_eq!(RoomId::parse("a b c"), Err(RoomIdError::Characters));
        assert_eq!(RoomId::parse("ab/../c"), Err(RoomIdError::Characters));
    }

    #[test]
    fn random_room_ids_are_valid_and_differ() {
        let a = RoomId::random();
        let b = RoomId::random();
        assert!(RoomId::parse(a.as_str()).is_ok(), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn room_id_deserialisation_validates() {
        let ok: Result<RoomId, _> = serde_json::from_str("\"abc-def\"");
        assert!(ok.is_ok());
        let bad: Result<RoomId, _> = serde_json::from_str("\"../etc\"");
        assert!(bad.is_err());
    }
}
