//! One recording of a meeting, sans-IO: frames of every track come in (as the SFU forwards
//! them), each track goes to its own [`TrackWriter`] on one meeting-wide clock, and a pause
//! leaves a gap. Where the bytes go is the [`Storage`]'s business (files on the server, memory
//! in tests).
//!
//! The clock: a track starts at the time its first frame arrived after the recording started
//! (the network's view, the same for every track); from then on its frames are placed by their
//! RTP timestamps, so network jitter does not move them. Once a sender's RTCP sender reports
//! arrive, its tracks are placed by them instead: each report ties a track's RTP time to the
//! sender's wall clock, which all of one sender's tracks share, so a video whose first frame
//! came late (a large keyframe, paced out) still plays with its sound. The sender's wall clock
//! is mapped onto the recording's by its least delayed frame.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use plenary_proto::{ParticipantId, TrackSource};

use crate::webm::{CLUSTER_MS, Codec, TrackWriter, WriteError};

/// Which track: whose, and what of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackKey {
    pub participant: ParticipantId,
    pub source: TrackSource,
}

impl TrackKey {
    /// The file's name: `p<participant>-<source>.webm`.
    pub fn file_name(&self) -> String {
        format!("p{}-{}.webm", self.participant.0, self.source.name())
    }
}

/// Where a recording's files are written.
pub trait Storage {
    type Out: Write;
    fn create(&mut self, name: &str) -> io::Result<Self::Out>;
    /// Removes a file made for a track that never wrote a frame.
    fn remove(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }
}

/// One frame as the SFU has it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub track: TrackKey,
    pub codec: Codec,
    /// The RTP timestamp, extended past wrap-arounds.
    pub rtp_time: u64,
    /// The RTP clock rate (48 000 for Opus, 90 000 for VP8).
    pub clock_rate: u32,
    /// When its first packet arrived.
    pub arrived: Instant,
    /// When the sender captured it, on the sender's wall clock (ms), from the track's latest
    /// RTCP sender report; None before the first.
    pub sender_ms: Option<i64>,
    pub keyframe: bool,
    pub data: &'a [u8],
}

/// A track of the finished recording: its file and when, on the recording's clock, it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    pub track: TrackKey,
    pub file: String,
    pub codec: Codec,
    /// Its first frame's time since the recording started.
    pub start_ms: u64,
    /// Its last frame's time.
    pub end_ms: u64,
    /// When it carried media: frames with no gap longer than [`SPAN_GAP_MS`] make one span.
    pub spans: Vec<(u64, u64)>,
    pub frames: u64,
}

/// A track that sent nothing for this long (a camera turned off, a muted microphone) has a
/// gap: its spans say when it carried media.
pub const SPAN_GAP_MS: u64 = 2_000;

/// A frame whose RTP time puts it this far from when it arrived belongs to a new stream (a
/// publisher that reconnected starts a new RTP clock): the track's clock is anchored again.
const REANCHOR_MS: u64 = 2_000;

/// A track whose RTP-placed frames stray this far from where its sender reports put them is
/// placed again (the first report, or a capture clock drifting from the sender's wall clock).
const SYNC_TOLERANCE_MS: u64 = 20;

#[derive(Debug)]
struct Track<W: Write> {
    writer: TrackWriter<W>,
    codec: Codec,
    file: String,
    /// Where the track's RTP time maps onto the recording's clock.
    origin_rtp: u64,
    origin_ms: u64,
    clock_rate: u32,
    first_ms: Option<u64>,
    last_arrival: Instant,
    spans: Vec<(u64, u64)>,
}

/// A recording in progress.
#[derive(Debug)]
pub struct Recording<S: Storage> {
    storage: S,
    started: Instant,
    /// Since when it is paused (a pause is a gap in the files: the clock runs on).
    paused_since: Option<Instant>,
    tracks: HashMap<TrackKey, Track<S::Out>>,
    /// Per sender: the recording's clock minus the sender's wall clock (ms).
    sender_offsets: HashMap<ParticipantId, i64>,
}

impl<S: Storage> Recording<S> {
    pub fn new(storage: S, now: Instant) -> Self {
        Self {
            storage,
            started: now,
            paused_since: None,
            tracks: HashMap::new(),
            sender_offsets: HashMap::new(),
        }
    }

