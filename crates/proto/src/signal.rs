//! The signalling protocol spoken over the WebSocket at `/ws`: JSON text frames, each one
//! message tagged by its `type`. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::ids::{ParticipantId, RoomId};
use crate::meeting::{ChatMessage, ChatTo, Locks, ModAction, ModRequest, Reaction};
use crate::role::Role;

/// The protocol version a client states in `join`. Bumped on any incompatible change.
/// 2: chat, hands, reactions, moderation, locks; roles in participant lists.
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest text frame a server accepts. An SDP answer for a 25-person meeting (about 50
/// m-lines from a browser) stays well under this.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Audio or video: the two kinds of track a participant publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// What a participant has on, as the meeting records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaOn {
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

/// How well a participant's connection carries media, from the SFU's loss and round-trip
/// figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    #[default]
    Good,
    Fair,
    Poor,
}

impl Quality {
    pub fn is_good(&self) -> bool {
        *self == Self::Good
    }
}

/// What a published track carries. A client publishes its transceivers in this order: the
/// microphone, the camera, then a shared screen's video and its (tab) audio; the n-th track of
/// a kind is the n-th source of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Microphone,
    Camera,
    Screen,
    ScreenAudio,
}

impl TrackSource {
    /// The source of a publisher's `n`-th track (from 0) of `kind`.
    pub fn nth(kind: MediaKind, n: usize) -> Option<Self> {
        match (kind, n) {
            (MediaKind::Audio, 0) => Some(Self::Microphone),
            (MediaKind::Audio, 1) => Some(Self::ScreenAudio),
            (MediaKind::Video, 0) => Some(Self::Camera),
            (MediaKind::Video, 1) => Some(Self::Screen),
            // A client has one camera, one microphone and one screen share: further tracks
            // carry nothing the meeting knows of, and are never forwarded.
            _ => None,
        }
    }

    /// Announced to the others only once it carries media (a screen share's tracks, which a
    /// client keeps ready from the start).
    pub fn on_first_media(self) -> bool {
        matches!(self, Self::Screen | Self::ScreenAudio)
    }

    /// The source's wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Microphone => "microphone",
            Self::Camera => "camera",
            Self::Screen => "screen",
            Self::ScreenAudio => "screen_audio",
        }
    }
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message on a connection: who joins which room, with a join token from the API.
    Join {
        v: u32,
        room: RoomId,
        name: String,
        token: String,
    },
    /// First message on a connection that gets back into a meeting after a drop: the place
    /// the meeting holds for `participant_id` (about 30 s), with the key from `joined`.
    Resume {
        v: u32,
        room: RoomId,
        participant_id: ParticipantId,
        key: String,
    },
    /// The client's SDP offer. Only the first negotiation is client-offered; after that the
    /// server offers and the client answers (see "Renegotiation" in docs/protocol.md).
    Offer { sdp: String },
    /// The client's SDP answer to a server offer.
    Answer { sdp: String },
    /// The client's microphone, camera and screen-share state, shown to the others.
    MediaState {
        audio: bool,
        video: bool,
        #[serde(default)]
        screen: bool,
    },
    /// Leaving on purpose; the server forgets the participant at once.
    Leave {},
    /// Keep-alive; the server answers `pong`.
    Ping {},
    /// A moderator lets a waiting guest in.
    Admit { participant_id: ParticipantId },
    /// A moderator turns a waiting guest away.
    Deny { participant_id: ParticipantId },
    /// A chat message: to everyone, to the moderators, or (`to: participant`) to
    /// `participant_id` alone.
    Chat {
        to: ChatTo,
        #[serde(default)]
        participant_id: Option<ParticipantId>,
        text: String,
    },
    /// (Moderators) delete a chat message.
    ChatDelete { id: u64 },
    /// Raise or lower your own hand.
    Hand { raised: bool },
    /// (Moderators) lower someone's hand, or (no `participant_id`) everyone's.
    LowerHand {
        #[serde(default)]
        participant_id: Option<ParticipantId>,
    },
    /// A brief reaction on your tile.
    React { reaction: Reaction },
    /// (Moderators) act on one participant.
    Moderate {
        participant_id: ParticipantId,
        action: ModAction,
    },
    /// (Moderators) mute everyone but the moderators.
    MuteAll {},
    /// (Moderators) set what viewers may do.
    Lock { locks: Locks },
    /// (Moderators) end the meeting for everyone.
    EndMeeting {},
    /// (Moderators) start, pause, resume or stop recording, where the room allows it.
    Record { action: crate::RecordAction },
    /// This client's connection over the last interval (every 10 s; see
    /// [`crate::QualityReport`]).
    QualityReport { report: crate::QualityReport },
    /// The person reports a problem to the admins, with what their client last measured.
    ProblemReport {
        note: String,
        #[serde(default)]
        report: Option<crate::QualityReport>,
    },
    /// (Moderators) ask a poll.
    PollOpen { poll: crate::PollSpec },
    /// Answer poll `id` with option indices (one, or for a multiple-choice poll several).
    /// A vote is final.
    PollVote { id: u64, choices: Vec<u32> },
    /// (Moderators) close poll `id` now.
    PollClose { id: u64 },
    /// (Moderators) the agenda's items (kept with the room for its next meetings too).
    AgendaSet { items: Vec<crate::AgendaItem> },
    /// (Moderators) move to item `index` of the agenda (none: no item under discussion).
    AgendaGo {
        #[serde(default)]
        index: Option<usize>,
    },
    /// (Moderators) give the floor to the next on the speakers' list (their hand is lowered).
    SpeakerNext {},
    /// (Moderators, or the speaker) the current speaker is done.
    SpeakerDone {},
    /// (Moderators) how the speakers' list runs.
    SpeakersSet {
        progressive: bool,
        #[serde(default)]
        limit_s: Option<u32>,
    },
    /// Send me the meeting's shared minutes (answered with `notes`).
    NotesSync {},
    /// An edit of the shared minutes: a Yjs update (v1 encoding), base64. Answered with
    /// `notes_saved` once it is stored; everyone else gets it as `notes_edit`.
    NotesEdit { update: String },
    /// How this client shows the others' video now (see "Layers" in docs/protocol.md): each
    /// gets the simulcast layer its size needs, and a tile not on screen gets no video. Sent
    /// when the layout changes; tiles not listed keep what was last said of them.
    View { tiles: Vec<TileReport> },
}

