//! One subscriber's view of one published track: which simulcast layer it gets, and the
//! rewriting that makes a switch between layers (or a pause and resume) invisible to its
//! decoder — sequence numbers, timestamps and the VP8 picture id / TL0PICIDX continue as if
//! one encoder had sent everything.
//!
//! A switch happens only at a keyframe of the target layer, and only once the frame in
//! progress on the current layer is complete: the target's packets wait (shared, not copied)
//! until the current frame's last packet went out.

use std::time::{Duration, Instant};

use str0m::rtp::Vp8Patch;

use crate::rtp::InPacket;

/// Target packets held while the current layer finishes its frame; past this (or this old)
/// the switch happens anyway.
const PENDING_MAX: usize = 128;
const PENDING_FOR: Duration = Duration::from_millis(100);

/// Where a forwarded packet goes out: its rewritten numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rewritten {
    pub seq: u64,
    pub time: u32,
    /// The VP8 picture id and TL0PICIDX written, and the patch that writes them (the
    /// numbers are what the tests check; str0m's patch keeps its bytes private).
    #[cfg_attr(not(test), allow(dead_code))]
    pub picture_id: Option<u16>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub tl0: Option<u8>,
    pub vp8: Option<Vp8Patch>,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    seq: u64,
    time: u32,
    at: Instant,
    picture_id: Option<u16>,
    tl0: Option<u8>,
    /// The packet ended a frame.
    ends_frame: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Rewriter {
    /// The layer being forwarded (None: nothing is).
    current: Option<u8>,
    /// The layer wanted (None: paused).
    target: Option<u8>,
    seq_delta: u64,
    time_delta: u32,
    pid_delta: u16,
    tl0_delta: u8,
    /// The current layer's first forwarded sequence number: older packets (late repairs of
    /// what came before the switch) are not forwarded.
    start_seq: u64,
    last: Option<Last>,
    pending: Vec<InPacket>,
    /// Packets forwarded, and layer switches made.
    pub forwarded: u64,
    pub switches: u64,
    /// Sequence numbers skipped in what went out: packets lost before they reached the SFU
    /// (less those that came later, repaired). The subscriber counts them as lost too.
    pub holes: u64,
}

impl Rewriter {
    /// A rewriter that forwards `target` from its next keyframe.
    pub fn new(target: Option<u8>) -> Self {
        Self {
            target,
            ..Self::default()
        }
    }

    pub fn target(&self) -> Option<u8> {
        self.target
    }

    pub fn current(&self) -> Option<u8> {
        self.current
    }

    /// Whether the target layer is not flowing yet: a keyframe of it is needed.
    pub fn waiting(&self) -> bool {
        self.target.is_some() && self.target != self.current && self.pending.is_empty()
    }

    pub fn set_target(&mut self, target: Option<u8>) {
        if target != self.target {
            self.target = target;
            self.pending.clear();
            // Between frames, a pause takes effect now (no packet may come to end it).
            if target.is_none() && self.last.is_none_or(|l| l.ends_frame) {
                self.current = None;
            }
        }
    }

    /// Offers one packet of the track; what is to be sent goes to `emit` (none, this one,
    /// or — at a switch — the held packets of the new layer).
    pub fn offer(&mut self, p: &InPacket, emit: &mut impl FnMut(&InPacket, Rewritten)) {
        if Some(p.layer) == self.current {
            if p.seq < self.start_seq {
                return;
            }
            let in_frame = self.last.is_some_and(|l| !l.ends_frame);
            if !in_frame {
                // Between frames: the current layer stops here if a switch is ready, or if
                // nothing is wanted any more.
                if !self.pending.is_empty() {
                    self.switch_to_pending(emit);
                    return;
                }
                if self.target.is_none() {
                    self.current = None;
                    return;
                }
            }
            self.send(p, emit);
            if p.ends_frame {
                if !self.pending.is_empty() {
                    self.switch_to_pending(emit);
                } else if self.target.is_none() {
                    self.current = None;
                }
            }
            return;
        }
        if Some(p.layer) != self.target {
            return;
        }
        if self.pending.is_empty() {
            if !p.keyframe {
                return;
            }
            let in_frame = self.current.is_some() && self.last.is_some_and(|l| !l.ends_frame);
            if !in_frame {
                self.switch(p);
                self.send(p, emit);
                return;
            }
        }
        self.pending.push(p.clone());
        let stale = self.pending.len() >= PENDING_MAX
            || p.arrived.saturating_duration_since(self.pending[0].arrived) > PENDING_FOR;
        if stale {
            self.switch_to_pending(emit);
        }
    }