    fn ms_since_start(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.started).as_millis() as u64
    }

    /// Where the files go (to make them durable, say).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Milliseconds since the recording started.
    pub fn elapsed_ms(&self, now: Instant) -> u64 {
        self.ms_since_start(now)
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// Where a frame the sender captured at `sent` (its wall clock) belongs on the recording's
    /// clock. A sender's offset is its least delayed frame's (arrival minus capture), so a
    /// track whose frames come late is placed where the sender captured them; a sender whose
    /// clock no longer fits (a reconnect from another device, a clock set) gets a new one.
    fn by_sender_report(&mut self, sender: ParticipantId, sent: i64, arrived_ms: u64) -> u64 {
        let arrived = i64::try_from(arrived_ms).unwrap_or(i64::MAX);
        let fresh = arrived.saturating_sub(sent);
        let offset = self.sender_offsets.entry(sender).or_insert(fresh);
        *offset = (*offset).min(fresh);
        let mut at = sent.saturating_add(*offset);
        if at.abs_diff(arrived) > REANCHOR_MS {
            *offset = fresh;
            at = arrived;
        }
        u64::try_from(at).unwrap_or(0)
    }

    /// Stops writing until [`Recording::resume`]; the files keep a gap.
    pub fn pause(&mut self, now: Instant) -> Result<(), WriteError> {
        if self.paused_since.is_none() {
            self.paused_since = Some(now);
            for t in self.tracks.values_mut() {
                t.writer.close_cluster()?;
            }
        }
        Ok(())
    }

    pub fn resume(&mut self, _now: Instant) {
        self.paused_since = None;
    }

    /// Writes one frame to its track's file (opened at the track's first frame).
    pub fn frame(&mut self, f: Incoming<'_>) -> Result<(), WriteError> {
        if self.paused_since.is_some() || f.clock_rate == 0 {
            return Ok(());
        }
        let arrived_ms = self.ms_since_start(f.arrived);
        let synced = f
            .sender_ms
            .map(|sent| self.by_sender_report(f.track.participant, sent, arrived_ms));
        if !self.tracks.contains_key(&f.track) {
            let file = f.track.file_name();
            let out = self.storage.create(&file)?;
            self.tracks.insert(
                f.track,
                Track {
                    writer: TrackWriter::new(out, f.codec),
                    codec: f.codec,
                    file,
                    origin_rtp: f.rtp_time,
                    origin_ms: synced.unwrap_or(arrived_ms),
                    clock_rate: f.clock_rate,
                    first_ms: None,
                    last_arrival: f.arrived,
                    spans: Vec::new(),
                },
            );
        }
        let Some(t) = self.tracks.get_mut(&f.track) else {
            return Ok(());
        };
        t.last_arrival = f.arrived;
        // Never before what the file has: a WebM track's times only go forward.
        let written = t.spans.last().map_or(0, |s| s.1);
        // RTP time before the origin (reordering at the very start) is placed at the origin.
        let since = f.rtp_time.saturating_sub(t.origin_rtp);
        let mut at_ms = t.origin_ms + since * 1000 / u64::from(t.clock_rate);
        if at_ms.abs_diff(arrived_ms) > REANCHOR_MS || f.clock_rate != t.clock_rate {
            (t.origin_rtp, t.clock_rate) = (f.rtp_time, f.clock_rate);
            at_ms = synced.unwrap_or(arrived_ms).max(written);
            t.origin_ms = at_ms;
        } else if let Some(to) = synced.filter(|to| to.abs_diff(at_ms) > SYNC_TOLERANCE_MS) {
            // Later: a jump (a gap in the file). Earlier: frames cannot go back before what is
            // written, so the track catches up gradually, each frame closing at most half its
            // distance from the one before (it plays up to twice as fast for a moment; no two
            // frames share a time).
            let to = if to > at_ms {
                to
            } else {
                at_ms - (at_ms - to).min(at_ms.saturating_sub(written) / 2)
            };
            (t.origin_rtp, t.origin_ms) = (f.rtp_time, to);
            at_ms = to;
        }
        if t.writer.write_frame(at_ms, f.keyframe, f.data)? {
            t.first_ms.get_or_insert(at_ms);
            match t.spans.last_mut() {
                Some(last) if at_ms.saturating_sub(last.1) <= SPAN_GAP_MS => {
                    last.1 = last.1.max(at_ms)
                }
                _ => t.spans.push((at_ms, at_ms)),
            }
        }
        Ok(())
    }

    /// Writes out the clusters of tracks that went quiet (a muted microphone sends nothing),
    /// so that what was recorded of them is on disk within about a second.
    pub fn tick(&mut self, now: Instant) -> Result<(), WriteError> {
        let quiet = Duration::from_millis(CLUSTER_MS);
        for t in self.tracks.values_mut() {
            if now.saturating_duration_since(t.last_arrival) >= quiet {
                t.writer.close_cluster()?;
            }
        }
        Ok(())
    }

    /// Ends the recording: every file written out; what each track is.
    pub fn finish(mut self) -> Result<(S, Vec<TrackFile>), WriteError> {
        let mut files = Vec::new();
        for (key, t) in std::mem::take(&mut self.tracks) {
            let frames = t.writer.frames();
            t.writer.finish()?;
            if t.first_ms.is_none() {
                self.storage.remove(&t.file)?;
            }
            if let Some(start_ms) = t.first_ms {
                files.push(TrackFile {
                    track: key,
                    file: t.file,
                    codec: t.codec,
                    start_ms,
                    end_ms: t.spans.last().map_or(start_ms, |s| s.1),
                    spans: t.spans,
                    frames,
                });
            }
        }
        files.sort_by_key(|f| f.track);
        Ok((self.storage, files))
    }
}