/// At most this many tiles in one `view` message.
pub const MAX_VIEW_TILES: usize = 256;
/// No tile is larger than this many device pixels either way.
pub const MAX_TILE_PIXELS: u32 = 16_384;

/// One tile of a `view` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileReport {
    pub participant_id: ParticipantId,
    /// `camera` or `screen`.
    #[serde(default = "camera")]
    pub source: TrackSource,
    /// The size it is shown at, in device pixels.
    pub width: u32,
    pub height: u32,
    /// On screen at all (scrolled away, on another page or in a hidden tab: false).
    pub visible: bool,
}

fn camera() -> TrackSource {
    TrackSource::Camera
}

impl TileReport {
    /// Why a view cannot be taken, if it cannot.
    pub fn check(tiles: &[TileReport]) -> Result<(), String> {
        if tiles.len() > MAX_VIEW_TILES {
            return Err(format!("at most {MAX_VIEW_TILES} tiles in a view"));
        }
        for t in tiles {
            if !matches!(t.source, TrackSource::Camera | TrackSource::Screen) {
                return Err("a tile shows a camera or a screen".into());
            }
            if t.width > MAX_TILE_PIXELS || t.height > MAX_TILE_PIXELS {
                return Err(format!(
                    "a tile is at most {MAX_TILE_PIXELS} pixels either way"
                ));
            }
        }
        Ok(())
    }
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `join`: your id and who is already here.
    Joined {
        v: u32,
        you: ParticipantId,
        name: String,
        room: RoomId,
        participants: Vec<ParticipantInfo>,
        /// What you may do here.
        #[serde(default = "default_role")]
        role: Role,
        /// Start with the microphone muted (the meeting's "mute on start").
        #[serde(default)]
        start_muted: bool,
        /// Where to send the person when the meeting ends or they leave, if the issuer set one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logout_url: Option<String>,
        /// Guests waiting to be let in (sent to moderators only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lobby: Vec<ParticipantInfo>,
        /// The meeting's chat so far that you may see.
        #[serde(default)]
        chat: Vec<ChatMessage>,
        /// Raised hands, in the order raised.
        #[serde(default)]
        hands: Vec<ParticipantId>,
        /// What viewers may not do now.
        #[serde(default)]
        locks: Locks,
        /// What gets this participant back in after a drop (`resume`); a secret.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        resume_key: String,
        /// (After a `resume`) what the meeting records you have on: a moderator may have
        /// muted you, turned your camera off or stopped your share while you were away.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<MediaOn>,
        /// Whether the meeting is being recorded.
        #[serde(default, skip_serializing_if = "crate::RecordingState::is_off")]
        recording: crate::RecordingState,
        /// The meeting's polls so far, open and closed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        polls: Vec<crate::Poll>,
        /// The polls this person voted in already (from any of their devices).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        voted: Vec<u64>,
        /// The agenda and where the meeting is in it.
        #[serde(default)]
        agenda: crate::Agenda,
        /// The speakers' list.
        #[serde(default)]
        speakers: crate::Speakers,
    },
    /// You are a guest in the waiting room: a moderator must let you in. `joined` follows
    /// when one does; a fatal `guest_denied` error when one does not.
    Waiting {
        you: ParticipantId,
        name: String,
    },
    /// (To moderators) a guest is waiting to be let in.
    GuestWaiting {
        participant: ParticipantInfo,
    },
    /// (To moderators) that guest is no longer waiting: let in, turned away, or gone.
    LobbyLeft {
        participant_id: ParticipantId,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: ParticipantId,
    },
    /// That participant's connection dropped; the meeting holds their place while they get
    /// back in (a `participant_left` follows if they do not).
    ParticipantReconnecting {
        participant_id: ParticipantId,
    },
    /// They are back.
    ParticipantReconnected {
        participant_id: ParticipantId,
    },
    /// Someone (you too) started or stopped speaking.
    Speaking {
        participant_id: ParticipantId,
        speaking: bool,
    },
    /// Someone's (your) connection got better or worse.
    Quality {
        participant_id: ParticipantId,
        quality: Quality,
    },
    MediaState {
        participant_id: ParticipantId,
        audio: bool,
        video: bool,
        #[serde(default)]
        screen: bool,
    },
    /// A server-driven renegotiation: answer with `answer`.
    Offer {
        sdp: String,
    },
    /// The answer to the client's `offer`.
    Answer {
        sdp: String,
    },
    /// A track of another participant is (about to be) sent to you on transceiver `mid`.
    TrackAdded {
        participant_id: ParticipantId,
        kind: MediaKind,
        mid: String,
        source: TrackSource,
    },
    /// That track ended (its participant left); the transceiver is stopped by the next offer.
    TrackRemoved {
        participant_id: ParticipantId,
        kind: MediaKind,
        mid: String,
        source: TrackSource,
    },
    /// Something was wrong. When `fatal`, the server closes the connection after this message.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
    Pong,
    /// The meeting was ended (by a moderator or an integration, or it ran out of time); the
    /// server closes the connection after this message.
    Ended {
        reason: String,
    },
    /// A chat message you may see.
    Chat {
        message: ChatMessage,
    },
    /// A moderator deleted that chat message.
    ChatDeleted {
        id: u64,
    },
    /// Raised hands, in the order raised (after any change).
    Hands {
        queue: Vec<ParticipantId>,
    },
    /// Someone reacted.
    Reaction {
        participant_id: ParticipantId,
        reaction: Reaction,
    },
    /// A moderator asks this client to do something (mute, unmute, camera off).
    ModeratorRequest {
        request: ModRequest,
        /// The moderator's name.
        by: String,
    },
    /// Someone's role changed (promoted, demoted).
    RoleChanged {
        participant_id: ParticipantId,
        role: Role,
    },
    /// What viewers may not do, after a moderator changed it.
    Locks {
        locks: Locks,
    },
    /// The meeting's recording started, paused, resumed or stopped.
    Recording {
        state: crate::RecordingState,
        /// Who did it.
        by: String,
    },
    /// The agenda changed, or the meeting moved to another item.
    Agenda {
        agenda: crate::Agenda,
    },
    /// The speakers' list changed (a hand, the floor given or taken back, its settings).
    Speakers {
        speakers: crate::Speakers,
    },
    /// A poll opened, got a vote, or closed: its state now.
    Poll {
        poll: crate::Poll,
    },
    /// The meeting's shared minutes: the whole Yjs document (an update, v1 encoding, base64),
    /// holding every edit up to number `seq`. Whether viewers may edit them is the `notes` lock.
    Notes {
        state: String,
        seq: i64,
    },
    /// Someone's edit of the minutes (a Yjs update, v1, base64), stored already as edit `seq`.
    /// Each member hears every edit's number once (this, or `notes_saved` for their own): a
    /// number skipped means one was missed, and the client asks `notes_sync`.
    NotesEdit {
        update: String,
        seq: i64,
    },
    /// Your edit is stored, as edit `seq`.
    NotesSaved {
        seq: i64,
    },
    /// Your edit of the minutes was not taken (`code`: `locked`, `notes_full`, `bad_message`,
    /// `forbidden`, `unavailable`). Not an `error`: it counts against no allowance.
    NotesRefused {
        code: ErrorCode,
        message: String,
    },
    /// Your vote in poll `id` was counted (and stored).
    PollVoted {
        id: u64,
        choices: Vec<u32>,
    },
    /// Something the server wants this person to know (the client words it).
    Notice {
        code: NoticeCode,
    },
}

