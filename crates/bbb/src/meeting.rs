//! One BigBlueButton meeting session as the API sees it: the parameters `create` was given,
//! the passwords and ids it handed out, and where the session is in its life. Kept as a JSON
//! document in the store (`api_meetings.doc`), so a restart loses no created meeting.
//!
//! The lifecycle rules are pure functions of the session and a time, tested without a clock.

use std::collections::{BTreeMap, BTreeSet};

use plenary_proto::RoomId;
use serde::{Deserialize, Serialize};

/// `guestPolicy` (bbb-api.md §1.5.1), applied by admission to joins with `guest=true`.
pub use plenary_meeting::GuestPolicy;

/// A presentation document from a `<modules>` body (create or insertDocument), kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub url: Option<String>,
    pub filename: Option<String>,
    /// Base64 content, for documents sent inline.
    pub inline_base64: Option<String>,
    pub current: bool,
    pub downloadable: bool,
    pub removable: bool,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// `end` was called.
    Ended,
    /// `duration` minutes passed.
    DurationExceeded,
    /// Nobody joined within `meetingExpireIfNoUserJoinedInMinutes`.
    NobodyJoined,
    /// The last participant left `meetingExpireWhenLastUserLeftInMinutes` ago.
    LastUserLeft,
    /// `endWhenNoModerator`: no moderator for `endWhenNoModeratorDelayInMinutes`.
    NoModerator,
}

fn one() -> u32 {
    1
}

/// Everything the API keeps about one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub meeting_id: String,
    pub internal_id: String,
    /// The Plenary room the session's participants meet in.
    pub room: RoomId,
    pub name: String,
    pub create_time_ms: i64,
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub voice_bridge: String,
    pub dial_number: String,
    pub welcome: String,
    pub moderator_only_message: Option<String>,
    pub logout_url: Option<String>,
    /// 0 = no limit beyond the server's own.
    pub max_participants: u32,
    /// Minutes; 0 = unlimited.
    pub duration_min: u32,
    pub record: bool,
    pub auto_start_recording: bool,
    pub allow_start_stop_recording: bool,
    pub guest_policy: GuestPolicy,
    pub mute_on_start: bool,
    pub expire_no_join_min: u32,
    pub expire_last_left_min: u32,
    pub end_when_no_moderator: bool,
    /// Minutes without a moderator before `end_when_no_moderator` ends the session.
    #[serde(default = "one")]
    pub end_when_no_moderator_delay_min: u32,
    /// `meta_*`, keys lower-cased.
    pub metadata: BTreeMap<String, String>,
    /// Other parameters the call carried (lock settings, layout, branding…), accepted and
    /// kept for the features that will read them.
    pub settings: BTreeMap<String, String>,
    pub documents: Vec<Document>,
    /// Set when the first participant joined.
    pub started_ms: Option<i64>,
    /// When the room last became empty after someone had joined.
    pub last_left_ms: Option<i64>,
    /// Since when people are in the room but no moderator is.
    #[serde(default)]
    pub no_moderator_since_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub end_reason: Option<EndReason>,
    /// External user ids that have joined (for `maxParticipants`: a rejoin is not a new user).
    pub users: BTreeSet<String>,
    /// `userdata-*` per external user id.
    pub custom_data: BTreeMap<String, BTreeMap<String, String>>,
}

impl Session {
    /// Whether `create`'s `disabledFeatures` turned `feature` off (and
    /// `disabledFeaturesExclude` did not turn it back on), case aside.
    pub fn feature_disabled(&self, feature: &str) -> bool {
        let listed = |k: &str| {
            self.settings
                .get(k)
                .is_some_and(|v| v.split(',').any(|f| f.trim().eq_ignore_ascii_case(feature)))
        };
        listed("disabledFeatures") && !listed("disabledFeaturesExclude")
    }

    /// The locks viewers start under, from `create`'s lock settings (bbb-api.md §1.5.1):
    /// applied on join unless `lockSettingsLockOnJoin=false`; `webcamsOnlyForModerator` always.
    /// `lockSettingsDisableNote(s)` locks the shared minutes;
    /// `allowModsToUnmuteUsers` changes nothing: a moderator only ever asks to unmute.
    pub fn initial_locks(&self) -> plenary_proto::Locks {
        let on = |k: &str| {
            self.settings
                .get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let on_join = !self
            .settings
            .get("lockSettingsLockOnJoin")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        plenary_proto::Locks {
            cameras: on_join && on("lockSettingsDisableCam"),
            microphones: on_join && on("lockSettingsDisableMic"),
            public_chat: on_join && on("lockSettingsDisablePublicChat"),
            private_chat: on_join && on("lockSettingsDisablePrivateChat"),
            screen_share: false,
            hide_viewer_cameras: on("webcamsOnlyForModerator"),
            notes: on_join && (on("lockSettingsDisableNotes") || on("lockSettingsDisableNote")),
        }
    }

    /// `running` in getMeetingInfo: someone joined and the session has not ended.
    pub fn running(&self) -> bool {
        self.started_ms.is_some() && self.ended_ms.is_none()
    }

    /// Whether the session should end now by its own rules, given how many are in its room.
    /// (`end` is the API's explicit way; this covers duration and expiry, bbb-api.md §1.5.1.)
    pub fn due_to_end(&self, now_ms: i64, present: usize) -> Option<EndReason> {
        if self.ended_ms.is_some() {
            return None;
        }
        let minutes = |m: u32| i64::from(m) * 60_000;
        if self.duration_min > 0
            && let Some(start) = self.started_ms
            && now_ms - start >= minutes(self.duration_min)
        {
            return Some(EndReason::DurationExceeded);
        }
        if self.end_when_no_moderator
            && let Some(since) = self.no_moderator_since_ms
            && now_ms - since >= minutes(self.end_when_no_moderator_delay_min)
        {
            return Some(EndReason::NoModerator);
        }
        if present > 0 {
            return None;
        }
        match (self.started_ms, self.last_left_ms) {
            (None, _) if now_ms - self.create_time_ms >= minutes(self.expire_no_join_min) => {
                Some(EndReason::NobodyJoined)
            }
            (Some(_), Some(left)) if now_ms - left >= minutes(self.expire_last_left_min) => {
                Some(EndReason::LastUserLeft)
            }
            _ => None,
        }
    }

    /// `createDate`: Java's `Date.toString()` in UTC, e.g. `Fri Apr 20 08:14:05 UTC 2018`.
    pub fn create_date(&self) -> String {
        java_date(self.create_time_ms)
    }
}

/// Java `Date.toString()` in UTC, which the Ruby gem behind Greenlight parses.
pub fn java_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]"
    );
    t.format(&fmt).unwrap_or_default()
}

