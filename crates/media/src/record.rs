//! What the SFU hands a recorder: every frame of a recorded room that everyone may receive
//! (nothing locked, muted or for moderators' eyes only), with what is needed to place it on
//! the recording's clock. The recorder is another consumer of the forwarding path; the frame's
//! bytes are shared, not copied.

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

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
    /// When the sender captured it on its own wall clock (milliseconds since the UNIX epoch),
    /// from the track's latest RTCP sender report; None before the first report. One sender's
    /// tracks share that clock, which is what keeps its audio and video together.
    pub sender_ms: Option<i64>,
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
        sender_ms: sender_ms(data),
        keyframe: data.is_keyframe(),
        data: data.data.clone(),
    })
}

/// The sender's wall-clock time of a frame: its RTP time placed against the latest sender
/// report's (RTP time, NTP time) pair. The two RTP times are compared as 32-bit values, as they
/// travel, so each side's extension past wrap-arounds does not matter.
fn sender_ms(data: &str0m::media::MediaData) -> Option<i64> {
    let sr = data.last_sender_info.as_ref()?;
    let rate = Some(i64::from(data.time.denom())).filter(|r| *r > 0)?;
    let ticks =
        i64::from((data.time.numer() as u32).wrapping_sub(sr.rtp_time.numer() as u32) as i32);
    let ntp_ms = i64::try_from(sr.ntp_time.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(ntp_ms + ticks * 1000 / rate)
}
