//! One participant's WebRTC session inside the SFU: its str0m `Rtc`, the tracks it publishes,
//! the tracks it subscribes to, and the state of the server-driven SDP negotiation.
//!
//! A `Peer` never touches another peer; what must reach others is returned as [`Propagate`]
//! items that the [`crate::Sfu`] routes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use plenary_proto::{Audience, Forwarding, MediaKind, ParticipantId, RoomId, TrackSource};
use str0m::bwe::BweKind;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, Mid, Pt};
use str0m::net::Protocol;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use crate::error::MediaError;
use crate::layers::{Allocator, LayersIn, TileView};
use crate::rewrite::Rewriter;
use crate::rtp::InPacket;
use crate::sfu::{SfuEvent, SfuOutput, Transmit, Transport};
use crate::stats::ParticipantStats;

/// At most one keyframe request per published track in this window, except when a new
/// subscriber joins (it needs a keyframe to show anything at all).
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// str0m's defaults for the resend cache's packet bound and its resend-flood guard (resends are
/// dropped once they exceed 15 % of what is sent).
const RESEND_MAX_PACKETS: usize = 1000;
const RESEND_RATIO_CAP: f32 = 0.15;

/// The lowest round trip over two windows of this length (the current and the last).
const MIN_RTT_WINDOW: Duration = Duration::from_secs(15);

/// The lowest round trip lately: the minimum of the current window and the one before.
#[derive(Debug, Default)]
pub(crate) struct MinRtt {
    current: Option<(Duration, Instant)>,
    previous: Option<Duration>,
}

impl MinRtt {
    pub fn sample(&mut self, now: Instant, rtt: Duration) {
        match self.current {
            Some((_, since)) if now.saturating_duration_since(since) >= MIN_RTT_WINDOW => {
                self.previous = self.current.map(|(m, _)| m);
                self.current = Some((rtt, now));
            }
            Some((m, since)) => self.current = Some((m.min(rtt), since)),
            None => self.current = Some((rtt, now)),
        }
    }

