//! What the SFU hands a recorder: every frame of a recorded room that everyone may receive
//! (nothing locked, muted or for moderators' eyes only), with what is needed to place it on
//! the recording's clock. The recorder is one more receiver of the forwarding path: it gets
//! each camera's top layer through the same rewriting as a browser, and puts the packets
//! back together into frames (an audio packet is a frame, its bytes shared).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenary_proto::{ParticipantId, RoomId, TrackSource};
use str0m::format::Codec;
use str0m::media::Mid;

use crate::rewrite::{Rewriter, Rewritten};
use crate::rtp::InPacket;
use crate::sfu::SfuOutput;

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

/// A recorded room: each track subscribed like a receiver (its top layer, through the same
/// rewriting, so a simulcast switch is seamless), and its packets put back together into
/// frames.
#[derive(Debug, Default)]
pub(crate) struct RoomRecorder {
    tracks: HashMap<(ParticipantId, Mid), Track>,
}

#[derive(Debug)]
struct Track {
    rewriter: Rewriter,
    /// Packets of frames not yet complete, oldest first.
    partial: Vec<(Rewritten, InPacket)>,
    /// The RTP time of the last frame handed over, extended.
    last_time: Option<u64>,
    /// A frame was lost: video waits for a keyframe.
    broken: bool,
    /// What the rewriter let through of the last packet (kept to reuse its allocation).
    scratch: Vec<(Rewritten, InPacket)>,
}

/// Frames a track may have in flight before the oldest incomplete one is given up.
const IN_FLIGHT: usize = 3;
/// Packets held for frames not yet complete; beyond this (a publisher that never ends a
/// frame), they are given up and the track waits for a keyframe.
const PARTIAL_MAX: usize = 512;

impl RoomRecorder {
    /// One forwarded packet of `participant`'s `source`; `top` is the track's highest layer
    /// flowing. Complete frames go to `out`. Returns whether the track needs a keyframe.
    pub fn packet(
        &mut self,
        room: &RoomId,
        participant: ParticipantId,
        source: TrackSource,
        top: u8,
        p: &InPacket,
        out: &mut VecDeque<SfuOutput>,
    ) -> bool {
        let codec = match p.codec() {
            Codec::Opus => RecordedCodec::Opus {
                channels: p.params.spec().channels.unwrap_or(2),
            },
            Codec::Vp8 => RecordedCodec::Vp8,
            _ => return false,
        };
        let t = self
            .tracks
            .entry((participant, p.mid))
            .or_insert_with(|| Track {
                rewriter: Rewriter::new(Some(top)),
                partial: Vec::new(),
                last_time: None,
                broken: false,
                scratch: Vec::new(),
            });
        t.rewriter.set_target(Some(top));
        let mut got = std::mem::take(&mut t.scratch);
        t.rewriter.offer(p, &mut |p, w| got.push((w, p.clone())));
        for (w, p) in got.drain(..) {
            if codec == RecordedCodec::Vp8 {
                if t.partial.len() >= PARTIAL_MAX {
                    t.partial.clear();
                    t.broken = true;
                }
                t.partial.push((w, p));
            } else {
                let frame =
                    RecordedFrame::new(room, participant, source, codec, &w, &p, p.payload.clone());
                t.hand_over(frame, out);
            }
        }
        t.scratch = got;
        if codec == RecordedCodec::Vp8 {
            t.assemble(room, participant, source, out);
        }
        t.rewriter.waiting() || t.broken
    }

    /// A participant left: their tracks are forgotten.
    pub fn remove(&mut self, participant: ParticipantId) {
        self.tracks.retain(|(p, _), _| *p != participant);
    }
}

impl RecordedFrame {
    fn new(
        room: &RoomId,
        participant: ParticipantId,
        source: TrackSource,
        codec: RecordedCodec,
        w: &Rewritten,
        p: &InPacket,
        data: Arc<[u8]>,
    ) -> Self {
        RecordedFrame {
            room: room.clone(),
            participant,
            source,
            codec,
            rtp_time: u64::from(w.time),
            clock_rate: p.clock_rate,
            arrived: p.arrived,
            sender_ms: p.sender_ms,
            keyframe: p.keyframe || !p.is_video(),
            data,
        }
    }
}

impl Track {
    /// Extends the frame's RTP time past wrap-arounds and hands it over, in time order.
    fn hand_over(&mut self, mut f: RecordedFrame, out: &mut VecDeque<SfuOutput>) {
        let t32 = f.rtp_time as u32;
        let time = match self.last_time {
            None => u64::from(t32),
            Some(last) => {
                let delta = i64::from(t32.wrapping_sub(last as u32) as i32);
                if delta < 0 {
                    return;
                }
                last.saturating_add_signed(delta)
            }
        };
        self.last_time = Some(time);
        f.rtp_time = time;
        out.push_back(SfuOutput::Recorded(f));
    }

    /// Hands over every VP8 frame whose packets are all here (first to marker, no gap),
    /// oldest first; a frame overtaken by too many others is given up.
    fn assemble(
        &mut self,
        room: &RoomId,
        participant: ParticipantId,
        source: TrackSource,
        out: &mut VecDeque<SfuOutput>,
    ) {
        self.partial.sort_by_key(|(w, _)| w.seq);
        loop {
            let Some((w0, p0)) = self.partial.first() else {
                return;
            };
            let time = w0.time;
            let frame: Vec<&(Rewritten, InPacket)> = self
                .partial
                .iter()
                .take_while(|(w, _)| w.time == time)
                .collect();
            let complete = crate::rtp::vp8_starts_frame(&p0.payload)
                && frame.last().is_some_and(|(_, p)| p.marker)
                && frame.windows(2).all(|x| x[1].0.seq == x[0].0.seq + 1);
            let frames_after = {
                let mut times: Vec<u32> = self.partial.iter().map(|(w, _)| w.time).collect();
                times.dedup();
                times.len().saturating_sub(1)
            };
            if !complete && frames_after < IN_FLIGHT {
                return;
            }
            let n = frame.len();
            if complete && (!self.broken || p0.keyframe) {
                let mut data = Vec::with_capacity(frame.iter().map(|(_, p)| p.payload.len()).sum());
                for (_, p) in &frame {
                    let at = crate::rtp::vp8_descriptor_len(&p.payload).unwrap_or(p.payload.len());
                    data.extend_from_slice(&p.payload[at..]);
                }
                let f = RecordedFrame::new(
                    room,
                    participant,
                    source,
                    RecordedCodec::Vp8,
                    w0,
                    p0,
                    data.into(),
                );
                self.broken = false;
                self.hand_over(f, out);
            } else if !complete {
                self.broken = true;
            }
            self.partial.drain(..n);
        }
    }
}