/// What a [`ServerMessage::Notice`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCode {
    /// (To moderators) this server is near its capacity: people joining may be refused.
    NearCapacity,
    /// Your problem report reached the admins.
    ProblemReported,
}

fn default_role() -> Role {
    Role::Participant
}

/// A participant as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub name: String,
    pub audio: bool,
    pub video: bool,
    /// Sharing a screen.
    #[serde(default)]
    pub screen: bool,
    /// Their connection dropped; their place is held while they get back in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnecting: bool,
    /// Speaking now (their microphone's audio level, as the SFU reads it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub speaking: bool,
    /// How well their connection carries media.
    #[serde(default, skip_serializing_if = "Quality::is_good")]
    pub quality: Quality,
    #[serde(default = "default_role")]
    pub role: Role,
}

/// Stable, machine-readable error codes. Clients switch on these; messages are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, or not a JSON object.
    BadJson,
    /// The `type` is not one this server knows.
    UnknownMessage,
    /// The `type` is known but its fields are wrong.
    BadMessage,
    /// A message that is not allowed now (e.g. `offer` before `join`, a second `join`).
    WrongOrder,
    /// A frame larger than [`MAX_MESSAGE_BYTES`], or a binary frame.
    TooLarge,
    UnsupportedVersion,
    InvalidToken,
    RoomNotFound,
    RoomFull,
    /// The SDP could not be parsed or negotiated.
    BadSdp,
    /// The client offered while a server offer was outstanding.
    Glare,
    /// The server is shutting down or the media engine failed.
    Unavailable,
    /// The meeting has ended; this token admits no more.
    MeetingEnded,
    /// A moderator turned this guest away.
    GuestDenied,
    /// Only a moderator may do that.
    Forbidden,
    /// No such participant (e.g. a guest who is no longer waiting).
    UnknownParticipant,
    /// Another connection joined with this token and took its seat.
    Replaced,
    /// No `join` came in time.
    Timeout,
    /// A moderator removed you from the meeting.
    Removed,
    /// You were removed from this meeting and may not come back to it.
    Barred,
    /// A moderator locked that for viewers.
    Locked,
    /// Too many messages too fast (chat, reactions).
    TooFast,
    /// The meeting no longer holds this place (too long passed, or it never did): join again.
    CannotResume,
    /// The server lost this client's media connection: reconnect (`resume`) to get it back.
    MediaLost,
    /// This server is at its capacity: it takes nobody new now (try again later).
    ServerBusy,
    /// No such poll in this meeting.
    UnknownPoll,
    /// That poll is closed.
    PollClosed,
    /// This poll is for others (signed-in people, or the organisation's members).
    NotEligible,
    /// This person voted in that poll already (perhaps from another device).
    AlreadyVoted,
    /// Those choices are not an answer to that poll (one option, or several where allowed).
    BadChoice,
    /// The shared minutes are as large as they may be: that edit is not taken.
    NotesFull,
}