    pub fn baseline(&self) -> Option<Duration> {
        match (self.current.map(|(m, _)| m), self.previous) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The shortest wait the SFU asks for between timer runs of one session.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// What one peer's output means for the others.
// Packets are nearly all of what propagates, through one reused buffer: boxing them would
// cost an allocation per packet to save space that is not held anyway.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Propagate {
    /// A packet to forward to every subscriber of this track.
    Media(InPacket),
    /// A subscriber asks the publisher of `source_mid` for a keyframe of `layer` (the one it
    /// receives or waits for).
    KeyframeRequest {
        publisher: ParticipantId,
        source_mid: Mid,
        layer: Option<u8>,
        kind: KeyframeRequestKind,
    },
    /// This peer started publishing a track.
    TrackPublished {
        mid: Mid,
        kind: MediaKind,
        source: TrackSource,
    },
}

/// A track this peer publishes (received by the SFU).
#[derive(Debug)]
pub(crate) struct TrackIn {
    pub mid: Mid,
    pub kind: MediaKind,
    pub source: TrackSource,
    /// The others were told of it (a screen track only once it first carries media, so that
    /// the transceivers a client keeps ready for sharing cost nobody anything until used).
    pub announced: bool,
    /// Its encodings (one without simulcast), as they arrive.
    pub layers: LayersIn,
    /// The simulcast rids the client offered, in its order.
    rids: Vec<String>,
}

/// A track of another participant that this peer receives.
#[derive(Debug)]
pub(crate) struct TrackOut {
    pub publisher: ParticipantId,
    pub source_mid: Mid,
    pub kind: MediaKind,
    pub source: TrackSource,
    pub state: TrackOutState,
    /// The publisher left: stop this transceiver at the next negotiation.
    pub source_gone: bool,
    /// Which layer goes out, and the numbering that hides switches.
    pub rewriter: Rewriter,
    /// How the client shows this track (None: not reported; the top layer is sent).
    pub view: Option<TileView>,
    /// The publisher's payload type last seen, and this subscriber's for the same codec.
    pt_map: Option<(Pt, Pt)>,
    /// The rewriter's (forwarded, holes) at the last egress statistics.
    counted: (u64, u64),
    /// Its video is paused to save the subscriber's bandwidth (see `layers::Want`).
    pub paused_for_bandwidth: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackOutState {
    /// Needs an m-line: will be in the next server offer.
    ToOpen,
    /// In an offer that awaits the answer.
    Negotiating(Mid),
    /// Negotiated: media is forwarded on this mid.
    Open(Mid),
    ToStop(Mid),
    NegotiatingStop(Mid),
}

#[derive(Debug)]
pub(crate) struct Peer {
    pub id: ParticipantId,
    pub room: RoomId,
    pub rtc: Rtc,
    /// The time of the last input given to `rtc`.
    pub last_now: Instant,
    pub next_timeout: Instant,
    /// Queued for draining by the SFU.
    pub dirty: bool,
    /// The client's first offer has been answered; only then does the server offer.
    initial_negotiated: bool,
    pending: Option<SdpPendingOffer>,
    pub tracks_in: Vec<TrackIn>,
    pub tracks_out: Vec<TrackOut>,
    pub stats: ParticipantStats,
    /// Latest NACK counts per mid, as str0m reports them (ingress, egress).
    nack_counts: Vec<(Mid, u64, u64)>,
    /// The rtc stopped: the SFU removes this peer.
    pub dead: bool,
    /// See [`crate::SfuConfig::resend_history`].
    resend_history: Duration,
    /// What of this peer's media is forwarded, to whom; whether it receives as a moderator.
    pub forwarding: Forwarding,
    /// Whether its microphone carries voice now.
    pub speaking: crate::speaking::Speaking,
    /// Which publisher stream (SSRC) is which track and layer, learnt from the first packet.
    ssrcs: Vec<(Ssrc, Mid, u8)>,
    /// The downlink's estimated bandwidth (bits per second), from TWCC feedback.
    pub estimate: Option<u64>,
    pub allocator: Allocator,
    /// When its layers are next chosen again.
    pub next_allocation: Instant,
    /// The lowest round trip of the last 15–30 s (a rise above it means queues are filling;
    /// a new network path with a longer round trip becomes the baseline within 30 s).
    pub min_rtt: MinRtt,
    /// Reports of the downlink (loss, round trip) so far.
    pub link_reports: u64,
    /// How its client shows each publisher's sources, kept for tracks opened later.
    pub views: HashMap<(ParticipantId, TrackSource), TileView>,
}

impl Peer {
    pub fn new(
        id: ParticipantId,
        room: RoomId,
        rtc: Rtc,
        now: Instant,
        resend_history: Duration,
    ) -> Self {
        Self {
            id,
            room,
            rtc,
            last_now: now,
            next_timeout: now,
            dirty: true,
            initial_negotiated: false,
            pending: None,
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            stats: ParticipantStats::default(),
            nack_counts: Vec::new(),
            dead: false,
            resend_history,
            forwarding: Forwarding::default(),
            speaking: crate::speaking::Speaking::default(),
            ssrcs: Vec::new(),
            estimate: None,
            allocator: Allocator::default(),
            next_allocation: now,
            min_rtt: MinRtt::default(),
            link_reports: 0,
            views: HashMap::new(),
        }
    }

    /// Brings the rtc's clock to `now` before any other input (str0m expects time to be fed
    /// before it is asked to act).
    pub fn touch(&mut self, now: Instant) {
        if now > self.last_now {
            self.tick(now);
        }
    }

    /// Runs the rtc's timers at `now` (even if it already saw `now`: str0m may ask for a
    /// timeout at the current instant).
    pub fn tick(&mut self, now: Instant) {
        if self.dead {
            return;
        }
        self.last_now = self.last_now.max(now);
        if let Err(e) = self.rtc.handle_input(Input::Timeout(self.last_now)) {
            self.fail(&e.to_string());
        }
    }

