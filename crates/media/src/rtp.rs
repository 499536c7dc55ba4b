//! One incoming RTP packet as the SFU forwards it (RTP mode): its payload is shared, never
//! copied per subscriber, and what the forwarding decisions need (layer, keyframe start, VP8
//! descriptor) is read once, when it arrives.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::Mid;
use str0m::rtp::{RtpPacket, VideoOrientation, Vp8Descriptor};

/// One packet of a published track, ready to fan out.
#[derive(Debug, Clone)]
pub(crate) struct InPacket {
    /// The publisher's transceiver.
    pub mid: Mid,
    /// Which encoding of a simulcast track: 0 is the lowest; a track without simulcast has
    /// only layer 0.
    pub layer: u8,
    /// The extended sequence number (no wrap-around).
    pub seq: u64,
    /// The RTP timestamp as the publisher sent it.
    pub time: u32,
    pub clock_rate: u32,
    pub marker: bool,
    /// The packet is a frame's last (video: the marker bit; audio: every packet).
    pub ends_frame: bool,
    pub params: PayloadParams,
    pub payload: Arc<[u8]>,
    pub audio_level: Option<i8>,
    pub voice_activity: Option<bool>,
    /// A phone camera's rotation (the 3GPP extension), passed on so the picture stands.
    pub video_orientation: Option<VideoOrientation>,
    pub arrived: Instant,
    /// The packet starts a keyframe (for audio: every packet, any can start a stream).
    pub keyframe: bool,
    /// The VP8 payload descriptor, parsed once for every subscriber's rewriting.
    pub vp8: Option<Vp8Descriptor>,
    /// The sender's wall-clock time of this packet, from the stream's latest sender report
    /// (milliseconds since the UNIX epoch), for the recorder.
    pub sender_ms: Option<i64>,
}

impl InPacket {
    pub fn new(mid: Mid, layer: u8, params: PayloadParams, p: RtpPacket) -> Self {
        let codec = params.spec().codec;
        let payload = p.payload;
        let vp8 = (codec == Codec::Vp8)
            .then(|| Vp8Descriptor::parse(&payload).ok())
            .flatten();
        let keyframe = match codec {
            Codec::Vp8 => vp8.is_some_and(|d| d.starts_keyframe(&payload)),
            Codec::H264 => h264_starts_keyframe(&payload),
            c => !c.is_video(),
        };
        let clock_rate = p.time.denom();
        let sender_ms = p
            .last_sender_info
            .as_ref()
            .and_then(|sr| sender_ms(p.header.timestamp, clock_rate, sr));
        InPacket {
            mid,
            layer,
            seq: *p.seq_no,
            time: p.header.timestamp,
            clock_rate,
            marker: p.header.marker,
            ends_frame: p.header.marker || !codec.is_video(),
            params,
            payload,
            audio_level: p.header.ext_vals.audio_level,
            voice_activity: p.header.ext_vals.voice_activity,
            video_orientation: p.header.ext_vals.video_orientation,
            arrived: p.timestamp,
            keyframe,
            vp8,
            sender_ms,
        }
    }

    pub fn codec(&self) -> Codec {
        self.params.spec().codec
    }

    pub fn is_video(&self) -> bool {
        self.codec().is_video()
    }

    /// A keyframe's picture size, read from its first packet (VP8 only).
    pub fn keyframe_size(&self) -> Option<(u16, u16)> {
        if !self.keyframe || self.codec() != Codec::Vp8 {
            return None;
        }
        vp8_keyframe_size(&self.payload)
    }
}

/// The sender's wall-clock time of an RTP timestamp, placed against the latest sender report's
/// (RTP time, NTP time) pair. The two RTP times are compared as 32-bit values, as they travel.
fn sender_ms(time: u32, rate: u32, sr: &str0m::rtp::rtcp::SenderInfo) -> Option<i64> {
    let rate = Some(i64::from(rate)).filter(|r| *r > 0)?;
    let ticks = i64::from(time.wrapping_sub(sr.rtp_time.numer() as u32) as i32);
    let ntp_ms = i64::try_from(
        sr.ntp_time
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis(),
    )
    .ok()?;
    Some(ntp_ms + ticks * 1000 / rate)
}

/// Where the VP8 payload (the frame's bytes) starts after the RTP payload descriptor
/// (RFC 7741 §4.2), or None when the descriptor is malformed.
pub(crate) fn vp8_descriptor_len(payload: &[u8]) -> Option<usize> {
    let first = *payload.first()?;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            let pid = *payload.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at < payload.len()).then_some(at)
}

