//! A room's settings and who gets in how: the owner and holders of the moderator code
//! moderate; with a viewer code set, others need it; with the waiting room on, guests wait for
//! a moderator. Pure decisions, tested without a server; the HTTP API applies them.

use plenary_proto::Role;
use serde::{Deserialize, Serialize};

/// What a room's owner sets (stored as JSON in `rooms.settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Anyone may open the meeting; when off, participants get in only while a moderator is
    /// in it.
    pub anyone_may_start: bool,
    /// People without an account may join; when off, joining needs a signed-in account.
    pub guests_allowed: bool,
    /// The room may be recorded: its moderators can start a recording of its meetings.
    pub recording_allowed: bool,
    /// Who may watch the room's published recordings (its owners always may).
    pub recordings_audience: RecordingAudience,
    /// Set for a room an integration (the BigBlueButton API) created: people enter only
    /// through that integration's join links, under these rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration: Option<IntegrationRules>,
    /// The agenda its meetings start with (prepared on the room's page or in a meeting).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agenda: Vec<plenary_proto::AgendaItem>,
}

/// Who may watch a room's published recordings besides its owners and co-owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RecordingAudience {
    /// Nobody else (the default: closed until an owner opens it).
    #[default]
    Owners,
    /// Signed-in members of an organisation the room's owner belongs to.
    Members,
    /// Anyone with the recording's link (its key is unguessable), unless the recording is
    /// protected (then as `Members`).
    Link,
}

/// Who enters an integration's room, as its `create` call set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationRules {
    #[serde(default)]
    pub guest_policy: GuestPolicy,
    /// Most participants (0: only the server's own limit).
    #[serde(default)]
    pub max_participants: u32,
    /// What viewers may not do when the meeting starts (BBB `lockSettings…`).
    #[serde(default)]
    pub locks: plenary_proto::Locks,
    /// Whether and how its meetings are recorded (BBB `record`, `autoStartRecording`, …).
    #[serde(default)]
    pub recording: IntegrationRecording,
    /// Moderators may not ask polls (BBB `disabledFeatures=polls`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub polls_disabled: bool,
    /// Nobody may open or edit the shared minutes (BBB `disabledFeatures=sharedNotes`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notes_disabled: bool,
}

/// An integration's recording rules (BBB `create`): `record` allows recording at all;
/// `auto_start` starts it when the first person joins; without `allow_start_stop` moderators
/// cannot start, pause or stop it; `full_duration` (BBB `recordFullDurationMedia`) records the
/// whole meeting: started at the first join, never paused or stopped by a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationRecording {
    pub record: bool,
    pub auto_start: bool,
    pub allow_start_stop: bool,
    pub full_duration: bool,
}

impl Default for IntegrationRecording {
    fn default() -> Self {
        Self {
            record: false,
            auto_start: false,
            allow_start_stop: true,
            full_duration: false,
        }
    }
}

impl IntegrationRecording {
    /// Whether it starts by itself when the first person joins.
    pub fn starts_by_itself(&self) -> bool {
        self.record && (self.auto_start || self.full_duration)
    }

    /// Whether moderators start, pause and stop it.
    pub fn moderators_control(&self) -> bool {
        self.record && self.allow_start_stop && !self.full_duration
    }
}

/// Whether guests of an integration's meeting get in (BBB `guestPolicy`; applies to joins the
/// integration marks as guests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuestPolicy {
    #[default]
    AlwaysAccept,
    AlwaysDeny,
    AskModerator,
    AlwaysAcceptAuth,
}

impl GuestPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ALWAYS_ACCEPT" => Some(Self::AlwaysAccept),
            "ALWAYS_DENY" => Some(Self::AlwaysDeny),
            "ASK_MODERATOR" => Some(Self::AskModerator),
            "ALWAYS_ACCEPT_AUTH" => Some(Self::AlwaysAcceptAuth),
            _ => None,
        }
    }
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            waiting_room: false,
            mute_on_join: false,
            viewer_code: None,
            moderator_code: None,
            anyone_may_start: true,
            guests_allowed: true,
            recording_allowed: false,
            recordings_audience: RecordingAudience::Owners,
            integration: None,
            agenda: Vec::new(),
        }
    }
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
    /// Guests are not allowed and nobody is signed in.
    SignInRequired,
    /// Only a moderator may open the meeting, and none is in it.
    NotStarted,
}

/// Who is asking to join.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Joiner {
    /// The signed-in owner of the room.
    pub owner: bool,
    /// Signed in with any account.
    pub signed_in: bool,
    /// A moderator is in the meeting now.
    pub moderator_present: bool,
}