    pub fn subscribe(
        &mut self,
        publisher: ParticipantId,
        source_mid: Mid,
        kind: MediaKind,
        source: TrackSource,
    ) {
        self.tracks_out.push(TrackOut {
            publisher,
            source_mid,
            kind,
            source,
            state: TrackOutState::ToOpen,
            source_gone: false,
            // Audio has one layer; video waits for the allocation, made when it opens.
            rewriter: Rewriter::new((kind == MediaKind::Audio).then_some(0)),
            view: self.views.get(&(publisher, source)).copied(),
            pt_map: None,
            counted: (0, 0),
            paused_for_bandwidth: false,
        });
    }

    /// The publisher left: its tracks stop. Returns the events the client should see.
    pub fn unsubscribe_all_from(
        &mut self,
        publisher: ParticipantId,
        out: &mut VecDeque<SfuOutput>,
    ) {
        let me = self.id;
        self.tracks_out.retain_mut(|t| {
            if t.publisher != publisher {
                return true;
            }
            let mid = match t.state {
                TrackOutState::ToOpen => return false,
                TrackOutState::Negotiating(m) | TrackOutState::Open(m) => m,
                TrackOutState::ToStop(_) | TrackOutState::NegotiatingStop(_) => return true,
            };
            out.push_back(SfuOutput::Event(SfuEvent::TrackRemoved {
                participant: me,
                publisher,
                kind: t.kind,
                mid: mid.to_string(),
                source: t.source,
            }));
            t.source_gone = true;
            if let TrackOutState::Open(m) = t.state {
                t.state = TrackOutState::ToStop(m);
            }
            true
        });
    }

    pub fn handle_offer(&mut self, sdp: &str) -> Result<String, MediaError> {
        if self.pending.is_some() {
            return Err(MediaError::Glare);
        }
        let offer =
            SdpOffer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| MediaError::Negotiation(e.to_string()))?;
        self.initial_negotiated = true;
        Ok(answer.to_sdp_string())
    }

    /// Accepts the client's answer to the server's offer. Returns the video tracks that just
    /// opened, whose publishers must be asked for a keyframe.
    pub fn handle_answer(&mut self, sdp: &str) -> Result<Vec<(ParticipantId, Mid)>, MediaError> {
        if self.pending.is_none() {
            return Err(MediaError::NoPendingOffer);
        }
        // A garbled answer keeps the offer outstanding, so a corrected answer can still land.
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let Some(pending) = self.pending.take() else {
            return Err(MediaError::NoPendingOffer);
        };
        if let Err(e) = self.rtc.sdp_api().accept_answer(pending, answer) {
            // str0m dropped the pending change: plan it again for the next offer.
            for t in &mut self.tracks_out {
                t.state = match t.state {
                    TrackOutState::Negotiating(_) => TrackOutState::ToOpen,
                    TrackOutState::NegotiatingStop(m) => TrackOutState::ToStop(m),
                    s => s,
                };
            }
            return Err(MediaError::Negotiation(e.to_string()));
        }
        let mut opened = Vec::new();
        for t in &mut self.tracks_out {
            if let TrackOutState::Negotiating(m) = t.state {
                t.state = TrackOutState::Open(m);
                unpaced(&mut self.rtc, m);
                if t.kind == MediaKind::Video {
                    limit_resend_history(&mut self.rtc, m, self.resend_history);
                    if !t.source_gone {
                        opened.push((t.publisher, t.source_mid));
                    }
                }
            }
        }
        self.tracks_out
            .retain(|t| !matches!(t.state, TrackOutState::NegotiatingStop(_)));
        Ok(opened)
    }

