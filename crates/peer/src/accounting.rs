//! What a receiver counts: frames per track, loss from sequence gaps, one-way latency.
//! Pure bookkeeping (no I/O), so it is tested against a simulated lossy, delayed link.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use plenary_proto::{MediaKind, ParticipantId};

use crate::frame::FrameHeader;

/// One received track: (publisher, kind, track index).
pub type TrackKey = (ParticipantId, MediaKind, u8);

/// Frames seen on one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackCount {
    pub frames: u64,
    pub min_seq: u32,
    pub max_seq: u32,
}

impl TrackCount {
    /// Frames the publisher sent between the first and the last one seen here.
    pub fn expected(&self) -> u64 {
        u64::from(self.max_seq - self.min_seq) + 1
    }
}

/// A receiver's accounting since the last reset.
#[derive(Debug, Clone)]
pub struct Accounting {
    pub tracks: BTreeMap<TrackKey, TrackCount>,
    /// One-way latency in microseconds, sender's write to receiver's read.
    pub latency_us: Histogram<u64>,
    /// Frames that arrived twice (counted once).
    pub duplicates: u64,
}

impl Default for Accounting {
    fn default() -> Self {
        Self {
            tracks: BTreeMap::new(),
            // 1 µs to 60 s, 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| unreachable!()),
            duplicates: 0,
        }
    }
}

impl Accounting {
    /// Records a frame received at `now_us` (same clock as `h.sent_us`).
    ///
    /// Sequence numbers only grow per track in this generator, so a frame at or below the
    /// highest seen is late (reordered, or retransmitted) and fills a gap; a repeat of the
    /// highest is a duplicate.
    pub fn record(&mut self, h: &FrameHeader, now_us: u64) {
        let key = (h.publisher, h.kind, h.track);
        match self.tracks.get_mut(&key) {
            None => {
                self.tracks.insert(
                    key,
                    TrackCount {
                        frames: 1,
                        min_seq: h.seq,
                        max_seq: h.seq,
                    },
                );
            }
            Some(t) if h.seq == t.max_seq => {
                self.duplicates += 1;
                return;
            }
            Some(t) => {
                t.frames += 1;
                t.min_seq = t.min_seq.min(h.seq);
                t.max_seq = t.max_seq.max(h.seq);
            }
        }
        let _ = self
            .latency_us
            .record(now_us.saturating_sub(h.sent_us).max(1));
    }

    pub fn frames(&self) -> u64 {
        self.tracks.values().map(|t| t.frames).sum()
    }

    pub fn expected(&self) -> u64 {
        self.tracks.values().map(TrackCount::expected).sum()
    }

    /// Fraction of frames lost (0.0 – 1.0) over every track.
    pub fn loss(&self) -> f64 {
        let expected = self.expected();
        if expected == 0 {
            return 0.0;
        }
        1.0 - (self.frames().min(expected) as f64 / expected as f64)
    }