/// `internalMeetingID` = `sha1_hex(meetingID) "-" createTime` (bbb-web
/// `ParamsProcessorUtil.convertToInternalMeetingId`); a recording's recordID is the same.
pub fn internal_id(meeting_id: &str, create_time_ms: i64) -> String {
    format!(
        "{}-{create_time_ms}",
        super::checksum::Algorithm::Sha1.hex(&[meeting_id.as_bytes()])
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn session() -> Session {
        Session {
            meeting_id: "m".into(),
            internal_id: internal_id("m", 1_000_000),
            room: RoomId::parse("bbb-test").unwrap_or_else(|_| unreachable!()),
            name: "M".into(),
            create_time_ms: 1_000_000,
            attendee_pw: "ap".into(),
            moderator_pw: "mp".into(),
            voice_bridge: "71234".into(),
            dial_number: "613-555-1234".into(),
            welcome: String::new(),
            moderator_only_message: None,
            logout_url: None,
            max_participants: 0,
            duration_min: 0,
            record: false,
            auto_start_recording: false,
            allow_start_stop_recording: true,
            guest_policy: GuestPolicy::AlwaysAccept,
            mute_on_start: false,
            expire_no_join_min: 5,
            expire_last_left_min: 1,
            end_when_no_moderator: false,
            end_when_no_moderator_delay_min: 1,
            metadata: BTreeMap::new(),
            settings: BTreeMap::new(),
            documents: Vec::new(),
            started_ms: None,
            last_left_ms: None,
            no_moderator_since_ms: None,
            ended_ms: None,
            end_reason: None,
            users: BTreeSet::new(),
            custom_data: BTreeMap::new(),
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn expires_when_nobody_joins() {
        let s = session();
        assert_eq!(s.due_to_end(s.create_time_ms + 5 * MIN - 1, 0), None);
        assert_eq!(
            s.due_to_end(s.create_time_ms + 5 * MIN, 0),
            Some(EndReason::NobodyJoined)
        );
        // Someone is in the room (joined but not yet counted as started): not expired.
        assert_eq!(s.due_to_end(s.create_time_ms + 9 * MIN, 1), None);
    }

    #[test]
    fn expires_after_the_last_one_left() {
        let mut s = session();
        s.started_ms = Some(s.create_time_ms + MIN);
        assert_eq!(s.due_to_end(s.create_time_ms + 60 * MIN, 2), None);
        s.last_left_ms = Some(s.create_time_ms + 10 * MIN);
        assert_eq!(s.due_to_end(s.create_time_ms + 11 * MIN - 1, 0), None);
        assert_eq!(
            s.due_to_end(s.create_time_ms + 11 * MIN, 0),
            Some(EndReason::LastUserLeft)
        );
        // Somebody came back before the delay ran out.
        assert_eq!(s.due_to_end(s.create_time_ms + 11 * MIN, 1), None);
    }

    #[test]
    fn duration_ends_even_a_full_room() {
        let mut s = session();
        s.duration_min = 30;
        assert_eq!(s.due_to_end(s.create_time_ms + 31 * MIN, 3), None); // not started yet
        s.started_ms = Some(s.create_time_ms);
        assert_eq!(
            s.due_to_end(s.create_time_ms + 30 * MIN, 3),
            Some(EndReason::DurationExceeded)
        );
        s.ended_ms = Some(s.create_time_ms + 30 * MIN);
        assert_eq!(s.due_to_end(s.create_time_ms + 40 * MIN, 0), None);
    }

    #[test]
    fn ends_without_a_moderator_only_when_asked() {
        let mut s = session();
        s.started_ms = Some(s.create_time_ms);
        s.no_moderator_since_ms = Some(s.create_time_ms + MIN);
        // Not asked: people without a moderator carry on.
        assert_eq!(s.due_to_end(s.create_time_ms + 30 * MIN, 3), None);
        s.end_when_no_moderator = true;
        s.end_when_no_moderator_delay_min = 2;
        assert_eq!(s.due_to_end(s.create_time_ms + 3 * MIN - 1, 3), None);
        assert_eq!(
            s.due_to_end(s.create_time_ms + 3 * MIN, 3),
            Some(EndReason::NoModerator)
        );
        // A moderator came back.
        s.no_moderator_since_ms = None;
        assert_eq!(s.due_to_end(s.create_time_ms + 30 * MIN, 3), None);
    }

    #[test]
    fn ids_and_dates() {
        // sha1("abc123") from `printf abc123 | sha1sum`.
        assert_eq!(
            internal_id("abc123", 1524212045514),
            "6367c48dd193d56ea7b0baad25b19455e529f5ee-1524212045514"
        );
        assert_eq!(java_date(1524212045514), "Fri Apr 20 08:14:05 UTC 2018");
    }
}