    /// Starts a server offer if tracks need adding or stopping and no offer is outstanding.
    fn negotiate(&mut self, out: &mut VecDeque<SfuOutput>) {
        if !self.initial_negotiated || self.pending.is_some() {
            return;
        }
        for t in &mut self.tracks_out {
            if let (TrackOutState::Open(m), true) = (t.state, t.source_gone) {
                t.state = TrackOutState::ToStop(m);
            }
        }
        let mut api = self.rtc.sdp_api();
        let mut added = Vec::new();
        for t in &mut self.tracks_out {
            match t.state {
                TrackOutState::ToOpen => {
                    // The msid stream id names the publisher, so a browser's `ontrack` event
                    // carries it in `streams[0].id`.
                    let stream = t.publisher.to_string();
                    let track = format!("{}-{}", t.publisher, t.source.name());
                    let mid = api.add_media(
                        str0m_kind(t.kind),
                        Direction::SendOnly,
                        Some(stream),
                        Some(track),
                        None,
                    );
                    t.state = TrackOutState::Negotiating(mid);
                    added.push((t.publisher, t.kind, mid, t.source));
                }
                TrackOutState::ToStop(mid) => {
                    api.stop_media(mid);
                    t.state = TrackOutState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        self.pending = Some(pending);
        for (publisher, kind, mid, source) in added {
            out.push_back(SfuOutput::Event(SfuEvent::TrackAdded {
                participant: self.id,
                publisher,
                kind,
                mid: mid.to_string(),
                source,
            }));
        }
        out.push_back(SfuOutput::Event(SfuEvent::Offer {
            participant: self.id,
            sdp: offer.to_sdp_string(),
        }));
    }

    /// Negotiates if needed, then drains the rtc until it asks for a timeout (str0m's run-loop
    /// rule). Datagrams and client-facing events go to `out`, cross-peer work to `props`.
    pub fn poll(&mut self, out: &mut VecDeque<SfuOutput>, props: &mut Vec<Propagate>) {
        if self.dead {
            return;
        }
        self.negotiate(out);
        let quiet = if self.forwarding.microphone == Audience::Nobody {
            self.speaking.reset(self.last_now)
        } else {
            self.speaking.update(self.last_now)
        };
        if let Some(speaking) = quiet {
            out.push_back(SfuOutput::Event(SfuEvent::Speaking {
                participant: self.id,
                speaking,
            }));
        }
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    // str0m can ask to be woken "now"; a 1 ms floor keeps a caller that
                    // sleeps until the timeout from spinning.
                    self.next_timeout = t.max(self.last_now + MIN_TIMEOUT);
                    break;
                }
                Ok(Output::Transmit(t)) => out.push_back(SfuOutput::Transmit(Transmit {
                    transport: if t.proto == Protocol::Udp {
                        Transport::Udp
                    } else {
                        Transport::Tcp
                    },
                    destination: t.destination,
                    contents: t.contents.into(),
                })),
                Ok(Output::Event(e)) => self.handle_event(e, out, props),
                Err(e) => {
                    self.fail(&e.to_string());
                    break;
                }
            }
        }
        if !self.rtc.is_alive() {
            self.dead = true;
        }
    }