    /// Adds another receiver's accounting (for totals over many receivers).
    pub fn merge(&mut self, other: &Accounting) {
        for (k, t) in &other.tracks {
            // Distinct receivers: their tracks are kept apart by summing counts per key.
            self.tracks
                .entry(*k)
                .and_modify(|mine| {
                    mine.frames += t.frames;
                    // Keep `expected` additive: widen by the other's span.
                    mine.max_seq += t.max_seq - t.min_seq + 1;
                })
                .or_insert(*t);
        }
        let _ = self.latency_us.add(&other.latency_us);
        self.duplicates += other.duplicates;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use str0m_netem::{Input, Netem, NetemConfig, Output, Probability, RandomLoss};

    use super::*;

    fn header(seq: u32, sent_us: u64) -> FrameHeader {
        FrameHeader {
            publisher: ParticipantId(1),
            kind: MediaKind::Video,
            track: 0,
            seq,
            sent_us,
            layer: 0,
        }
    }

    /// 10 000 frames through a link with seeded 5 % loss and 30 ms ± 5 ms delay: the
    /// accounting must report what the link did.
    #[test]
    fn counts_loss_and_latency_of_a_known_lossy_link() {
        let start = Instant::now();
        let loss = RandomLoss::new(Probability::new(0.05));
        let config = NetemConfig::new()
            .latency(Duration::from_millis(30))
            .jitter(Duration::from_millis(5))
            .loss(loss)
            .seed(11);
        let mut link: Netem<Vec<u8>> = Netem::new(config);
        let mut acc = Accounting::default();
        // What the link really did, measured outside the accounting.
        let mut true_delays_us: Vec<u64> = Vec::new();
        let sent = 10_000u32;
        let mut deliver = |link: &mut Netem<Vec<u8>>, at: Instant, acc: &mut Accounting| {
            link.handle_input(Input::Timeout(at));
            while let Some(o) = link.poll_output() {
                if let Output::Packet(p) = o {
                    let seq = u32::from_be_bytes(p[0..4].try_into().unwrap());
                    let sent_us = u64::from_be_bytes(p[4..12].try_into().unwrap());
                    let now_us = (at - start).as_micros() as u64;
                    acc.record(&header(seq, sent_us), now_us);
                    true_delays_us.push(now_us - sent_us);
                }
            }
        };
        // Frames every 10 ms; the link is polled every millisecond.
        for ms in 0..(u64::from(sent) * 10 + 2_000) {
            let at = start + Duration::from_millis(ms);
            if ms % 10 == 0 && ms / 10 < u64::from(sent) {
                let mut p = ((ms / 10) as u32).to_be_bytes().to_vec();
                p.extend_from_slice(&(ms * 1000).to_be_bytes());
                link.handle_input(Input::Packet(at, p));
            }
            deliver(&mut link, at, &mut acc);
        }

        // Exactly what the link delivered was counted…
        let delivered = true_delays_us.len() as u64;
        assert_eq!(acc.frames(), delivered);
        // …the loss it reports is the link's (within the tail effect of one frame)…
        let true_loss = 1.0 - delivered as f64 / f64::from(sent);
        assert!(
            (0.04..0.06).contains(&true_loss),
            "the link lost {true_loss}"
        );
        assert!(
            (acc.loss() - true_loss).abs() < 0.001,
            "counted {} vs {true_loss}",
            acc.loss()
        );
        // …and its latency percentiles are the link's, to the histogram's precision (0.1 %).
        true_delays_us.sort_unstable();
        let mean = true_delays_us.iter().sum::<u64>() / delivered;
        assert!(
            (25_000..=35_000).contains(&mean),
            "the link's mean delay is {mean} µs"
        );
        for q in [0.5, 0.99] {
            let truth = true_delays_us[((delivered - 1) as f64 * q).round() as usize] as f64;
            let counted = acc.latency_us.value_at_quantile(q) as f64;
            assert!(
                (counted - truth).abs() <= truth * 0.002 + 1.0,
                "q{q}: counted {counted} vs {truth}"
            );
        }
    }

    #[test]
    fn duplicates_and_reordering() {
        let mut acc = Accounting::default();
        for (seq, t) in [(0, 10), (2, 10), (2, 10), (1, 50), (3, 10)] {
            acc.record(&header(seq, 0), t);
        }
        assert_eq!(acc.frames(), 4);
        assert_eq!(acc.duplicates, 1);
        assert_eq!(acc.loss(), 0.0);
        assert_eq!(acc.latency_us.max(), 50);
    }

    #[test]
    fn merge_adds_receivers() {
        let mut a = Accounting::default();
        let mut b = Accounting::default();
        for seq in 0..10 {
            a.record(&header(seq, 0), 100);
            if seq % 2 == 0 {
                b.record(&header(seq, 0), 300);
            }
        }
        a.merge(&b);
        // 10 of 10 plus 5 of 9 (0..=8, every other one).
        assert_eq!(a.frames(), 15);
        assert_eq!(a.expected(), 19);
        assert_eq!(a.latency_us.len(), 15);
    }
}
