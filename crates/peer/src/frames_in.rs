//! Video frames put back together from RTP packets as far as counting needs: a frame counts
//! once every packet of it has arrived — the one with the start bit, the one with the marker
//! and every sequence number between, in any order — as a depacketizer would deliver it.
//! A frame missing a packet for good is never counted (it could not be decoded).

use crate::rtp_out::vp8_frame_start;

/// Frames of one track still waiting for packets; the oldest is given up beyond this.
const KEEP: usize = 32;

/// A frame still incomplete this long (RTP time, 90 kHz: 1 s) after a newer one's packet
/// is given up (a repair would not come any more).
const GIVE_UP: i32 = 90_000;

/// Bytes kept of a frame's first packet (its synthetic header is at the start).
const HEAD: usize = 64;
const _: () = assert!(HEAD >= crate::frame::HEADER_BYTES);

#[derive(Debug, Default)]
pub struct FramesIn {
    partial: Vec<Partial>,
}

#[derive(Debug)]
struct Partial {
    time: u32,
    first: Option<u64>,
    last: Option<u64>,
    seen: u64,
    head: Vec<u8>,
}

impl FramesIn {
    /// One VP8 packet (extended sequence number, RTP timestamp, marker, payload); returns
    /// the start of the frame's data once the frame is whole.
    pub fn packet(&mut self, seq: u64, time: u32, marker: bool, payload: &[u8]) -> Option<Vec<u8>> {
        let (at, starts) = vp8_frame_start(payload)?;
        // Frames long behind this packet lost a packet for good: they are dropped, so they
        // cannot push out frames still being completed.
        self.partial
            .retain(|p| (time.wrapping_sub(p.time) as i32) <= GIVE_UP);
        let i = match self.partial.iter().position(|p| p.time == time) {
            Some(i) => i,
            None => {
                if self.partial.len() >= KEEP {
                    self.partial.remove(0);
                }
                self.partial.push(Partial {
                    time,
                    first: None,
                    last: None,
                    seen: 0,
                    head: Vec::new(),
                });
                self.partial.len() - 1
            }
        };
        let p = &mut self.partial[i];
        p.seen += 1;
        if starts {
            p.first = Some(seq);
            p.head = payload[at..payload.len().min(at + HEAD)].to_vec();
        }
        if marker {
            p.last = Some(seq);
        }
        match (p.first, p.last) {
            (Some(f), Some(l)) if l >= f && p.seen == l - f + 1 => {
                Some(self.partial.remove(i).head)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp_out::Encoding;

    fn packets(frame_len: usize) -> Vec<(u64, Vec<u8>, bool)> {
        let frame: Vec<u8> = (0..frame_len).map(|i| i as u8).collect();
        let mut out = Vec::new();
        Encoding::nth(0).vp8(0, &frame, &mut |p| out.push((p.seq, p.payload, p.marker)));
        out
    }

    #[test]
    fn whole_frames_count_once_and_broken_ones_never() {
        let ps = packets(3000);
        // In order: whole at the marker.
        let mut f = FramesIn::default();
        assert_eq!(f.packet(ps[0].0, 7, ps[0].2, &ps[0].1), None);
        assert_eq!(f.packet(ps[1].0, 7, ps[1].2, &ps[1].1), None);
        let head = f.packet(ps[2].0, 7, ps[2].2, &ps[2].1).expect("whole");
        assert_eq!(&head[..4], &[0, 1, 2, 3]);
        // Out of order (a repair last): whole when the missing packet comes.
        let mut f = FramesIn::default();
        for k in [2, 0] {
            assert_eq!(f.packet(ps[k].0, 9, ps[k].2, &ps[k].1), None);
        }
        assert!(f.packet(ps[1].0, 9, ps[1].2, &ps[1].1).is_some());
        // A middle packet lost for good: never counted, and a later frame still is.
        let mut f = FramesIn::default();
        for k in [0, 2] {
            assert_eq!(f.packet(ps[k].0, 11, ps[k].2, &ps[k].1), None);
        }
        let next = packets(500);
        assert!(f.packet(100, 12, next[0].2, &next[0].1).is_some());
        // A frame left incomplete is given up a second later, and the 32 frames since are
        // all still completed (they were not pushed out by it).
        let mut f = FramesIn::default();
        assert_eq!(f.packet(ps[0].0, 0, ps[0].2, &ps[0].1), None);
        for k in 1..=40u32 {
            let t = k * 3000;
            assert!(
                f.packet(1000 + u64::from(k), t, next[0].2, &next[0].1)
                    .is_some()
            );
        }
        assert!(f.partial.is_empty(), "given up after 1 s");
        // Missing its first packet: not counted either.
        let mut f = FramesIn::default();
        for k in [1, 2] {
            assert_eq!(f.packet(ps[k].0, 13, ps[k].2, &ps[k].1), None);
        }
    }
}