    fn handle_event(
        &mut self,
        event: Event,
        out: &mut VecDeque<SfuOutput>,
        props: &mut Vec<Propagate>,
    ) {
        match event {
            Event::Connected => {
                self.stats.connected = true;
                out.push_back(SfuOutput::Event(SfuEvent::Connected {
                    participant: self.id,
                }));
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                // As an ICE-lite server we cannot restart ICE; the client rejoins instead.
                self.fail("ICE disconnected");
            }
            Event::MediaAdded(m) if m.direction.is_receiving() => {
                let kind = proto_kind(m.kind);
                let earlier = self.tracks_in.iter().filter(|t| t.kind == kind).count();
                let Some(source) = TrackSource::nth(kind, earlier) else {
                    tracing::debug!(participant = %self.id, mid = %m.mid, "a track beyond the camera, microphone and screen: ignored");
                    return;
                };
                let announced = !source.on_first_media();
                let rids = m
                    .simulcast
                    .map(|s| s.recv.iter().map(|l| l.rid.to_string()).collect())
                    .unwrap_or_default();
                self.tracks_in.push(TrackIn {
                    mid: m.mid,
                    kind,
                    source,
                    announced,
                    layers: LayersIn::default(),
                    rids,
                });
                if announced {
                    props.push(Propagate::TrackPublished {
                        mid: m.mid,
                        kind,
                        source,
                    });
                }
            }
            Event::RtpPacket(p) => self.packet_in(p, out, props),
            Event::KeyframeRequest(req) => {
                self.stats.keyframe_requests_received += 1;
                if let Some(t) = self
                    .tracks_out
                    .iter()
                    .find(|t| track_mid(t) == Some(req.mid))
                {
                    props.push(Propagate::KeyframeRequest {
                        publisher: t.publisher,
                        source_mid: t.source_mid,
                        layer: t.rewriter.target().or(t.rewriter.current()),
                        kind: req.kind,
                    });
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.estimate = Some(estimate.as_u64());
            }
            Event::MediaIngressStats(s) => {
                self.stats.loss_in = s.loss.or(self.stats.loss_in);
                self.record_nacks(s.mid, Some(s.nacks), None);
            }
            Event::MediaEgressStats(s) => {
                // The subscriber's loss, less what never reached the SFU: a publisher's lost
                // packets are forwarded as gaps (the receiver may repair them from FEC, or
                // ask again), so they show in every receiver's report.
                let upstream = self
                    .tracks_out
                    .iter_mut()
                    .find(|t| track_mid(t) == Some(s.mid))
                    .map_or(0.0, |t| {
                        let (fwd, holes) = (t.rewriter.forwarded, t.rewriter.holes);
                        let (dfwd, dholes) = (
                            fwd.saturating_sub(t.counted.0),
                            holes.saturating_sub(t.counted.1),
                        );
                        t.counted = (fwd, holes);
                        if dfwd + dholes == 0 {
                            0.0
                        } else {
                            dholes as f32 / (dfwd + dholes) as f32
                        }
                    });
                let loss = s.loss.map(|l| (l - upstream).max(0.0));
                if loss.is_some() {
                    self.link_reports += 1;
                }
                self.stats.loss_out = loss.or(self.stats.loss_out);
                self.record_nacks(s.mid, None, Some(s.nacks));
            }
            Event::PeerStats(s) => {
                self.stats.bytes_in = s.peer_bytes_rx;
                self.stats.bytes_out = s.peer_bytes_tx;
                self.stats.rtt = s.rtt.or(self.stats.rtt);
                if let Some(rtt) = s.rtt {
                    self.min_rtt.sample(self.last_now, rtt);
                    self.link_reports += 1;
                }
            }
            _ => {}
        }
    }

    /// One RTP packet from this peer as a publisher: which track and layer it is, what it
    /// says of speaking, and on to the others.
    fn packet_in(
        &mut self,
        p: RtpPacket,
        out: &mut VecDeque<SfuOutput>,
        props: &mut Vec<Propagate>,
    ) {
        let ssrc = p.header.ssrc;
        let known = self.ssrcs.iter().find(|(s, _, _)| *s == ssrc).copied();
        let (mid, layer) = match known {
            Some((_, mid, layer)) => (mid, layer),
            None => {
                let mut api = self.rtc.direct_api();
                let Some(rx) = api.stream_rx(&ssrc) else {
                    return;
                };
                let (mid, rid) = (rx.mid(), rx.rid());
                let Some(t) = self.tracks_in.iter().find(|t| t.mid == mid) else {
                    return;
                };
                let layer = crate::rtp::layer_of(rid.as_deref(), &t.rids);
                // A layer whose SSRC changed (the browser restarted that encoder) keeps one
                // entry: the new SSRC.
                match self
                    .ssrcs
                    .iter_mut()
                    .find(|(_, m, l)| *m == mid && *l == layer)
                {
                    Some(entry) => entry.0 = ssrc,
                    None => self.ssrcs.push((ssrc, mid, layer)),
                }
                (mid, layer)
            }
        };
        let Some(params) = self
            .rtc
            .codec_config()
            .find(|c| c.pt() == p.header.payload_type)
            .copied()
        else {
            return;
        };
        let packet = InPacket::new(mid, layer, params, p);
        self.stats.packets_in += 1;
        let Some(t) = self.tracks_in.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        t.layers.layer_mut(layer).packet(
            self.last_now,
            packet.payload.len(),
            packet.keyframe_size(),
        );
        if t.source == TrackSource::Microphone
            && self.forwarding.microphone != Audience::Nobody
            && let Some(level) = packet.audio_level
            && let Some(speaking) = self.speaking.level(self.last_now, level)
        {
            out.push_back(SfuOutput::Event(SfuEvent::Speaking {
                participant: self.id,
                speaking,
            }));
        }
        if !t.announced {
            t.announced = true;
            props.push(Propagate::TrackPublished {
                mid: t.mid,
                kind: t.kind,
                source: t.source,
            });
        }
        props.push(Propagate::Media(packet));
    }

    fn record_nacks(&mut self, mid: Mid, ingress: Option<u64>, egress: Option<u64>) {
        let entry = match self.nack_counts.iter_mut().find(|(m, _, _)| *m == mid) {
            Some(e) => e,
            None => {
                self.nack_counts.push((mid, 0, 0));
                let last = self.nack_counts.len() - 1;
                &mut self.nack_counts[last]
            }
        };
        if let Some(n) = ingress {
            entry.1 = n;
        }
        if let Some(n) = egress {
            entry.2 = n;
        }
        self.stats.nacks_sent = self.nack_counts.iter().map(|e| e.1).sum();
        self.stats.nacks_received = self.nack_counts.iter().map(|e| e.2).sum();
    }

    /// Asks this peer (as a publisher) for a keyframe on `mid`, of `layer` (every layer when
    /// None). Unless `force`, at most once per [`KEYFRAME_REQUEST_INTERVAL`] per layer.
    /// Returns whether a request was sent.
    pub fn request_keyframe(
        &mut self,
        mid: Mid,
        layer: Option<u8>,
        kind: KeyframeRequestKind,
        force: bool,
    ) -> bool {
        let now = self.last_now;
        let Some(track) = self.tracks_in.iter_mut().find(|t| t.mid == mid) else {
            return false;
        };
        let mut sent = false;
        for l in track
            .layers
            .layers
            .iter_mut()
            .filter(|l| layer.is_none_or(|x| x == l.layer))
        {
            let recent = l
                .last_keyframe_request
                .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL);
            if recent && !force {
                continue;
            }
            // Known once the layer's first packet arrived; that first frame is a keyframe.
            let Some((ssrc, _, _)) = self
                .ssrcs
                .iter()
                .find(|(_, m, x)| *m == mid && *x == l.layer)
            else {
                continue;
            };
            let mut api = self.rtc.direct_api();
            let Some(rx) = api.stream_rx(ssrc) else {
                continue;
            };
            rx.request_keyframe(kind);
            l.last_keyframe_request = Some(now);
            self.stats.keyframe_requests_sent += 1;
            sent = true;
        }
        sent
    }

