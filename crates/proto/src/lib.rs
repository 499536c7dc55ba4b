//! Plenary's wire types: the signalling protocol, typed identifiers and join-token claims.
//!
//! Everything here is plain data plus parsing and signing; there is no I/O. The signalling
//! protocol is documented for humans in `docs/protocol.md`; this crate is its single definition.

mod ids;
mod signal;
mod token;

pub use ids::{ParticipantId, RoomId, RoomIdError};
pub use signal::{
    ClientMessage, ErrorCode, MAX_MESSAGE_BYTES, MediaKind, PROTOCOL_VERSION, ParseError,
    ParticipantInfo, ServerMessage,
};
pub use token::{JoinClaims, Role, TokenError, sign_join_token, verify_join_token};
