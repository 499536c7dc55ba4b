//! Choosing the layer each subscriber gets of each video track: from the size at which its
//! client shows the tile (nothing for an off-screen tile) and from its downlink's estimated
//! bandwidth. When the estimate falls, layers are lowered first (non-speakers before speakers),
//! then non-speakers' video pauses, then speakers', and a screen share only ever goes down to
//! its lowest layer; audio is never cut. Upgrades wait for a calm spell that grows after each
//! failed try, so layers do not flap.

use std::time::{Duration, Instant};

use plenary_proto::TrackSource;

/// A layer whose packets stopped this long ago is not offered (the browser dropped it, for
/// CPU or its own uplink).
pub(crate) const LAYER_IDLE: Duration = Duration::from_millis(1500);
/// The bitrate window of each layer.
const RATE_WINDOW: Duration = Duration::from_millis(500);
/// Upgrades wait this long after a downgrade (at first).
pub(crate) const UP_AFTER: Duration = Duration::from_secs(4);
/// What is assumed of a layer not measured yet (it just started).
const UNMEASURED_BPS: u64 = 150_000;

/// The encodings of one published video track, by layer.
#[derive(Debug, Default)]
pub(crate) struct LayersIn {
    pub layers: Vec<LayerIn>,
}

#[derive(Debug, Clone)]
pub(crate) struct LayerIn {
    pub layer: u8,
    pub last_at: Option<Instant>,
    /// Picture size, from its latest keyframe.
    pub size: Option<(u16, u16)>,
    window_start: Option<Instant>,
    window_bytes: u64,
    /// Bits per second over the last full window.
    pub bps: Option<u64>,
    pub last_keyframe_request: Option<Instant>,
}

impl LayersIn {
    pub fn layer_mut(&mut self, layer: u8) -> &mut LayerIn {
        let i = match self.layers.iter().position(|l| l.layer == layer) {
            Some(i) => i,
            None => {
                self.layers.push(LayerIn {
                    layer,
                    last_at: None,
                    size: None,
                    window_start: None,
                    window_bytes: 0,
                    bps: None,
                    last_keyframe_request: None,
                });
                self.layers.sort_by_key(|l| l.layer);
                self.layers
                    .iter()
                    .position(|l| l.layer == layer)
                    .unwrap_or_default()
            }
        };
        &mut self.layers[i]
    }

    /// The layers flowing at `now`, lowest first, with their cost.
    pub fn active(&self, now: Instant) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.layers
            .iter()
            .filter(move |l| {
                l.last_at
                    .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
            })
            .map(|l| (l.layer, l.bps.unwrap_or(UNMEASURED_BPS)))
    }

    pub fn top(&self, now: Instant) -> Option<u8> {
        self.active(now).last().map(|(l, _)| l)
    }
}

impl LayerIn {
    pub fn packet(&mut self, now: Instant, bytes: usize, size: Option<(u16, u16)>) {
        self.last_at = Some(now);
        if size.is_some() {
            self.size = size;
        }
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            self.bps = Some(self.window_bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64);
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
        self.window_bytes += bytes as u64;
    }
}

/// How a subscriber's client shows one publisher's video (from its `view` report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileView {
    /// Device pixels the tile takes on screen.
    pub width: u32,
    pub height: u32,
    /// On screen at all (scrolled away, on another page, hidden: no video).
    pub visible: bool,
}

/// One video track a subscriber could receive, as the allocation sees it.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    pub source: TrackSource,
    pub speaking: bool,
    /// The layer its view asks for (None: off-screen).
    pub wanted: Option<u8>,
    /// Active layers, lowest first, and their cost in bits per second.
    pub layers: Vec<(u8, u64)>,
    /// Its video was paused to save bandwidth (not because its tile went off screen): it
    /// comes back like an upgrade, after a calm spell.
    pub paused_for_bandwidth: bool,
}