/// Who gets in, and as what.
pub fn decide(s: &RoomSettings, who: Joiner, code: Option<&str>) -> Access {
    let access = decide_role(s, who.owner, code);
    match access {
        Access::Granted { role, .. } if role != Role::Moderator => {
            if !s.guests_allowed && !who.signed_in {
                Access::SignInRequired
            } else if !s.anyone_may_start && !who.moderator_present {
                Access::NotStarted
            } else {
                access
            }
        }
        other => other,
    }
}

fn decide_role(s: &RoomSettings, owner: bool, code: Option<&str>) -> Access {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let matches = |want: &Option<String>| match (want, code) {
        (Some(w), Some(c)) => plenary_accounts::password::same_token(w, c),
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
            ..RoomSettings::default()
        }
    }

    /// A decision with a moderator present; the owner is signed in, others not.
    fn d(s: &RoomSettings, owner: bool, code: Option<&str>) -> Access {
        let who = Joiner {
            owner,
            signed_in: owner,
            moderator_present: true,
        };
        decide(s, who, code)
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
        assert_eq!(d(&s, false, None), ok(P, false));
        assert_eq!(d(&s, true, None), ok(M, false));
        // A code given to a room without codes is simply not needed.
        assert_eq!(d(&s, false, Some("x")), ok(P, false));
    }

    #[test]
    fn codes() {
        let s = with(Some("view-123"), Some("mod-456"), false);
        assert_eq!(d(&s, false, None), Access::CodeRequired);
        assert_eq!(d(&s, false, Some("  ")), Access::CodeRequired);
        assert_eq!(d(&s, false, Some("view-123")), ok(P, false));
        assert_eq!(d(&s, false, Some(" view-123 ")), ok(P, false));
        assert_eq!(d(&s, false, Some("mod-456")), ok(M, false));
        assert_eq!(d(&s, false, Some("guess")), Access::WrongCode);
        assert_eq!(d(&s, true, None), ok(M, false), "the owner needs no code");
        // Only a moderator code: anyone may join as participant, a wrong code is refused.
        let s = with(None, Some("mod-456"), false);
        assert_eq!(d(&s, false, None), ok(P, false));
        assert_eq!(d(&s, false, Some("mod-456")), ok(M, false));
        assert_eq!(d(&s, false, Some("guess")), Access::WrongCode);
    }

    #[test]
    fn waiting_room_holds_everyone_but_moderators() {
        let s = with(Some("v"), Some("m"), true);
        assert_eq!(d(&s, false, Some("v")), ok(P, true));
        assert_eq!(d(&s, false, Some("m")), ok(M, false));
        assert_eq!(d(&s, true, None), ok(M, false));
    }

    #[test]
    fn guests_allowed_and_anyone_may_start() {
        let s = RoomSettings {
            guests_allowed: false,
            ..with(None, Some("m"), false)
        };
        let guest = Joiner::default();
        let member = Joiner {
            signed_in: true,
            ..Joiner::default()
        };
        let present = |j: Joiner| Joiner {
            moderator_present: true,
            ..j
        };
        assert_eq!(decide(&s, present(guest), None), Access::SignInRequired);
        assert_eq!(decide(&s, present(member), None), ok(P, false));
        // A moderator code still makes a moderator, account or not.
        assert_eq!(decide(&s, guest, Some("m")), ok(M, false));
        // Anyone may start (the default): an empty meeting is open to the first comer.
        assert_eq!(decide(&with(None, None, false), guest, None), ok(P, false));
        let s = RoomSettings {
            anyone_may_start: false,
            ..with(None, None, true)
        };
        assert_eq!(decide(&s, member, None), Access::NotStarted);
        assert_eq!(decide(&s, present(member), None), ok(P, true));
        let owner = Joiner {
            owner: true,
            signed_in: true,
            moderator_present: false,
        };
        assert_eq!(decide(&s, owner, None), ok(M, false), "the owner starts it");
        // Codes are checked first: a wrong code is a wrong code, started or not.
        let s = RoomSettings {
            anyone_may_start: false,
            ..with(Some("v"), None, false)
        };
        assert_eq!(decide(&s, member, Some("x")), Access::WrongCode);
    }

    #[test]
    fn settings_round_trip_and_bad_json() {
        let s = with(Some("v"), None, true);
        assert_eq!(RoomSettings::parse(&s.to_json()), s);
        assert_eq!(RoomSettings::parse("{}"), RoomSettings::default());
        // Rooms stored before these settings existed keep working as before.
        let old = RoomSettings::parse(r#"{"waiting_room":true}"#);
        assert!(old.anyone_may_start && old.guests_allowed && !old.recording_allowed);
        assert_eq!(RoomSettings::parse("not json"), RoomSettings::default());
    }
}