    /// Who may receive what this peer publishes on `mid` (nobody for a mid it does not publish).
    pub fn audience(&self, mid: Mid) -> Audience {
        self.tracks_in
            .iter()
            .find(|t| t.mid == mid)
            .map_or(Audience::Nobody, |t| self.forwarding.audience(t.source))
    }

    /// Which publishers' microphones this peer receives (the others pause).
    pub fn set_microphones(&mut self, on: impl Fn(ParticipantId) -> bool) {
        for t in self
            .tracks_out
            .iter_mut()
            .filter(|t| t.source == TrackSource::Microphone)
        {
            t.rewriter.set_target(on(t.publisher).then_some(0));
        }
    }

    /// Forwards `p` from `publisher` if this peer receives that track (and layer); returns
    /// whether a packet was written, i.e. whether the session must be polled. str0m is only
    /// touched when something is written: reaching a stream re-polls the whole session.
    pub fn forward(&mut self, publisher: ParticipantId, p: &InPacket) -> bool {
        let Peer {
            rtc,
            tracks_out,
            stats,
            ..
        } = self;
        let Some(t) = tracks_out
            .iter_mut()
            .find(|t| t.publisher == publisher && t.source_mid == p.mid)
        else {
            return false;
        };
        let TrackOutState::Open(mid) = t.state else {
            return false;
        };
        // Map the publisher's payload type to the one negotiated with this subscriber.
        let pt = match t.pt_map {
            Some((from, to)) if from == p.params.pt() => to,
            _ => {
                let Some(to) = rtc.codec_config().match_params(p.params).map(|c| c.pt()) else {
                    return false;
                };
                t.pt_map = Some((p.params.pt(), to));
                to
            }
        };
        let video = p.is_video();
        let holes = t.rewriter.holes;
        let mut written = false;
        t.rewriter.offer(p, &mut |p, w| {
            let mut api = rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                return;
            };
            let ext_vals = ExtensionValues {
                audio_level: p.audio_level,
                voice_activity: p.voice_activity,
                video_orientation: p.video_orientation,
                ..ExtensionValues::default()
            };
            let mut write = RtpWrite::new(pt, w.seq.into(), w.time, p.arrived, p.payload.clone())
                .marker(p.marker)
                .nackable(video)
                .ext_vals(ext_vals);
            if let Some(patch) = w.vp8 {
                write = write.vp8_patch(patch);
            }
            tx.write_rtp(write);
            stats.packets_out += 1;
            written = true;
        });
        stats.packets_missing_upstream = stats
            .packets_missing_upstream
            .saturating_add(t.rewriter.holes)
            .saturating_sub(holes);
        written
    }

