//! Plenary's wire types: the signalling protocol, typed identifiers, roles, and the clock rows
//! and tokens are stamped with.
//!
//! Everything here is plain data plus parsing; there is no I/O. The signalling
//! protocol is documented for humans in `docs/protocol.md`; this crate is its single definition.

mod agenda;
pub mod clock;
mod ids;
mod meeting;
pub mod net;
mod notes;
mod poll;
pub mod quality;
mod role;
mod signal;

pub use agenda::{
    Agenda, AgendaItem, MAX_AGENDA_ITEMS, MAX_ITEM_CHARS, MAX_ITEM_MINUTES, MAX_SPEAKING_SECONDS,
    Speakers, speaking_order,
};
pub use ids::{ParticipantId, RoomId, RoomIdError};
pub use meeting::{
    Audience, ChatMessage, ChatTo, Forwarding, Locks, MAX_CHAT_CHARS, ModAction, ModRequest,
    Reaction, RecordAction, RecordingState,
};
pub use notes::{MAX_NOTES_BYTES, MAX_NOTES_EDIT_BYTES, NOTES_TEXT};
pub use poll::{
    MAX_OPTION_CHARS, MAX_POLL_OPTIONS, MAX_POLL_SECONDS, MAX_POLLS, MAX_QUESTION_CHARS,
    MIN_POLL_SECONDS, Poll, PollKind, PollSpec, PollVoters,
};
pub use quality::QualityReport;
pub use role::Role;
pub use signal::{
    ClientMessage, ErrorCode, MAX_MESSAGE_BYTES, MAX_TILE_PIXELS, MAX_VIEW_TILES, MediaKind,
    MediaOn, NoticeCode, PROTOCOL_VERSION, ParseError, ParticipantInfo, Quality, ServerMessage,
    TileReport, TrackSource,
};