/// The layer a tile of `view` needs: the lowest whose picture is at least about as wide
/// (and as high) as the tile; the top one when sizes are unknown or nothing is big enough.
pub(crate) fn wanted_layer(view: Option<TileView>, layers: &LayersIn, now: Instant) -> Option<u8> {
    if view.is_some_and(|v| !v.visible || v.width == 0) {
        return None;
    }
    // Nothing arrived yet: the lowest layer (every track has a layer 0) until more is known.
    let top = layers
        .top(now)
        .or(layers.layers.last().map(|l| l.layer))
        .unwrap_or(0);
    let Some(view) = view else {
        return Some(top);
    };
    for (layer, _) in layers.active(now) {
        let size = layers
            .layers
            .iter()
            .find(|l| l.layer == layer)
            .and_then(|l| l.size);
        let Some((w, h)) = size else { continue };
        // A little smaller than the tile is still sharp enough (browsers scale smoothly).
        if u32::from(w) * 5 >= view.width * 4 && u32::from(h) * 5 >= view.height * 4 {
            return Some(layer);
        }
    }
    Some(top)
}

/// The layer each track gets within `budget` bits per second (None: no limit known).
pub(crate) fn allocate(wants: &[Want], budget: Option<u64>, audio_bps: u64) -> Vec<Option<u8>> {
    allocate_with(wants, budget, audio_bps, true)
}

/// [`allocate`], pausing video only if `may_pause` (else lowest layers are the floor).
pub(crate) fn allocate_with(
    wants: &[Want],
    budget: Option<u64>,
    audio_bps: u64,
    may_pause: bool,
) -> Vec<Option<u8>> {
    // Start from what each view asks for, among the layers that flow.
    let mut chosen: Vec<Option<usize>> = wants
        .iter()
        .map(|w| {
            let wanted = w.wanted?;
            if w.layers.is_empty() {
                return None;
            }
            let i = w
                .layers
                .iter()
                .rposition(|(l, _)| *l <= wanted)
                .unwrap_or(0);
            Some(i)
        })
        .collect();
    let result = |chosen: &[Option<usize>]| -> Vec<Option<u8>> {
        wants
            .iter()
            .zip(chosen)
            .map(|(w, c)| match c {
                Some(i) => Some(w.layers[*i].0),
                // A view that asks for a layer not flowing yet keeps asking for it.
                None if w.layers.is_empty() => w.wanted,
                None => None,
            })
            .collect()
    };
    let Some(budget) = budget else {
        return result(&chosen);
    };
    let cost = |chosen: &[Option<usize>]| -> u64 {
        audio_bps
            + wants
                .iter()
                .zip(chosen)
                .filter_map(|(w, c)| c.map(|i| w.layers[i].1))
                .sum::<u64>()
    };
    let camera = |w: &Want| w.source != TrackSource::Screen;
    // Each phase picks the most expensive track it may still cut, until the budget holds.
    type Phase = fn(&Want, usize) -> Option<Option<usize>>;
    let phases: [(bool, Phase); 5] = [
        // Lower non-speakers' cameras.
        (false, |_, i| (i > 0).then(|| Some(i - 1))),
        // Lower speakers' cameras.
        (true, |_, i| (i > 0).then(|| Some(i - 1))),
        // Pause non-speakers' cameras.
        (false, |_, _| Some(None)),
        // Pause speakers' cameras.
        (true, |_, _| Some(None)),
        // A screen share only goes down to its lowest layer.
        (false, |_, i| (i > 0).then(|| Some(i - 1))),
    ];
    for (phase, (speakers, step)) in phases.iter().enumerate() {
        let screens = phase == 4;
        if !may_pause && (phase == 2 || phase == 3) {
            continue;
        }
        while cost(&chosen) > budget {
            let pick = wants
                .iter()
                .zip(&chosen)
                .enumerate()
                .filter(|(_, (w, _))| {
                    if screens {
                        !camera(w)
                    } else {
                        camera(w) && w.speaking == *speakers
                    }
                })
                .filter_map(|(k, (w, c))| {
                    let i = (*c)?;
                    step(w, i).map(|next| (k, next, w.layers[i].1))
                })
                .max_by_key(|(_, _, bps)| *bps);
            let Some((k, next, _)) = pick else { break };
            chosen[k] = next;
        }
    }
    result(&chosen)
}

/// What `choice` (a layer per track, None: paused) costs in bits per second, audio included.
pub(crate) fn cost(wants: &[Want], choice: &[Option<u8>], audio_bps: u64) -> u64 {
    audio_bps
        + wants
            .iter()
            .zip(choice)
            .filter_map(|(w, c)| {
                let c = (*c)?;
                w.layers.iter().find(|(l, _)| *l == c).map(|(_, bps)| *bps)
            })
            .sum::<u64>()
}