    fn fail(&mut self, why: &str) {
        if !self.dead {
            tracing::info!(participant = %self.id, reason = why, "media session ends");
        }
        self.rtc.disconnect();
        self.dead = true;
    }
}

/// Sends `mid`'s packets as they are forwarded, not held to a pacer's rate (forwarded media
/// was paced by its sender already; with bandwidth estimation on, str0m's pacer follows an
/// estimate that on a link that is not full only tracks what is sent).
fn unpaced(rtc: &mut Rtc, mid: Mid) {
    let mut api = rtc.direct_api();
    if let Some(tx) = api.stream_tx_by_mid(mid, None) {
        tx.set_unpaced(true);
    }
}

/// Keeps `mid`'s sent packets for `history` instead of str0m's 3 s. str0m sets its cache up
/// when the track is negotiated, so this runs right after the answer lands.
fn limit_resend_history(rtc: &mut Rtc, mid: Mid, history: Duration) {
    let mut api = rtc.direct_api();
    if let Some(tx) = api.stream_tx_by_mid(mid, None) {
        tx.set_rtx_cache(RESEND_MAX_PACKETS, history, Some(RESEND_RATIO_CAP));
    }
}

fn track_mid(t: &TrackOut) -> Option<Mid> {
    match t.state {
        TrackOutState::ToOpen => None,
        TrackOutState::Negotiating(m)
        | TrackOutState::Open(m)
        | TrackOutState::ToStop(m)
        | TrackOutState::NegotiatingStop(m) => Some(m),
    }
}

pub(crate) fn proto_kind(k: str0m::media::MediaKind) -> MediaKind {
    match k {
        str0m::media::MediaKind::Audio => MediaKind::Audio,
        str0m::media::MediaKind::Video => MediaKind::Video,
    }
}

fn str0m_kind(k: MediaKind) -> str0m::media::MediaKind {
    match k {
        MediaKind::Audio => str0m::media::MediaKind::Audio,
        MediaKind::Video => str0m::media::MediaKind::Video,
    }
}
