//! Media written as RTP by hand (str0m's RTP mode), as a browser's encoders packetize it:
//! one Opus frame a packet; a VP8 frame split into packets of at most [`MAX_PAYLOAD`] bytes,
//! each with a payload descriptor (RFC 7741: 15-bit picture id, TL0PICIDX), the start bit on
//! the first and the marker on the last. Each encoding (a simulcast layer) numbers its own
//! packets, timestamps and pictures, from its own starting points, as Chrome's do.
//!
//! Writing RTP directly costs the sender none of str0m's frame packetizing, and the
//! receiving side reads the packets as they come (no depacketizing buffer): what keeps the
//! load generator cheaper than the server it loads.

/// Bytes of frame data in one packet (after the descriptor).
pub const MAX_PAYLOAD: usize = 1200;

/// Bytes of the VP8 payload descriptor this writes.
pub const VP8_DESCRIPTOR: usize = 6;

/// One outgoing encoding's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// The next packet's extended sequence number.
    pub seq: u64,
    /// Added to the media clock for this encoding's RTP timestamps.
    pub time_base: u32,
    /// VP8 only: the next frame's picture id (15 bits) and TL0PICIDX.
    pub picture_id: u16,
    pub tl0: u8,
}

/// One packet to write (`str0m::rtp::RtpWrite`'s sequence number, timestamp, payload and
/// marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub seq: u64,
    pub time: u32,
    pub payload: Vec<u8>,
    pub marker: bool,
}

impl Encoding {
    /// Encoding `i`'s starting points: far apart, so that a receiver seeing a layer's
    /// numbers where another's should continue would notice.
    pub fn nth(i: u32) -> Encoding {
        Encoding {
            seq: 1000 + u64::from(i) * 7000,
            time_base: 1_000_000 * (i + 1),
            picture_id: 100 + 4000 * (i as u16 & 7),
            tl0: 10u8.wrapping_add(60u8.wrapping_mul(i as u8)),
        }
    }

    /// The one packet of an audio frame taken at `clock` (the media clock since the stream
    /// began), through `write` (no marker: a continuous stream has no talkspurt to start).
    pub fn audio(&mut self, clock: u32, frame: Vec<u8>, write: &mut impl FnMut(Packet)) {
        write(Packet {
            seq: self.seq,
            time: self.time_base.wrapping_add(clock),
            payload: frame,
            marker: false,
        });
        self.seq += 1;
    }

    /// The packets of one VP8 frame taken at `clock`, through `write`.
    pub fn vp8(&mut self, clock: u32, frame: &[u8], write: &mut impl FnMut(Packet)) {
        let time = self.time_base.wrapping_add(clock);
        // As few packets as fit, of about equal size (as browsers split frames).
        let n = frame.len().div_ceil(MAX_PAYLOAD).max(1);
        let size = frame.len().div_ceil(n).max(1);
        for k in 0..n {
            let chunk = &frame[(k * size).min(frame.len())..((k + 1) * size).min(frame.len())];
            let mut payload = Vec::with_capacity(VP8_DESCRIPTOR + chunk.len());
            payload.extend_from_slice(&[
                0x80 | if k == 0 { 0x10 } else { 0x00 },
                0xe0,
                0x80 | (self.picture_id >> 8) as u8,
                self.picture_id as u8,
                self.tl0,
                0x00,
            ]);
            payload.extend_from_slice(chunk);
            write(Packet {
                seq: self.seq,
                time,
                payload,
                marker: k + 1 == n,
            });
            self.seq += 1;
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        self.tl0 = self.tl0.wrapping_add(1);
    }
}

/// Where a VP8 packet's frame data starts, and whether it begins a frame (the S bit in
/// partition 0): the receiving side of [`Encoding::vp8`], for any RFC 7741 descriptor.
pub fn vp8_frame_start(payload: &[u8]) -> Option<(usize, bool)> {
    let first = *payload.first()?;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            at += if *payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at <= payload.len()).then_some((at, first & 0x10 != 0 && first & 0x07 == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_in_packets_and_back() {
        let frame: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut e = Encoding::nth(1);
        let start = e;
        let mut packets = Vec::new();
        e.vp8(90, &frame, &mut |p| packets.push(p));
        // 3 000 bytes: three packets of 1 000, not 1 200 + 1 200 + 600.
        assert_eq!(packets.len(), 3);
        assert!(
            packets
                .iter()
                .all(|p| p.payload.len() == VP8_DESCRIPTOR + 1000)
        );
        assert!(packets.iter().all(|p| p.time == start.time_base + 90));
        let seqs: Vec<u64> = packets.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, [start.seq, start.seq + 1, start.seq + 2]);
        let markers: Vec<bool> = packets.iter().map(|p| p.marker).collect();
        assert_eq!(markers, [false, false, true]);
        let mut back = Vec::new();
        for (k, Packet { payload: p, .. }) in packets.iter().enumerate() {
            let (at, starts) = vp8_frame_start(p).unwrap();
            assert_eq!((at, starts), (VP8_DESCRIPTOR, k == 0));
            assert_eq!(u16::from_be_bytes([p[2], p[3]]) & 0x7fff, start.picture_id);
            assert_eq!(p[4], start.tl0);
            back.extend_from_slice(&p[at..]);
        }
        assert_eq!(back, frame);
        assert_eq!(e.picture_id, start.picture_id + 1);
        assert_eq!(e.tl0, start.tl0.wrapping_add(1));
        // Picture ids stay within 15 bits.
        e.picture_id = 0x7fff;
        e.vp8(0, &[1], &mut |_| {});
        assert_eq!(e.picture_id, 0);
        // A short descriptor (no extensions) and garbage.
        assert_eq!(vp8_frame_start(&[0x10, 9, 9]), Some((1, true)));
        assert_eq!(vp8_frame_start(&[0x80]), None);
        assert_eq!(vp8_frame_start(&[]), None);
    }
}