/// Whether this packet begins a VP8 frame (S bit set, partition 0).
pub(crate) fn vp8_starts_frame(payload: &[u8]) -> bool {
    payload
        .first()
        .is_some_and(|b| b & 0x10 != 0 && b & 0x07 == 0)
}

/// The width and height a VP8 keyframe's header declares (RFC 6386 §9.1).
fn vp8_keyframe_size(payload: &[u8]) -> Option<(u16, u16)> {
    let at = vp8_descriptor_len(payload)?;
    let frame = payload.get(at..at + 10)?;
    if frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// Whether an H.264 RTP payload (RFC 6184) begins an IDR picture: a single IDR NAL unit, an
/// aggregate holding one, or the first fragment of one.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    let Some(first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        IDR => true,
        // STAP-A: 16-bit sizes, each followed by a NAL unit.
        24 => {
            let mut at = 1;
            while at + 2 < payload.len() {
                let size = usize::from(u16::from_be_bytes([payload[at], payload[at + 1]]));
                at += 2;
                if payload.get(at).is_some_and(|n| n & 0x1f == IDR) {
                    return true;
                }
                at += size;
            }
            false
        }
        // FU-A: the start fragment carries the NAL type.
        28 => payload
            .get(1)
            .is_some_and(|h| h & 0x80 != 0 && h & 0x1f == IDR),
        _ => false,
    }
}

/// The layer a simulcast encoding's rid names: our client's `l`, `m`, `h` (also the common
/// `q`/`h`/`f` quarter/half/full naming is not assumed: an unknown rid is placed by its
/// position in the offer's list, `order`, which browsers keep as the page set it, low first
/// for our client).
pub(crate) fn layer_of(rid: Option<&str>, order: &[String]) -> u8 {
    match rid {
        None => 0,
        Some("l") => 0,
        Some("m") => 1,
        Some("h") => 2,
        Some(other) => order
            .iter()
            .position(|r| r == other)
            .map_or(0, |i| i.min(usize::from(u8::MAX)) as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_lengths_follow_the_extension_bits() {
        // No extension: one byte.
        assert_eq!(vp8_descriptor_len(&[0x10, 0xaa]), Some(1));
        // X, I with a 15-bit picture id, L, T: 1 + 1 + 2 + 1 + 1.
        assert_eq!(
            vp8_descriptor_len(&[0x90, 0xe0, 0x81, 0x02, 0x05, 0x20, 0xaa]),
            Some(6)
        );
        // X, I with a 7-bit picture id.
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80, 0x05, 0xaa]), Some(3));
        // Truncated.
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80]), None);
    }

    #[test]
    fn a_keyframe_header_gives_its_size() {
        // Descriptor (1 byte), frame tag with P=0, start code, 640 × 360.
        let mut p = vec![0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a];
        p.extend_from_slice(&640u16.to_le_bytes());
        p.extend_from_slice(&360u16.to_le_bytes());
        p.push(0);
        assert_eq!(vp8_keyframe_size(&p), Some((640, 360)));
        p[1] = 0x01; // an interframe
        assert_eq!(vp8_keyframe_size(&p), None);
    }

    #[test]
    fn h264_idr_is_found_alone_aggregated_and_fragmented() {
        assert!(h264_starts_keyframe(&[0x65, 0x88]));
        assert!(!h264_starts_keyframe(&[0x41, 0x88]));
        // STAP-A with SPS (7) then IDR (5).
        assert!(h264_starts_keyframe(&[
            0x18, 0, 2, 0x67, 0x42, 0, 2, 0x65, 0x88
        ]));
        assert!(!h264_starts_keyframe(&[
            0x18, 0, 2, 0x67, 0x42, 0, 2, 0x41, 0x88
        ]));
        // FU-A start of an IDR, and a middle fragment.
        assert!(h264_starts_keyframe(&[0x7c, 0x85, 0x00]));
        assert!(!h264_starts_keyframe(&[0x7c, 0x05, 0x00]));
    }

    #[test]
    fn rids_map_to_layers() {
        assert_eq!(layer_of(None, &[]), 0);
        assert_eq!(layer_of(Some("h"), &[]), 2);
        let order = ["q".to_string(), "half".to_string(), "f".to_string()];
        assert_eq!(layer_of(Some("f"), &order), 2);
        assert_eq!(layer_of(Some("half"), &order), 1);
    }
}