/// Why a text frame could not be read as a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
}

const CLIENT_TYPES: &[&str] = &[
    "join",
    "resume",
    "offer",
    "answer",
    "media_state",
    "leave",
    "ping",
    "admit",
    "deny",
    "chat",
    "chat_delete",
    "hand",
    "lower_hand",
    "react",
    "moderate",
    "mute_all",
    "lock",
    "end_meeting",
    "record",
    "quality_report",
    "problem_report",
    "view",
    "poll_open",
    "poll_vote",
    "poll_close",
    "agenda_set",
    "agenda_go",
    "speaker_next",
    "speaker_done",
    "speakers_set",
    "notes_sync",
    "notes_edit",
];

impl ClientMessage {
    /// Parses one text frame, telling bad JSON, an unknown type and bad fields apart so the
    /// client gets an error it can act on.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(ParseError {
                code: ErrorCode::TooLarge,
                message: format!(
                    "message is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                    text.len()
                ),
            });
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
            code: ErrorCode::BadJson,
            message: format!("not valid JSON: {e}"),
        })?;
        let Some(obj) = value.as_object() else {
            return Err(ParseError {
                code: ErrorCode::BadJson,
                message: "a message must be a JSON object".into(),
            });
        };
        let Some(kind) = obj.get("type").and_then(|t| t.as_str()) else {
            return Err(ParseError {
                code: ErrorCode::BadMessage,
                message: "a message needs a string field \"type\"".into(),
            });
        };
        if !CLIENT_TYPES.contains(&kind) {
            let shown: String = kind.chars().take(40).collect();
            return Err(ParseError {
                code: ErrorCode::UnknownMessage,
                message: format!("unknown message type \"{shown}\""),
            });
        }
        serde_json::from_value(value.clone()).map_err(|e| ParseError {
            code: ErrorCode::BadMessage,
            message: format!("bad \"{kind}\" message: {e}"),
        })
    }

    /// The wire name of this message's type, for logs and errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Join { .. } => "join",
            Self::Resume { .. } => "resume",
            Self::Offer { .. } => "offer",
            Self::Answer { .. } => "answer",
            Self::MediaState { .. } => "media_state",
            Self::Leave {} => "leave",
            Self::Ping {} => "ping",
            Self::Admit { .. } => "admit",
            Self::Deny { .. } => "deny",
            Self::Chat { .. } => "chat",
            Self::ChatDelete { .. } => "chat_delete",
            Self::Hand { .. } => "hand",
            Self::LowerHand { .. } => "lower_hand",
            Self::React { .. } => "react",
            Self::Moderate { .. } => "moderate",
            Self::MuteAll {} => "mute_all",
            Self::Lock { .. } => "lock",
            Self::EndMeeting {} => "end_meeting",
            Self::Record { .. } => "record",
            Self::QualityReport { .. } => "quality_report",
            Self::ProblemReport { .. } => "problem_report",
            Self::View { .. } => "view",
            Self::PollOpen { .. } => "poll_open",
            Self::PollVote { .. } => "poll_vote",
            Self::PollClose { .. } => "poll_close",
            Self::AgendaSet { .. } => "agenda_set",
            Self::AgendaGo { .. } => "agenda_go",
            Self::SpeakerNext {} => "speaker_next",
            Self::SpeakerDone {} => "speaker_done",
            Self::SpeakersSet { .. } => "speakers_set",
            Self::NotesSync {} => "notes_sync",
            Self::NotesEdit { .. } => "notes_edit",
        }
    }
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>, fatal: bool) -> Self {
        Self::Error {
            code,
            message: message.into(),
            fatal,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain enums cannot fail: no maps with non-string keys, no floats.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"unavailable","message":"encoding failed","fatal":true}"#
                .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips() {
        let text = r#"{"type":"join","v":1,"room":"abc-defg-hij","name":"Ada","token":"t"}"#;
        let msg = ClientMessage::parse(text).unwrap();
        assert_eq!(
            msg,
            ClientMessage::Join {
                v: 1,
                room: RoomId::parse("abc-defg-hij").unwrap(),
                name: "Ada".into(),
                token: "t".into()
            }
        );
        let back: ClientMessage =
            serde_json::from_str(&serde_json::to_string(&msg).unwrap()).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn unit_messages_parse() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"leave"}"#).unwrap(),
            ClientMessage::Leave {}
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ping"}"#).unwrap(),
            ClientMessage::Ping {}
        );
    }

    #[test]
    fn meeting_messages_parse() {
        assert_eq!(
            ClientMessage::parse(
                r#"{"type":"chat","to":"participant","participant_id":4,"text":"hi"}"#
            )
            .unwrap(),
            ClientMessage::Chat {
                to: ChatTo::Participant,
                participant_id: Some(ParticipantId(4)),
                text: "hi".into()
            }
        );
        assert_eq!(
            ClientMessage::parse(
                r#"{"type":"moderate","participant_id":2,"action":"remove_and_bar"}"#
            )
            .unwrap(),
            ClientMessage::Moderate {
                participant_id: ParticipantId(2),
                action: ModAction::RemoveAndBar
            }
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"lower_hand"}"#).unwrap(),
            ClientMessage::LowerHand {
                participant_id: None
            }
        );
        let lock = ClientMessage::parse(r#"{"type":"lock","locks":{"public_chat":true}}"#).unwrap();
        assert_eq!(
            lock,
            ClientMessage::Lock {
                locks: Locks {
                    public_chat: true,
                    ..Locks::default()
                }
            }
        );
        let code = |t: &str| ClientMessage::parse(t).unwrap_err().code;
        assert_eq!(
            code(r#"{"type":"react","reaction":"explode"}"#),
            ErrorCode::BadMessage
        );
        assert_eq!(
            code(r#"{"type":"lock","locks":{"everything":true}}"#),
            ErrorCode::BadMessage
        );
        assert_eq!(
            code(r#"{"type":"moderate","participant_id":2,"action":"ban"}"#),
            ErrorCode::BadMessage
        );
    }

    #[test]
    fn malformed_input_gets_distinct_codes() {
        let code = |t: &str| ClientMessage::parse(t).unwrap_err().code;
        assert_eq!(code("{not json"), ErrorCode::BadJson);
        assert_eq!(code(""), ErrorCode::BadJson);
        assert_eq!(code("[1,2]"), ErrorCode::BadJson);
        assert_eq!(code("\"join\""), ErrorCode::BadJson);
        assert_eq!(code(r#"{"kind":"join"}"#), ErrorCode::BadMessage);
        assert_eq!(code(r#"{"type":7}"#), ErrorCode::BadMessage);
        assert_eq!(code(r#"{"type":"explode"}"#), ErrorCode::UnknownMessage);
        assert_eq!(code(r#"{"type":"join","v":1}"#), ErrorCode::BadMessage);
        assert_eq!(code(r#"{"type":"offer","sdp":5}"#), ErrorCode::BadMessage);
        assert_eq!(
            code(r#"{"type":"join","v":1,"room":"../x","name":"a","token":"t"}"#),
            ErrorCode::BadMessage
        );
        assert_eq!(code(r#"{"type":"leave","extra":1}"#), ErrorCode::BadMessage);
        let big = format!(
            r#"{{"type":"offer","sdp":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(code(&big), ErrorCode::TooLarge);
    }

    #[test]
    fn random_and_mangled_input_never_panics() {
        // Seeded, so a failure replays: random bytes, and valid messages with bytes flipped.
        let mut x: u64 = 7;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize
        };
        let valid = r#"{"type":"join","v":1,"room":"abc-defg-hij","name":"Ada","token":"t.s"}"#;
        for i in 0..20_000 {
            let text: String = if i % 2 == 0 {
                (0..next() % 80)
                    .map(|_| char::from_u32((next() % 0x250) as u32).unwrap_or('?'))
                    .collect()
            } else {
                let mut b = valid.as_bytes().to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = next() % b.len();
                    const JUNK: &[u8] = b"{}[]\":,0aZ \\";
                    b[at] = JUNK[next() % JUNK.len()];
                }
                String::from_utf8_lossy(&b).into_owned()
            };
            if let Err(e) = ClientMessage::parse(&text) {
                assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn unknown_type_is_truncated_in_the_message() {
        let long = "x".repeat(10_000);
        let err = ClientMessage::parse(&format!(r#"{{"type":"{long}"}}"#)).unwrap_err();
        assert!(err.message.len() < 100, "{}", err.message);
    }

    #[test]
    fn server_messages_are_tagged_snake_case() {
        let json = ServerMessage::error(ErrorCode::WrongOrder, "join first", false).to_json();
        assert_eq!(
            json,
            r#"{"type":"error","code":"wrong_order","message":"join first","fatal":false}"#
        );
        let json = ServerMessage::TrackAdded {
            participant_id: ParticipantId(3),
            kind: MediaKind::Video,
            mid: "4".into(),
            source: TrackSource::Screen,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"track_added","participant_id":3,"kind":"video","mid":"4","source":"screen"}"#
        );
    }
}