    fn switch_to_pending(&mut self, emit: &mut impl FnMut(&InPacket, Rewritten)) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|p| p.seq);
        if let Some(first) = pending.iter().find(|p| p.keyframe) {
            let first = first.clone();
            self.switch(&first);
            for p in &pending {
                if p.seq >= self.start_seq {
                    self.send(p, emit);
                }
            }
        }
        pending.clear();
        // Keep the allocation for the next switch.
        self.pending = pending;
    }

    /// Makes `first` (a keyframe's first packet of the target layer) continue the numbering.
    fn switch(&mut self, first: &InPacket) {
        let (out_seq, out_time, out_pid, out_tl0) = match self.last {
            Some(l) => {
                let elapsed = first.arrived.saturating_duration_since(l.at);
                let ticks = (elapsed.as_micros() * u128::from(first.clock_rate) / 1_000_000)
                    .clamp(1, u128::from(u32::MAX / 2)) as u32;
                (
                    l.seq + 1,
                    l.time.wrapping_add(ticks),
                    l.picture_id.map(|p| p.wrapping_add(1) & 0x7fff),
                    l.tl0.map(|t| t.wrapping_add(1)),
                )
            }
            None => (1, first.time, None, None),
        };
        self.seq_delta = out_seq.wrapping_sub(first.seq);
        self.time_delta = out_time.wrapping_sub(first.time);
        let (pid, tl0) = first
            .vp8
            .map_or((None, None), |d| (d.picture_id(), d.tl0_pic_idx()));
        self.pid_delta = match (out_pid, pid) {
            (Some(out), Some(pid)) => out.wrapping_sub(pid) & 0x7fff,
            _ => 0,
        };
        self.tl0_delta = match (out_tl0, tl0) {
            (Some(out), Some(tl0)) => out.wrapping_sub(tl0),
            _ => 0,
        };
        if self.current.is_some() {
            self.switches += 1;
        }
        self.current = Some(first.layer);
        self.start_seq = first.seq;
    }

    fn send(&mut self, p: &InPacket, emit: &mut impl FnMut(&InPacket, Rewritten)) {
        let seq = p.seq.wrapping_add(self.seq_delta);
        let time = p.time.wrapping_add(self.time_delta);
        let mut vp8 = None;
        let mut picture_id = None;
        let mut tl0 = None;
        if let Some(d) = p.vp8 {
            let mut b = d.patch();
            if let Some(pid) = d.picture_id() {
                // A 7-bit picture id stays 7 bits: the continuation is kept modulo 128.
                let out = pid.wrapping_add(self.pid_delta) & 0x7fff;
                let out = if pid <= 0x7f && d.patch().picture_id(out).build().is_err() {
                    out & 0x7f
                } else {
                    out
                };
                picture_id = Some(out);
                b = b.picture_id(out);
            }
            if let Some(t) = d.tl0_pic_idx() {
                let out = t.wrapping_add(self.tl0_delta);
                tl0 = Some(out);
                b = b.tl0_pic_idx(out);
            }
            vp8 = b.build().ok();
        }
        match self.last {
            Some(l) if seq > l.seq + 1 => self.holes += seq - l.seq - 1,
            Some(l) if seq < l.seq => self.holes = self.holes.saturating_sub(1),
            _ => {}
        }
        let newest = self.last.is_none_or(|l| seq > l.seq);
        if newest {
            self.last = Some(Last {
                seq,
                time,
                at: p.arrived,
                picture_id,
                tl0,
                ends_frame: p.ends_frame,
            });
        }
        self.forwarded += 1;
        emit(
            p,
            Rewritten {
                seq,
                time,
                picture_id,
                tl0,
                vp8,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
    use str0m::media::{Frequency, Mid};

    use super::*;

    fn vp8_params() -> PayloadParams {
        PayloadParams::new(
            96.into(),
            None,
            CodecSpec {
                codec: Codec::Vp8,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams::default(),
            },
        )
    }

    /// A VP8 packet with a 15-bit picture id and TL0PICIDX.
    fn packet(
        t0: Instant,
        layer: u8,
        seq: u64,
        frame: u32,
        first: bool,
        last: bool,
        key: bool,
    ) -> InPacket {
        let pid = (frame as u16 + u16::from(layer) * 1000) & 0x7fff;
        let s = if first { 0x10 } else { 0 };
        let mut payload = vec![0x80 | s, 0xe0, 0x80 | (pid >> 8) as u8, pid as u8];
        payload.push((frame as u8).wrapping_add(layer * 50));
        payload.push(0x00);
        payload.push(if key && first { 0x00 } else { 0x01 });
        payload.extend_from_slice(&[0; 8]);
        let time = frame * 3000 + u32::from(layer) * 7_777_777;
        vp8_packet(t0, layer, seq, frame, time, payload, last, key && first)
    }

    /// A VP8 packet of `payload` (descriptor included), frame `frame` at 30 frames/s.
    #[allow(clippy::too_many_arguments)]
    fn vp8_packet(
        t0: Instant,
        layer: u8,
        seq: u64,
        frame: u32,
        time: u32,
        payload: Vec<u8>,
        last: bool,
        keyframe: bool,
    ) -> InPacket {
        let payload: Arc<[u8]> = payload.into();
        let vp8 = str0m::rtp::Vp8Descriptor::parse(&payload).ok();
        InPacket {
            mid: Mid::from("v"),
            layer,
            seq: seq + u64::from(layer) * 10_000,
            time,
            clock_rate: 90_000,
            marker: last,
            ends_frame: last,
            params: vp8_params(),
            payload,
            audio_level: None,
            voice_activity: None,
            video_orientation: None,
            arrived: t0 + Duration::from_millis(u64::from(frame) * 33),
            keyframe,
            vp8,
            sender_ms: None,
        }
    }

    /// Two packets per frame for `frames`, on every layer, keyframes where `key(layer, frame)`.
    fn stream(
        t0: Instant,
        frames: std::ops::Range<u32>,
        key: impl Fn(u8, u32) -> bool,
    ) -> Vec<InPacket> {
        let mut out = Vec::new();
        for f in frames {
            for layer in 0..3u8 {
                let k = key(layer, f);
                out.push(packet(t0, layer, u64::from(f) * 2, f, true, false, k));
            }
            for layer in 0..3u8 {
                let k = key(layer, f);
                out.push(packet(t0, layer, u64::from(f) * 2 + 1, f, false, true, k));
            }
        }
        out
    }

    fn run(r: &mut Rewriter, packets: &[InPacket]) -> Vec<(u8, Rewritten, InPacket)> {
        let mut out = Vec::new();
        for p in packets {
            r.offer(p, &mut |p, w| out.push((p.layer, w, p.clone())));
        }
        out
    }

    fn assert_continuous(out: &[(u8, Rewritten, InPacket)]) {
        for pair in out.windows(2) {
            let (a, b) = (&pair[0].1, &pair[1].1);
            assert_eq!(b.seq, a.seq + 1, "sequence gap");
        }
        // Picture ids advance by one per frame.
        let pids: Vec<u16> = out
            .iter()
            .filter(|(_, _, p)| p.payload[0] & 0x10 != 0)
            .filter_map(|(_, w, _)| w.picture_id)
            .collect();
        assert!(!pids.is_empty());
        for pair in pids.windows(2) {
            assert_eq!(pair[1], (pair[0] + 1) & 0x7fff, "picture ids {pids:?}");
        }
        let tl0s: Vec<u8> = out
            .iter()
            .filter(|(_, _, p)| p.payload[0] & 0x10 != 0)
            .filter_map(|(_, w, _)| w.tl0)
            .collect();
        for pair in tl0s.windows(2) {
            assert_eq!(pair[1], pair[0].wrapping_add(1), "TL0PICIDX {tl0s:?}");
        }
        assert!(
            out.iter().all(|(_, w, _)| w.vp8.is_some()),
            "every packet patched"
        );
    }

    #[test]
    fn starts_at_a_keyframe_and_continues() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(0));
        let packets = stream(t0, 0..10, |l, f| l == 0 && f == 3);
        let out = run(&mut r, &packets);
        assert!(out.iter().all(|(l, _, _)| *l == 0));
        assert!(
            out[0].2.keyframe,
            "the first packet forwarded is a keyframe"
        );
        assert_eq!(out.len(), 14, "frames 3..10, two packets each");
        assert_eq!(out[0].1.seq, 1);
        assert_continuous(&out);
    }

    #[test]
    fn a_switch_waits_for_the_target_keyframe_and_leaves_no_gap() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(0));
        let key = |l: u8, f: u32| f == 0 || (l == 2 && f == 6);
        let mut out = run(&mut r, &stream(t0, 0..4, key));
        r.set_target(Some(2));
        assert!(r.waiting());
        out.extend(run(&mut r, &stream(t0, 4..10, key)));
        let layers: Vec<u8> = out.iter().map(|(l, _, _)| *l).collect();
        // Layer 0 until its frame 6 is complete (layer 2's keyframe came in the middle of
        // it), layer 2 from that keyframe on.
        assert_eq!(&layers[..14], &[0; 14], "{layers:?}");
        assert!(layers[14..].iter().all(|l| *l == 2), "{layers:?}");
        assert!(out[14].2.keyframe);
        assert_continuous(&out);
        // Timestamps continue forward by about a frame at the switch.
        let step = out[14].1.time.wrapping_sub(out[13].1.time);
        assert!((1..=4000).contains(&step), "{step}");
        assert_eq!(r.switches, 1);
    }

    #[test]
    fn a_switch_in_the_middle_of_a_frame_finishes_that_frame_first() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(0));
        // Layer 2's keyframe first packet arrives before layer 0's frame 5 is complete.
        let mut packets = stream(t0, 0..5, |_, f| f == 0);
        packets.push(packet(t0, 0, 10, 5, true, false, false));
        r.offer(&packets[0], &mut |_, _| {});
        let mut out = run(&mut r, &packets[1..]);
        r.set_target(Some(2));
        out.extend(run(&mut r, &[packet(t0, 2, 10, 5, true, false, true)]));
        assert_eq!(
            out.last().map(|o| o.0),
            Some(0),
            "held until the frame ends"
        );
        out.extend(run(
            &mut r,
            &[
                packet(t0, 2, 11, 5, false, true, true),
                packet(t0, 0, 11, 5, false, true, false),
            ],
        ));
        let tail: Vec<u8> = out.iter().rev().take(3).map(|o| o.0).collect();
        assert_eq!(
            tail,
            vec![2, 2, 0],
            "the old frame ends, then the new layer"
        );
        assert_continuous(&out);
    }

    #[test]
    fn pause_and_resume_continue_the_numbering() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(1));
        let key = |_: u8, f: u32| f == 0 || f == 8;
        let mut out = run(&mut r, &stream(t0, 0..3, key));
        r.set_target(None);
        assert!(run(&mut r, &stream(t0, 3..6, key)).is_empty());
        r.set_target(Some(1));
        out.extend(run(&mut r, &stream(t0, 6..10, key)));
        assert_eq!(out.len(), 6 + 4);
        assert_continuous(&out);
        // The pause shows as time passing, not as lost packets.
        let step = out[6].1.time.wrapping_sub(out[5].1.time);
        assert!(step > 5 * 3000, "{step}");
    }

    #[test]
    fn late_repairs_from_before_a_switch_are_not_forwarded() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(2));
        let out = run(&mut r, &stream(t0, 0..4, |_, f| f == 2));
        let before = out.len();
        let late = packet(t0, 2, 1, 0, false, true, false);
        let mut more = Vec::new();
        r.offer(&late, &mut |p, w| more.push((p.layer, w)));
        assert!(more.is_empty(), "a packet older than the switch");
        assert_eq!(before, 4);
    }

    /// A VP8 packet with a 7-bit picture id (no TL0PICIDX), as some encoders send.
    fn short_packet(t0: Instant, layer: u8, seq: u64, frame: u32, key: bool) -> InPacket {
        let pid = ((frame + u32::from(layer) * 40) & 0x7f) as u8;
        let mut payload = vec![0x90, 0x80, pid, if key { 0x00 } else { 0x01 }];
        payload.extend_from_slice(&[0; 8]);
        vp8_packet(t0, layer, seq, frame, frame * 3000, payload, true, key)
    }

    #[test]
    fn seven_bit_picture_ids_stay_seven_bits_and_continue_past_wrapping() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(Some(0));
        let mut out = Vec::new();
        // Layer 0 until frame 160 (its ids wrap at 128), then layer 1 from its keyframe, whose
        // own ids (offset by 40) wrap too, and whose output must wrap where the 7 bits end.
        for f in 0..400u32 {
            if f == 150 {
                r.set_target(Some(1));
            }
            for layer in 0..2u8 {
                let key = f == 0 || (layer == 1 && f == 160);
                r.offer(
                    &short_packet(t0, layer, u64::from(f), f, key),
                    &mut |p, w| out.push((p.layer, w)),
                );
            }
        }
        // Layer 0 up to its frame 160 (its packet came first), layer 1 from its keyframe.
        assert_eq!(out.len(), 401);
        assert_eq!((out[160].0, out[161].0), (0, 1), "switched at the keyframe");
        for pair in out.windows(2) {
            let (a, b) = (pair[0].1, pair[1].1);
            assert_eq!(b.seq, a.seq + 1);
            let (pa, pb) = (a.picture_id.unwrap(), b.picture_id.unwrap());
            assert!(pb <= 0x7f, "a 7-bit id stays 7 bits: {pb}");
            assert_eq!(pb, (pa + 1) & 0x7f, "{pa} then {pb}");
            assert!(b.vp8.is_some(), "the patch fits the descriptor");
        }
    }
}
