//! Synthetic media frames: a header a receiver can check (who sent it, which track, which
//! frame, when), padded to the size of real Opus or VP8 frames.

use std::sync::OnceLock;
use std::time::Instant;

use plenary_proto::{MediaKind, ParticipantId};

/// Where the header starts: after a VP8 frame tag and, in keyframes, the VP8 keyframe start
/// code and a 320×240 size (so that what reads VP8 — the recorder — takes them as VP8).
const AT: usize = 10;

/// Header length; frames are padded beyond it.
pub const HEADER_BYTES: usize = AT + 24;

/// What a synthetic frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub publisher: ParticipantId,
    pub kind: MediaKind,
    /// Which of the publisher's tracks of this kind (camera 0, screen 1, …).
    pub track: u8,
    pub seq: u32,
    /// Microseconds since [`epoch`] when the frame was written (same process only).
    pub sent_us: u64,
    /// Which simulcast encoding carries it (0 the lowest; 0 without simulcast).
    pub layer: u8,
}

/// The process-wide time origin for `sent_us`: sender and receiver must share a process
/// (the load generator runs both) for latency to mean anything.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds from [`epoch`] to `t`.
pub fn micros_since_epoch(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_micros() as u64
}

/// Writes a frame: a VP8 frame tag (bit 0 clear marks a keyframe; a keyframe also has the
/// start code and a size), then the header, then padding.
pub fn synthetic_frame(h: FrameHeader, keyframe: bool, len: usize) -> Vec<u8> {
    synthetic_frame_sized(h, keyframe, len, (320, 240))
}

/// [`synthetic_frame`] whose keyframe declares a picture of `size` (width, height), as a
/// simulcast encoding's would.
pub fn synthetic_frame_sized(
    h: FrameHeader,
    keyframe: bool,
    len: usize,
    size: (u16, u16),
) -> Vec<u8> {
    let mut v = vec![0u8; len.max(HEADER_BYTES)];
    if keyframe {
        v[..6].copy_from_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
        v[6..8].copy_from_slice(&size.0.to_le_bytes());
        v[8..10].copy_from_slice(&size.1.to_le_bytes());
    } else {
        v[0] = 0x11;
    }
    let w = &mut v[AT..];
    w[1..9].copy_from_slice(&h.publisher.0.to_be_bytes());
    w[9] = match h.kind {
        MediaKind::Audio => 1,
        MediaKind::Video => 2,
    };
    w[10..14].copy_from_slice(&h.seq.to_be_bytes());
    w[14..22].copy_from_slice(&h.sent_us.to_be_bytes());
    w[22] = h.track;
    w[23] = h.layer;
    v
}

/// Reads back what [`synthetic_frame`] wrote; `None` for anything else.
pub fn parse_synthetic_frame(d: &[u8]) -> Option<FrameHeader> {
    let d = d.get(AT..)?;
    let kind = match d.get(9)? {
        1 => MediaKind::Audio,
        2 => MediaKind::Video,
        _ => return None,
    };
    Some(FrameHeader {
        publisher: ParticipantId(u64::from_be_bytes(d.get(1..9)?.try_into().ok()?)),
        kind,
        seq: u32::from_be_bytes(d.get(10..14)?.try_into().ok()?),
        sent_us: u64::from_be_bytes(d.get(14..22)?.try_into().ok()?),
        track: *d.get(22)?,
        layer: *d.get(23)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let h = FrameHeader {
            publisher: ParticipantId(7),
            kind: MediaKind::Video,
            track: 1,
            seq: 99,
            sent_us: 123_456,
            layer: 2,
        };
        let f = synthetic_frame(h, true, 1100);
        assert_eq!(f.len(), 1100);
        assert_eq!(f[0] & 1, 0);
        assert_eq!(&f[6..10], &[0x40, 0x01, 0xf0, 0x00], "320 × 240");
        assert_eq!(parse_synthetic_frame(&f), Some(h));
        assert_eq!(parse_synthetic_frame(&f[..10]), None);
        assert_eq!(parse_synthetic_frame(&[0u8; 40]), None);
    }
}
