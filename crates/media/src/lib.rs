//! Plenary's media core: a selective forwarding unit (SFU) as a sans-IO state machine.
//!
//! [`Sfu`] takes time and packets (UDP datagrams, or ICE-TCP packets) as inputs ([`Sfu::handle_receive`], [`Sfu::handle_timeout`],
//! and the signalling calls) and yields datagrams to send, events and the next timeout through
//! [`Sfu::poll_output`]. It owns no socket, no task and no clock, so it runs the same in the
//! server's async shell and in tests that advance simulated time.
//!
//! str0m, which does the WebRTC work, is pinned and wrapped: nothing of its API leaks out of this
//! crate except plain SDP strings, so upgrading it touches only this crate.

mod error;
mod layers;
mod loudest;
mod peer;
mod record;
mod rewrite;
mod rtp;
mod sfu;
mod speaking;
mod stats;

pub use error::MediaError;
pub use layers::TileView;
pub use plenary_proto::{Audience, Forwarding, MediaKind, ParticipantId, RoomId, TrackSource};
pub use record::{RECORDING_KEYFRAME_EVERY, RecordedCodec, RecordedFrame};
pub use sfu::{
    DEFAULT_LOUDEST_ABOVE, DEFAULT_LOUDEST_AUDIO, DEFAULT_RESEND_HISTORY, Sfu, SfuConfig, SfuEvent,
    SfuOutput, Transmit, Transport,
};
pub use stats::ParticipantStats;
