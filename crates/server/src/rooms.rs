//! A room's settings and who gets in how: the owner and holders of the moderator code
//! moderate; with a viewer code set, others need it; with the waiting room on, guests wait for
//! a moderator. Pure decisions, tested without a server; the HTTP API applies them.

use plenary_proto::Role;
use serde::{Deserialize, Serialize};

/// What a room's owner sets (stored as JSON in `rooms.settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomSettings {
    /// Guests wait until a moderator lets them in.
    pub waiting_room: bool,
    /// Everyone joins with the microphone muted.
    pub mute_on_join: bool,
    /// When set, people without an account role need this code to join.
    pub viewer_code: Option<String>,
    /// Whoever gives this code joins as moderator.
    pub moderator_code: Option<String>,
}

impl RoomSettings {
    /// The stored document; an unreadable one is logged and read as the defaults.
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "unreadable room settings: defaults used");
            Self::default()
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn needs_code(&self) -> bool {
        self.viewer_code.is_some()
    }
}

/// How someone may join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted {
        role: Role,
        /// Wait in the waiting room first.
        wait: bool,
        muted: bool,
    },
    /// A viewer code is set and none was given.
    CodeRequired,
    /// A code was given and matches neither code.
    WrongCode,
}

/// Who gets in, and as what. `owner`: the signed-in owner of the room.
pub fn decide(s: &RoomSettings, owner: bool, code: Option<&str>) -> Access {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let matches = |want: &Option<String>| match (want, code) {
        (Some(w), Some(c)) => crate::portal::auth::same_token(w, c),
        _ => false,
    };
    let granted = |role: Role| Access::Granted {
        role,
        wait: s.waiting_room && role != Role::Moderator,
        muted: s.mute_on_join,
    };
    if owner || matches(&s.moderator_code) {
        return granted(Role::Moderator);
    }
    if matches(&s.viewer_code) {
        return granted(Role::Participant);
    }
    match (s.viewer_code.is_some(), code) {
        (true, None) => Access::CodeRequired,
        (_, Some(_)) if s.viewer_code.is_some() || s.moderator_code.is_some() => Access::WrongCode,
        _ => granted(Role::Participant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(viewer: Option<&str>, moderator: Option<&str>, waiting: bool) -> RoomSettings {
        RoomSettings {
            waiting_room: waiting,
            mute_on_join: true,
            viewer_code: viewer.map(str::to_owned),
            moderator_code: moderator.map(str::to_owned),
        }
    }

    const P: Role = Role::Participant;
    const M: Role = Role::Moderator;

    fn ok(role: Role, wait: bool) -> Access {
        Access::Granted {
            role,
            wait,
            muted: true,
        }
    }

    #[test]
    fn open_room() {
        let s = with(None, None, false);
        assert_eq!(decide(&s, false, None), ok(P, false));
        assert_eq!(decide(&s, true, None), ok(M, false));
        // A code given to a room without codes is simply not needed.
        assert_eq!(decide(&s, false, Some("x")), ok(P, false));
    }

    #[test]
    fn codes() {
        let s = with(Some("view-123"), Some("mod-456"), false);
        assert_eq!(decide(&s, false, None), Access::CodeRequired);
        assert_eq!(decide(&s, false, Some("  ")), Access::CodeRequired);
        assert_eq!(decide(&s, false, Some("view-123")), ok(P, false));
        assert_eq!(decide(&s, false, Some(" view-123 ")), ok(P, false));
        assert_eq!(decide(&s, false, Some("mod-456")), ok(M, false));
        assert_eq!(decide(&s, false, Some("guess")), Access::WrongCode);
        assert_eq!(
            decide(&s, true, None),
            ok(M, false),
            "the owner needs no code"
        );
        // Only a moderator code: anyone may join as participant, a wrong code is refused.
        let s = with(None, Some("mod-456"), false);
        assert_eq!(decide(&s, false, None), ok(P, false));
        assert_eq!(decide(&s, false, Some("mod-456")), ok(M, false));
        assert_eq!(decide(&s, false, Some("guess")), Access::WrongCode);
    }

    #[test]
    fn waiting_room_holds_everyone_but_moderators() {
        let s = with(Some("v"), Some("m"), true);
        assert_eq!(decide(&s, false, Some("v")), ok(P, true));
        assert_eq!(decide(&s, false, Some("m")), ok(M, false));
        assert_eq!(decide(&s, true, None), ok(M, false));
    }

    #[test]
    fn settings_round_trip_and_bad_json() {
        let s = with(Some("v"), None, true);
        assert_eq!(RoomSettings::parse(&s.to_json()), s);
        assert_eq!(RoomSettings::parse("{}"), RoomSettings::default());
        assert_eq!(RoomSettings::parse("not json"), RoomSettings::default());
    }
}
