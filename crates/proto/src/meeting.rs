//! The in-meeting parts of the protocol: chat, hands, reactions, moderation and the locks
//! moderators set for viewers. The messages that carry them are in `signal.rs`.

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Who a chat message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatTo {
    /// Everyone in the meeting.
    Everyone,
    /// The meeting's moderators (and the sender).
    Moderators,
    /// One participant (and the sender): `participant_id` names them.
    Participant,
}

/// A chat message as the server stamped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique in its meeting, increasing.
    pub id: u64,
    /// The sender, `None` for a message an integration posted (BBB `sendChatMessage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ParticipantId>,
    /// The sender's name as it was when sent.
    pub name: String,
    pub to: ChatTo,
    /// The recipient of a private message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_participant: Option<ParticipantId>,
    pub text: String,
    /// Milliseconds since the Unix epoch, by the server's clock.
    pub at_ms: i64,
}

/// A reaction shown briefly on the sender's tile. A small fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    Applause,
    ThumbsUp,
    ThumbsDown,
    Laugh,
    Surprised,
    Heart,
}

/// What a moderator does to one participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModAction {
    /// Mute their microphone (the client mutes; a microphone is never forced on).
    Mute,
    /// Ask them to unmute (they decide).
    AskUnmute,
    /// Turn their camera off.
    CameraOff,
    /// Remove them from the meeting.
    Remove,
    /// Remove them, and refuse them for the rest of this meeting.
    RemoveAndBar,
    /// Make them a moderator.
    Promote,
    /// Make a moderator a participant again.
    Demote,
    /// Stop their screen share.
    StopScreen,
}

/// What a moderator asked this client to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModRequest {
    /// You were muted (the client mutes its microphone).
    Mute,
    /// A moderator asks you to unmute.
    AskUnmute,
    /// Your camera was turned off.
    CameraOff,
    /// Stop sharing your screen (a moderator stopped it, or someone took over).
    StopScreen,
}

/// What viewers (participants who are not moderators) may not do. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Locks {
    pub cameras: bool,
    pub microphones: bool,
    pub public_chat: bool,
    /// Private chat with other viewers (moderators can always be written to).
    pub private_chat: bool,
    pub screen_share: bool,
    /// Viewers see only moderators' cameras.
    pub hide_viewer_cameras: bool,
    /// Editing the shared minutes (viewers still read them).
    pub notes: bool,
}

/// Who the SFU forwards one of a publisher's sources to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    /// Nobody: the source is locked for this publisher.
    Nobody,
    /// Only moderators (viewers' cameras when viewers may see only moderators').
    Moderators,
    #[default]
    Everyone,
}

/// What the SFU forwards of one participant's media, whatever their client sends, and whether
/// they receive as a moderator. Worked out by the meeting from their role and the locks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Forwarding {
    pub microphone: Audience,
    pub camera: Audience,
    /// The screen share's video and audio.
    pub screen: Audience,
    pub moderator: bool,
}

impl Forwarding {
    /// Nothing forwarded, not a moderator: until the meeting says otherwise.
    pub const CLOSED: Self = Self {
        microphone: Audience::Nobody,
        camera: Audience::Nobody,
        screen: Audience::Nobody,
        moderator: false,
    };

    /// For someone of `role` under `locks`: moderators are never locked.
    pub fn of(role: crate::Role, locks: &Locks) -> Self {
        if role == crate::Role::Moderator {
            return Self {
                moderator: true,
                ..Self::default()
            };
        }
        let open = |locked: bool| {
            if locked {
                Audience::Nobody
            } else {
                Audience::Everyone
            }
        };
        Self {
            microphone: open(locks.microphones),
            camera: if locks.cameras {
                Audience::Nobody
            } else if locks.hide_viewer_cameras {
                Audience::Moderators
            } else {
                Audience::Everyone
            },
            screen: open(locks.screen_share),
            moderator: false,
        }
    }

    /// Only what the participant has on, as the meeting records it: a microphone muted (by
    /// them or a moderator), a camera off or a share stopped is not forwarded, even from a
    /// client that keeps sending.
    pub fn only_what_is_on(self, audio: bool, video: bool, screen: bool) -> Self {
        let on = |on: bool, a: Audience| if on { a } else { Audience::Nobody };
        Self {
            microphone: on(audio, self.microphone),
            camera: on(video, self.camera),
            screen: on(screen, self.screen),
            moderator: self.moderator,
        }
    }

    /// Who receives `source`.
    pub fn audience(&self, source: crate::TrackSource) -> Audience {
        match source {
            crate::TrackSource::Microphone => self.microphone,
            crate::TrackSource::Camera => self.camera,
            crate::TrackSource::Screen | crate::TrackSource::ScreenAudio => self.screen,
        }
    }
}

#[cfg(test)]
mod forwarding_tests {
    use super::*;
    use crate::{Role, TrackSource};

    #[test]
    fn locks_close_sources_for_viewers_only() {
        let locks = Locks {
            microphones: true,
            hide_viewer_cameras: true,
            ..Locks::default()
        };
        let viewer = Forwarding::of(Role::Participant, &locks);
        assert_eq!(viewer.audience(TrackSource::Microphone), Audience::Nobody);
        assert_eq!(viewer.audience(TrackSource::Camera), Audience::Moderators);
        assert_eq!(
            viewer.audience(TrackSource::ScreenAudio),
            Audience::Everyone
        );
        assert!(!viewer.moderator);
        let locked_cameras = Locks {
            cameras: true,
            hide_viewer_cameras: true,
            ..Locks::default()
        };
        assert_eq!(
            Forwarding::of(Role::Participant, &locked_cameras).camera,
            Audience::Nobody
        );
        let moderator = Forwarding::of(Role::Moderator, &locked_cameras);
        assert_eq!(moderator.audience(TrackSource::Camera), Audience::Everyone);
        assert!(moderator.moderator);
    }
}

/// What a moderator does to the meeting's recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordAction {
    Start,
    Pause,
    Resume,
    Stop,
}

/// Whether the meeting is being recorded (everyone is shown it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    #[default]
    Off,
    Recording,
    Paused,
}

impl RecordingState {
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }
}
