//! What the SFU hands a recorder: every frame of a recorded room that everyone may receive
//! (nothing locked, muted or for moderators' eyes only), with what is needed to place it on
//! the recording's clock. The recorder is another consumer of the forwarding path; the frame's
//! bytes are shared, not copied.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plenary_proto::{ParticipantId, RoomId, TrackSource};

/// While a room is recorded, each video track is asked for a keyframe this often, so that the
/// recorded files can be cut and seeked (WebRTC sends keyframes only on request).
pub const RECORDING_KEYFRAME_EVERY: Duration = Duration::from_secs(10);

/// The codecs a recording keeps (H.264 tracks are not recorded yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedCodec {
    Opus { channels: u8 },
    Vp8,
}

/// One frame for the recorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFrame {
    pub room: RoomId,
    pub participant: ParticipantId,
    pub source: TrackSource,
    pub codec: RecordedCodec,
    /// The RTP timestamp, extended past wrap-arounds.
    pub rtp_time: u64,
    pub clock_rate: u32,
    /// When its first packet arrived.
    pub arrived: Instant,
    pub keyframe: bool,
    pub data: Arc<[u8]>,
}

/// The recorder's view of a frame, or None for a codec it does not keep.
pub(crate) fn recorded(
    room: &RoomId,
    participant: ParticipantId,
    source: TrackSource,
    data: &str0m::media::MediaData,
) -> Option<RecordedFrame> {
    let spec = data.params.spec();
    let codec = match spec.codec {
        str0m::format::Codec::Opus => RecordedCodec::Opus {
            channels: spec.channels.unwrap_or(2),
        },
        str0m::format::Codec::Vp8 => RecordedCodec::Vp8,
        _ => return None,
    };
    Some(RecordedFrame {
        room: room.clone(),
        participant,
        source,
        codec,
        rtp_time: data.time.numer(),
        clock_rate: data.time.denom(),
        arrived: data.network_time,
        keyframe: data.is_keyframe(),
        data: data.data.clone(),
    })
}