/// A subscriber's allocation over time. Layers are cut only when the link shows congestion
/// (loss, or a round trip growing as queues fill); with bandwidth estimation on, the estimate
/// bounds the cut — it is not a ceiling on a healthy link, where str0m's estimate only follows
/// what is sent (measured: 0.6–0.9 × the rate sent on a lossless link). Downgrades happen at
/// once; an upgrade waits for a calm spell, which doubles (up to a minute) each time an
/// upgrade is soon followed by a downgrade, so a link that cannot carry more is not tried
/// every few seconds.
#[derive(Debug)]
pub(crate) struct Allocator {
    last_down: Option<Instant>,
    last_up: Option<Instant>,
    wait: Duration,
    /// Congestion lowered a layer: going up again needs the estimate (raised by str0m's
    /// probes when the link has room) to cover it.
    limited: bool,
    last_probe: Option<Instant>,
    /// The estimator should probe for more now (see [`Allocator::decide`]).
    pub probe: bool,
    /// `Link::reports` at the last decision: a cut is made once per new report.
    last_reports: u64,
}

impl Default for Allocator {
    fn default() -> Self {
        Self {
            last_down: None,
            last_up: None,
            wait: UP_AFTER,
            limited: false,
            last_probe: None,
            probe: false,
            last_reports: 0,
        }
    }
}

/// An upgrade followed by a downgrade within this long counts as a failed try.
const FAILED_TRY: Duration = Duration::from_secs(10);
const WAIT_MAX: Duration = Duration::from_secs(60);

impl Allocator {
    /// The new targets, given the current ones, what is wanted and the downlink estimate.
    pub fn decide(
        &mut self,
        now: Instant,
        current: &[Option<u8>],
        wants: &[Want],
        link: Link,
        audio_bps: u64,
    ) -> Vec<Option<u8>> {
        // Congested: cut to the estimate, or without one to 70 % of what is sent — once per
        // new report of the link (reports come about every second; choices every half), so a
        // report is not acted on twice. Loss alone (no queue growing: random loss on a radio
        // link, which sending less does not cure) lowers layers but pauses nobody.
        let fresh = link.reports != self.last_reports;
        self.last_reports = link.reports;
        let budget = (link.congested() && fresh).then(|| {
            let cut = link.sent * 7 / 10;
            link.estimate.map_or(cut, |e| e.min(link.sent.max(1)))
        });
        let may_pause = link.estimate.is_some() || link.rtt_rise >= RTT_RISE;
        let down = allocate_with(wants, budget, audio_bps, may_pause);
        let up_budget = match (self.limited, link.estimate) {
            // str0m's estimate runs a little under what a link carries: 10 % grace.
            (true, Some(e)) => Some(e + e / 10),
            // Without an estimate, the try itself is the probe (and a failed one doubles
            // the wait before the next).
            _ => None,
        };
        let unlimited = allocate(wants, None, audio_bps);
        let up = match up_budget {
            Some(_) => allocate(wants, up_budget, audio_bps),
            None => unlimited.clone(),
        };
        let calm = !link.congested()
            && self
                .last_down
                .is_none_or(|t| now.saturating_duration_since(t) >= self.wait);
        let rank = |l: Option<u8>| l.map_or(-1, i16::from);
        let (mut lowered, mut raised) = (false, false);
        let decided = current
            .iter()
            .zip(down.iter().zip(&up))
            .zip(wants)
            .map(|((cur, (down, up)), want)| {
                // A tile that starts showing (a new track, a page turned, a tile scrolled
                // back) gets video at once, within the budget.
                if cur.is_none() && want.wanted.is_some() && !want.paused_for_bandwidth {
                    return *down;
                }
                if rank(*down) < rank(*cur) {
                    // A tile that went off-screen, or asks for less, is not a bandwidth matter.
                    if rank(want.wanted) >= rank(*cur) {
                        lowered = true;
                    }
                    return *down;
                }
                if rank(*up) > rank(*cur) && calm {
                    raised = true;
                    return *up;
                }
                *cur
            })
            .collect();
        if up == unlimited && (up_budget.is_some() || link.estimate.is_none()) && calm {
            // Everything wanted fits again (or, without an estimate, is tried again).
            self.limited = false;
        }
        // Held down by the estimate: ask str0m to probe the link (a burst of padding) once
        // per calm spell, rather than trying a layer that may not fit.
        self.probe = self.limited
            && calm
            && up != unlimited
            && self
                .last_probe
                .is_none_or(|t| now.saturating_duration_since(t) >= self.wait);
        if self.probe {
            self.last_probe = Some(now);
        }
        if lowered {
            self.limited = true;
            let soon = self
                .last_up
                .is_some_and(|t| now.saturating_duration_since(t) < FAILED_TRY);
            self.wait = if soon {
                (self.wait * 2).min(WAIT_MAX)
            } else {
                UP_AFTER
            };
            self.last_down = Some(now);
        }
        if raised && self.last_down.is_some() {
            self.last_up = Some(now);
        }
        decided
    }
}

/// What the subscriber's downlink shows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Link {
    /// str0m's estimate (bits per second).
    pub estimate: Option<u64>,
    /// What the current choice sends (bits per second).
    pub sent: u64,
    /// Loss the subscriber reports (0.0 – 1.0).
    pub loss: f32,
    /// The round trip above the lowest seen lately.
    pub rtt_rise: Duration,
    /// How many reports of the link (loss, round trip) came so far.
    pub reports: u64,
}

/// A round trip this much above its lowest means queues are filling.
const RTT_RISE: Duration = Duration::from_millis(150);

impl Link {
    pub fn congested(&self) -> bool {
        self.loss >= 0.05 || self.rtt_rise >= RTT_RISE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam(speaking: bool, wanted: Option<u8>) -> Want {
        Want {
            source: TrackSource::Camera,
            speaking,
            wanted,
            layers: vec![(0, 150_000), (1, 500_000), (2, 1_500_000)],
            paused_for_bandwidth: false,
        }
    }

    #[test]
    fn without_a_limit_every_view_gets_its_layer() {
        let wants = [cam(false, Some(2)), cam(false, Some(0)), cam(false, None)];
        assert_eq!(
            allocate(&wants, None, 0),
            vec![Some(2), Some(0), None],
            "an off-screen tile gets nothing"
        );
    }

    #[test]
    fn a_falling_budget_lowers_layers_then_pauses_non_speakers_and_keeps_the_screen() {
        let screen = Want {
            source: TrackSource::Screen,
            speaking: false,
            wanted: Some(0),
            layers: vec![(0, 800_000)],
            paused_for_bandwidth: false,
        };
        let wants = [cam(true, Some(2)), cam(false, Some(2)), screen];
        let audio = 100_000;
        // Plenty: all as asked.
        assert_eq!(
            allocate(&wants, Some(10_000_000), audio),
            vec![Some(2), Some(2), Some(0)]
        );
        // The non-speaker is lowered first.
        assert_eq!(
            allocate(&wants, Some(3_000_000), audio),
            vec![Some(2), Some(1), Some(0)]
        );
        // Both at their lowest before anyone pauses.
        assert_eq!(
            allocate(&wants, Some(1_300_000), audio),
            vec![Some(0), Some(0), Some(0)]
        );
        // Then the non-speaker pauses, the speaker stays.
        assert_eq!(
            allocate(&wants, Some(1_100_000), audio),
            vec![Some(0), None, Some(0)]
        );
        // The screen share is never paused.
        assert_eq!(
            allocate(&wants, Some(100_000), audio),
            vec![None, None, Some(0)]
        );
    }

    #[test]
    fn only_congestion_lowers_and_the_estimate_must_cover_an_upgrade() {
        let t0 = Instant::now();
        let wants = [cam(false, Some(2))];
        let mut a = Allocator::default();
        let healthy = Link {
            estimate: Some(800_000),
            sent: 1_500_000,
            ..Link::default()
        };
        // An estimate under what is sent, on a link without loss: nothing changes.
        assert_eq!(a.decide(t0, &[Some(2)], &wants, healthy, 0), vec![Some(2)]);
        let lossy = Link {
            loss: 0.1,
            estimate: Some(600_000),
            ..healthy
        };
        let cur = a.decide(
            t0,
            &[Some(2)],
            &wants,
            Link {
                reports: 1,
                ..lossy
            },
            0,
        );
        assert_eq!(cur, vec![Some(1)], "down at once");
        // Healthy again, but too soon after a downgrade.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(a.decide(t1, &cur, &wants, healthy, 0), vec![Some(1)]);
        assert!(!a.probe);
        // Calm, but the estimate does not cover the top layer: no try, a probe instead (once
        // per calm spell).
        let t2 = t0 + UP_AFTER;
        assert_eq!(a.decide(t2, &cur, &wants, healthy, 0), vec![Some(1)]);
        assert!(a.probe);
        assert_eq!(
            a.decide(t2 + Duration::from_millis(500), &cur, &wants, healthy, 0),
            vec![Some(1)]
        );
        assert!(!a.probe);
        // The probe found room: up.
        let roomy = Link {
            estimate: Some(1_600_000),
            ..healthy
        };
        let up = a.decide(t2 + Duration::from_secs(1), &cur, &wants, roomy, 0);
        assert_eq!(up, vec![Some(2)]);
        // Congested soon after: down, and the next upgrade waits twice as long.
        let t3 = t2 + Duration::from_secs(2);
        let cur = a.decide(
            t3,
            &up,
            &wants,
            Link {
                reports: 2,
                ..lossy
            },
            0,
        );
        assert_eq!(cur, vec![Some(1)]);
        assert_eq!(
            a.decide(t3 + UP_AFTER, &cur, &wants, roomy, 0),
            vec![Some(1)]
        );
        assert_eq!(
            a.decide(t3 + UP_AFTER * 2, &cur, &wants, roomy, 0),
            vec![Some(2)]
        );
    }

    #[test]
    fn a_tile_that_starts_showing_gets_video_at_once_even_on_a_congested_link() {
        let t0 = Instant::now();
        let mut a = Allocator::default();
        let lossy = Link {
            loss: 0.1,
            estimate: Some(2_000_000),
            sent: 1_500_000,
            ..Link::default()
        };
        let wants = [cam(false, Some(2))];
        let cur = a.decide(t0, &[Some(2)], &wants, lossy, 0);
        assert_eq!(cur, vec![Some(2)], "within the estimate: kept");
        // A page turned: a tile not shown before, now wanted, starts at once (within budget).
        let shown = [cam(false, Some(2)), cam(false, Some(0))];
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(
            a.decide(t1, &[Some(2), None], &shown, lossy, 0),
            vec![Some(2), Some(0)]
        );
        // One paused for bandwidth waits for a calm spell instead.
        let mut paused = shown.clone();
        paused[1].paused_for_bandwidth = true;
        assert_eq!(
            a.decide(t1, &[Some(2), None], &paused, lossy, 0),
            vec![Some(2), None]
        );
    }

    #[test]
    fn without_an_estimate_each_report_cuts_once_and_loss_alone_pauses_nobody() {
        let t0 = Instant::now();
        let wants = [cam(false, Some(2)), cam(false, Some(2))];
        let mut a = Allocator::default();
        // 3.2 Mbit/s sent, 10 % loss, no queue growing: 70 % = 2.24 Mbit/s.
        let lossy = Link {
            loss: 0.1,
            sent: 3_200_000,
            reports: 1,
            ..Link::default()
        };
        let cur = a.decide(t0, &[Some(2), Some(2)], &wants, lossy, 0);
        assert_eq!(cur, vec![Some(2), Some(1)]);
        // The same report again (choices come twice as often as reports): no second cut.
        let half = t0 + Duration::from_millis(500);
        assert_eq!(
            a.decide(
                half,
                &cur,
                &wants,
                Link {
                    sent: 2_000_000,
                    ..lossy
                },
                0
            ),
            cur
        );
        // Report after report of the same loss: layers go down to the lowest, no further.
        let mut cur = cur;
        for r in 2..10 {
            let sent = 150_000 * 2 + 500_000;
            let t = t0 + Duration::from_secs(r);
            cur = a.decide(
                t,
                &cur,
                &wants,
                Link {
                    sent,
                    reports: r,
                    ..lossy
                },
                0,
            );
        }
        assert_eq!(cur, vec![Some(0), Some(0)], "loss alone pauses nobody");
        // A queue growing too: now video may pause.
        let queued = Link {
            rtt_rise: Duration::from_millis(300),
            sent: 300_000,
            reports: 20,
            ..lossy
        };
        let cur = a.decide(t0 + Duration::from_secs(20), &cur, &wants, queued, 0);
        assert!(cur.contains(&None), "{cur:?}");
    }
}
