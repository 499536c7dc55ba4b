//! The SFU: routes datagrams to the right peer, forwards media within rooms, and turns what
//! peers produce into outputs for the shell.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plenary_proto::{Audience, Forwarding, MediaKind, ParticipantId, RoomId, TrackSource};
use str0m::crypto::CryptoProvider;
use str0m::crypto::dtls::DtlsCert;
use str0m::media::{KeyframeRequestKind, Mid};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Input, Rtc};

use crate::error::MediaError;
use crate::layers::{Link, TileView, Want, allocate, cost, wanted_layer};
use crate::peer::{Peer, Propagate, TrackOutState};
use crate::record::RoomRecorder;
use crate::stats::ParticipantStats;

/// Datagrams that no peer accepts yet (a STUN check racing its peer's creation) are held this
/// long and retried when a peer is added, instead of being dropped (which costs the browser
/// 250 ms – 1 s of retransmits).
const HOLD_FOR: Duration = Duration::from_secs(3);
const HOLD_MAX: usize = 256;

/// libwebrtc's own floor for its send history (it keeps max(1 s, 3 × RTT)); str0m's default
/// is 3 s, which triples the memory of every video subscription.
pub const DEFAULT_RESEND_HISTORY: Duration = Duration::from_secs(1);

/// Rooms with more microphones than this forward only the loudest few.
pub const DEFAULT_LOUDEST_ABOVE: usize = 10;
/// How many: a 100-person meeting costs each receiver five audio decoders.
pub const DEFAULT_LOUDEST_AUDIO: usize = 5;

/// How often each subscriber's layers are chosen again (views and estimates also trigger it).
const ALLOCATE_EVERY: Duration = Duration::from_millis(500);

/// The downlink estimate a session starts from, before TWCC feedback tells better: enough for
/// a full-size camera and a few thumbnails, so a meeting starts sharp and falls back if not.
const INITIAL_ESTIMATE_KBPS: u64 = 2_500;

/// How the SFU presents itself.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The one address announced as a host ICE candidate: the UDP socket's port on the
    /// address clients can reach (`PLENARY_PUBLIC_IP`). The SFU runs ICE-lite.
    pub candidate_addr: SocketAddr,
    /// How often str0m reports transport statistics.
    pub stats_interval: Duration,
    /// Whether the same address is also announced as a passive ICE-TCP candidate (RFC 6544),
    /// for browsers whose UDP is blocked; the shell then accepts TCP connections on the port
    /// and frames packets as RFC 4571 says.
    pub tcp: bool,
    /// How long each outgoing video packet is kept for resending on a NACK. The payload is
    /// shared with the incoming packet (RTP mode), so a subscriber's history holds headers and
    /// a reference; a NACK older than about three round trips repairs nothing a viewer would
    /// still see.
    pub resend_history: Duration,
    /// In a room with more microphones than [`SfuConfig::loudest_above`], only this many
    /// (the loudest) are forwarded to each receiver.
    pub loudest_audio: usize,
    pub loudest_above: usize,
    /// Whether str0m estimates each downlink's bandwidth from TWCC feedback (and probes it).
    /// Off by default: with it on, str0m 0.25 delayed forwarded media by 0.5 – 2 s under load
    /// (audio to 50 listeners, docs/performance.md), pacing or not; layers then follow
    /// congestion alone (loss and round trip), cutting to 70 % of what is sent at a time.
    pub estimate_bandwidth: bool,
}

impl SfuConfig {
    pub fn new(candidate_addr: SocketAddr) -> Self {
        Self {
            candidate_addr,
            stats_interval: Duration::from_secs(1),
            tcp: false,
            resend_history: DEFAULT_RESEND_HISTORY,
            loudest_audio: DEFAULT_LOUDEST_AUDIO,
            loudest_above: DEFAULT_LOUDEST_ABOVE,
            estimate_bandwidth: false,
        }
    }
}

/// How a packet travels between the SFU and a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A datagram on the media UDP socket.
    Udp,
    /// A packet on the TCP connection the browser opened to the media port (ICE-TCP).
    Tcp,
}

impl Transport {
    fn proto(self) -> Protocol {
        match self {
            Transport::Udp => Protocol::Udp,
            Transport::Tcp => Protocol::Tcp,
        }
    }
}

/// A packet to send from the SFU: a datagram, or one framed packet on a TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub transport: Transport,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// What the SFU tells the signalling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuEvent {
    /// Send this server offer to the participant; their answer goes to [`Sfu::handle_answer`].
    Offer {
        participant: ParticipantId,
        sdp: String,
    },
    /// `participant` will receive `publisher`'s track on transceiver `mid`.
    TrackAdded {
        participant: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
        mid: String,
        /// What the track carries (the publisher's microphone, camera, screen…).
        source: TrackSource,
    },
    /// That track ended.
    TrackRemoved {
        participant: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
        mid: String,
        source: TrackSource,
    },
    /// ICE and DTLS are up.
    Connected { participant: ParticipantId },
    /// The participant started or stopped speaking (from their microphone's audio level).
    Speaking {
        participant: ParticipantId,
        speaking: bool,
    },
    /// The participant's media session ended on its own (ICE consent lost, DTLS failure); the
    /// SFU already removed them.
    Disconnected { participant: ParticipantId },
}

/// One output of [`Sfu::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuOutput {
    Transmit(Transmit),
    Event(SfuEvent),
    /// A frame of a room being recorded (see [`Sfu::set_recording`]).
    Recorded(crate::record::RecordedFrame),
    /// Nothing more to do until this time (or until the next input).
    Timeout(Instant),
}

#[derive(Debug)]
struct Held {
    at: Instant,
    transport: Transport,
    source: SocketAddr,
    contents: Vec<u8>,
}

/// The selective forwarding unit. See the crate documentation.
pub struct Sfu {
    config: SfuConfig,
    crypto: Arc<CryptoProvider>,
    cert: DtlsCert,
    now: Instant,
    peers: HashMap<ParticipantId, Peer>,
    rooms: HashMap<RoomId, Vec<ParticipantId>>,
    /// Which peer a remote address belongs to, learnt from the first packet a peer accepted.
    routes: HashMap<(Transport, SocketAddr), ParticipantId>,
    held: VecDeque<Held>,
    dirty: Vec<ParticipantId>,
    outputs: VecDeque<SfuOutput>,
    scratch: Vec<Propagate>,
    /// Rooms being recorded, and when their video is next asked for a keyframe.
    recording: HashMap<RoomId, Instant>,
    /// The recorded rooms' tracks, subscribed like a receiver and put back into frames.
    recorders: HashMap<RoomId, RoomRecorder>,
    /// Rooms large enough to forward only their loudest microphones, and which those are.
    loud: HashMap<RoomId, Vec<ParticipantId>>,
    next_rank: Instant,
}

impl std::fmt::Debug for Sfu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sfu")
            .field("config", &self.config)
            .field("peers", &self.peers.len())
            .field("rooms", &self.rooms.len())
            .finish_non_exhaustive()
    }
}

impl Sfu {
    /// Creates the SFU with one DTLS certificate shared by all sessions (generating one per
    /// participant would cost milliseconds per join).
    pub fn new(config: SfuConfig, now: Instant) -> Result<Self, MediaError> {
        let crypto = str0m::crypto::from_feature_flags();
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| MediaError::Startup("no DTLS certificate".into()))?;
        Ok(Self {
            config,
            crypto: Arc::new(crypto),
            cert,
            now,
            peers: HashMap::new(),
            rooms: HashMap::new(),
            routes: HashMap::new(),
            held: VecDeque::new(),
            dirty: Vec::new(),
            outputs: VecDeque::new(),
            scratch: Vec::new(),
            recording: HashMap::new(),
            recorders: HashMap::new(),
            loud: HashMap::new(),
            next_rank: now,
        })
    }

    fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// Adds a participant to `room`. They will be offered every track published in the room
    /// once their own first offer is answered.
    pub fn add_participant(
        &mut self,
        now: Instant,
        id: ParticipantId,
        room: RoomId,
    ) -> Result<(), MediaError> {
        self.set_now(now);
        if self.peers.contains_key(&id) {
            return Err(MediaError::DuplicateParticipant(id));
        }
        let mut rtc = Rtc::builder()
            // RTP mode: packets are forwarded as they come, their payload shared by every
            // subscriber (and its resend history), with only headers written per subscriber.
            .set_rtp_mode(true)
            .enable_bwe(
                self.config
                    .estimate_bandwidth
                    .then(|| str0m::bwe::Bitrate::kbps(INITIAL_ESTIMATE_KBPS)),
            )
            .set_ice_lite(true)
            .set_crypto_provider(self.crypto.clone())
            .set_dtls_cert(self.cert.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .set_stats_interval(Some(self.config.stats_interval))
            .build(self.now);
        let candidate = Candidate::host(self.config.candidate_addr, "udp")
            .map_err(|e| MediaError::Startup(format!("bad candidate address: {e}")))?;
        rtc.add_local_candidate(candidate);
        if self.config.tcp {
            let tcp = Candidate::builder()
                .tcp()
                .host(self.config.candidate_addr)
                .tcptype(TcpType::Passive)
                .build()
                .map_err(|e| MediaError::Startup(format!("bad TCP candidate address: {e}")))?;
            rtc.add_local_candidate(tcp);
        }
        let mut peer = Peer::new(id, room.clone(), rtc, self.now, self.config.resend_history);
        let members = self.rooms.entry(room).or_default();
        for other in members.iter().filter_map(|m| self.peers.get(m)) {
            for t in other.tracks_in.iter().filter(|t| t.announced) {
                peer.subscribe(other.id, t.mid, t.kind, t.source);
            }
        }
        members.push(id);
        self.peers.insert(id, peer);
        self.dirty.push(id);
        self.drain();
        Ok(())
    }

    /// Removes a participant: their session closes and every subscriber's copy of their tracks
    /// is stopped (renegotiated). Unknown ids are ignored: leaving twice is harmless.
    pub fn remove_participant(&mut self, now: Instant, id: ParticipantId) {
        self.set_now(now);
        let Some(mut peer) = self.peers.remove(&id) else {
            return;
        };
        peer.rtc.disconnect();
        self.routes.retain(|_, p| *p != id);
        if let Some(r) = self.recorders.get_mut(&peer.room) {
            r.remove(id);
        }
        if let Some(members) = self.rooms.get_mut(&peer.room) {
            members.retain(|m| *m != id);
            if members.is_empty() {
                self.rooms.remove(&peer.room);
            }
        }
        let others: Vec<ParticipantId> = self.room_members(&peer.room).to_vec();
        for other in others {
            if let Some(p) = self.peers.get_mut(&other) {
                p.touch(self.now);
                p.views.retain(|(publisher, _), _| *publisher != id);
                p.unsubscribe_all_from(id, &mut self.outputs);
                mark_dirty(p, &mut self.dirty);
            }
        }
        self.drain();
    }

    /// Sets what of `id`'s media is forwarded, and to whom (the meeting's locks and their
    /// role). A video source that opens up again, or a new moderator who now sees cameras
    /// shown only to moderators, gets a fresh keyframe so that it decodes at once.
    pub fn set_forwarding(&mut self, now: Instant, id: ParticipantId, forwarding: Forwarding) {
        self.set_now(now);
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let before = std::mem::replace(&mut peer.forwarding, forwarding);
        let mut wanted: Vec<(ParticipantId, Mid)> = peer
            .tracks_in
            .iter()
            .filter(|t| {
                t.kind == MediaKind::Video
                    && forwarding.audience(t.source) > before.audience(t.source)
            })
            .map(|t| (id, t.mid))
            .collect();
        let room = peer.room.clone();
        if forwarding.moderator && !before.moderator {
            for other in room_members(&self.rooms, &room) {
                if let Some(p) = self.peers.get(other) {
                    wanted.extend(
                        p.tracks_in
                            .iter()
                            .filter(|t| {
                                t.kind == MediaKind::Video
                                    && p.forwarding.audience(t.source) == Audience::Moderators
                            })
                            .map(|t| (p.id, t.mid)),
                    );
                }
            }
        }
        for (publisher, mid) in wanted {
            if let Some(p) = self.peers.get_mut(&publisher) {
                p.touch(self.now);
                if p.request_keyframe(mid, None, KeyframeRequestKind::Pli, true) {
                    mark_dirty(p, &mut self.dirty);
                }
            }
        }
        self.drain();
    }

    /// How `subscriber`'s client shows `publisher`'s `source` (None: forget what it said; the
    /// top layer is sent). Its layers are chosen again at once.
    pub fn set_view(
        &mut self,
        now: Instant,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        source: TrackSource,
        view: Option<TileView>,
    ) {
        self.set_views(now, subscriber, &[(publisher, source, view)]);
    }

    /// [`Sfu::set_view`] for many tiles at once (one `view` message): the layers are chosen
    /// once. Tiles of anyone not in the subscriber's room are ignored.
    pub fn set_views(
        &mut self,
        now: Instant,
        subscriber: ParticipantId,
        tiles: &[(ParticipantId, TrackSource, Option<TileView>)],
    ) {
        self.set_now(now);
        let Some(room) = self.peers.get(&subscriber).map(|p| p.room.clone()) else {
            return;
        };
        let members = room_members(&self.rooms, &room);
        let mut changed = false;
        let Some(sub) = self.peers.get_mut(&subscriber) else {
            return;
        };
        sub.touch(self.now);
        mark_dirty(sub, &mut self.dirty);
        for &(publisher, source, view) in tiles {
            if publisher == subscriber || !members.contains(&publisher) {
                continue;
            }
            match view {
                Some(v) => sub.views.insert((publisher, source), v),
                None => sub.views.remove(&(publisher, source)),
            };
            for t in sub
                .tracks_out
                .iter_mut()
                .filter(|t| t.publisher == publisher && t.source == source)
            {
                changed |= t.view != view;
                t.view = view;
            }
        }
        if changed {
            self.allocate(subscriber, false);
        }
        self.drain();
    }

    /// Chooses the layer of every video track `id` receives (its views, its downlink
    /// estimate, who speaks) and asks publishers for the keyframes a switch waits for.
    fn allocate(&mut self, id: ParticipantId, force_keyframes: bool) {
        let now = self.now;
        let Some(sub) = self.peers.get(&id) else {
            return;
        };
        let mut wants = Vec::new();
        let mut which = Vec::new();
        let mut current = Vec::new();
        let mut audio_bps = 0;
        for (i, t) in sub.tracks_out.iter().enumerate() {
            if !matches!(t.state, TrackOutState::Open(_)) || t.source_gone {
                continue;
            }
            let Some(publisher) = self.peers.get(&t.publisher) else {
                continue;
            };
            let Some(track) = publisher.tracks_in.iter().find(|x| x.mid == t.source_mid) else {
                continue;
            };
            if t.kind == MediaKind::Audio {
                audio_bps += track.layers.active(now).map(|(_, bps)| bps).sum::<u64>();
                continue;
            }
            wants.push(Want {
                source: t.source,
                speaking: publisher.speaking.speaking,
                wanted: wanted_layer(t.view, &track.layers, now),
                layers: track.layers.active(now).collect(),
                paused_for_bandwidth: t.paused_for_bandwidth,
            });
            which.push(i);
            current.push(t.rewriter.target());
        }
        let sent = cost(&wants, &current, audio_bps);
        let estimating = self.config.estimate_bandwidth;
        let Some(sub) = self.peers.get_mut(&id) else {
            return;
        };
        let link = Link {
            estimate: sub.estimate,
            sent,
            loss: sub.stats.loss_out.unwrap_or(0.0),
            rtt_rise: sub
                .stats
                .rtt
                .zip(sub.min_rtt.baseline())
                .map_or(Duration::ZERO, |(rtt, min)| rtt.saturating_sub(min)),
            reports: sub.link_reports,
        };
        let decided = sub.allocator.decide(now, &current, &wants, link, audio_bps);
        if estimating {
            // Let the estimator probe for what the views would like. str0m probes when the
            // desired rate rises above its estimate: to probe again, it is lowered for one
            // round and raised at the next.
            let desired = cost(&wants, &allocate(&wants, None, 0), audio_bps);
            let desired = if sub.allocator.probe {
                0
            } else {
                desired + desired / 5
            };
            sub.rtc
                .bwe()
                .set_bitrate(str0m::bwe::Bitrate::ZERO, str0m::bwe::Bitrate::bps(desired));
            // A session changed outside a packet written to it is polled too (its timers
            // may have moved).
            mark_dirty(sub, &mut self.dirty);
        }
        let mut requests = Vec::new();
        for (k, i) in which.into_iter().enumerate() {
            let t = &mut sub.tracks_out[i];
            t.paused_for_bandwidth = match (wants[k].wanted, decided[k]) {
                (None, _) | (_, Some(_)) => false,
                (Some(_), None) => t.paused_for_bandwidth || t.rewriter.target().is_some(),
            };
            t.rewriter.set_target(decided[k]);
            if t.rewriter.waiting() {
                requests.push((t.publisher, t.source_mid, decided[k]));
            }
        }
        for (publisher, mid, layer) in requests {
            if let Some(p) = self.peers.get_mut(&publisher) {
                p.touch(now);
                if p.request_keyframe(mid, layer, KeyframeRequestKind::Pli, force_keyframes) {
                    mark_dirty(p, &mut self.dirty);
                }
            }
        }
    }

    /// The client's SDP offer; returns the SDP answer.
    pub fn handle_offer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        sdp: &str,
    ) -> Result<String, MediaError> {
        self.set_now(now);
        let peer = self
            .peers
            .get_mut(&id)
            .ok_or(MediaError::UnknownParticipant(id))?;
        peer.touch(self.now);
        let answer = peer.handle_offer(sdp);
        mark_dirty(peer, &mut self.dirty);
        self.drain();
        // Its ICE credentials exist now: anything held for it can be delivered.
        self.retry_held();
        answer
    }

    /// The client's answer to a server offer (an [`SfuEvent::Offer`]).
    pub fn handle_answer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        sdp: &str,
    ) -> Result<(), MediaError> {
        self.set_now(now);
        let peer = self
            .peers
            .get_mut(&id)
            .ok_or(MediaError::UnknownParticipant(id))?;
        peer.touch(self.now);
        let result = peer.handle_answer(sdp);
        mark_dirty(peer, &mut self.dirty);
        let opened = result?;
        // A new subscriber can show nothing until the next keyframe of the layer it gets:
        // its layers are chosen now and keyframes asked for at once.
        if !opened.is_empty() {
            self.allocate(id, true);
        }
        self.drain();
        Ok(())
    }

    /// One packet from `source` over `transport`. Returns whether a session took it; one that
    /// none took yet is held briefly and retried when sessions change.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        contents: &[u8],
    ) -> bool {
        self.set_now(now);
        if self.deliver(transport, source, contents) {
            self.drain();
            return true;
        }
        if self.held.len() >= HOLD_MAX {
            self.held.pop_front();
        }
        self.held.push_back(Held {
            at: self.now,
            transport,
            source,
            contents: contents.to_vec(),
        });
        false
    }

    fn deliver(&mut self, transport: Transport, source: SocketAddr, contents: &[u8]) -> bool {
        // Malformed datagrams (not STUN, DTLS or SRTP) are refused here, before any session.
        let Ok(contents) = contents.try_into() else {
            return false;
        };
        let input = Input::Receive(
            self.now,
            Receive {
                proto: transport.proto(),
                source,
                destination: self.config.candidate_addr,
                contents,
            },
        );
        let known = self.routes.get(&(transport, source)).copied();
        let id = match known.filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)))
        {
            Some(id) => id,
            None => {
                let Some(peer) = self
                    .peers
                    .values()
                    .find(|p| !p.dead && p.rtc.accepts(&input))
                else {
                    return false;
                };
                self.routes.insert((transport, source), peer.id);
                peer.id
            }
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return false;
        };
        peer.touch(self.now);
        if let Err(e) = peer.rtc.handle_input(input) {
            // One bad packet (a failed SRTP check, say) must not end the session.
            tracing::debug!(participant = %id, error = %e, "datagram refused");
        }
        mark_dirty(peer, &mut self.dirty);
        true
    }

    fn retry_held(&mut self) {
        let now = self.now;
        let held: Vec<Held> = self.held.drain(..).collect();
        for h in held {
            if now.saturating_duration_since(h.at) > HOLD_FOR {
                continue;
            }
            if !self.deliver(h.transport, h.source, &h.contents) {
                self.held.push_back(h);
            }
        }
        self.drain();
    }

    /// Starts or stops handing `room`'s frames to a recorder ([`SfuOutput::Recorded`]). At
    /// the start every camera and screen is asked for a keyframe, so the files start at once.
    pub fn set_recording(&mut self, now: Instant, room: &RoomId, on: bool) {
        self.set_now(now);
        if on {
            self.recording.insert(room.clone(), self.now);
            self.recorders.entry(room.clone()).or_default();
        } else {
            self.recording.remove(room);
            self.recorders.remove(room);
        }
        self.drain_recording_keyframes();
        self.drain();
    }

    /// Asks the video of recorded rooms for a keyframe when it is time.
    fn drain_recording_keyframes(&mut self) {
        let now = self.now;
        let due: Vec<RoomId> = self
            .recording
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for room in due {
            self.recording
                .insert(room.clone(), now + crate::record::RECORDING_KEYFRAME_EVERY);
            for id in room_members(&self.rooms, &room).to_vec() {
                if let Some(p) = self.peers.get_mut(&id) {
                    // The recorder keeps each camera's top layer: only that one is asked.
                    let video: Vec<(Mid, Option<u8>)> = p
                        .tracks_in
                        .iter()
                        .filter(|t| t.kind == MediaKind::Video)
                        .map(|t| (t.mid, t.layers.top(now)))
                        .collect();
                    for (mid, top) in video {
                        if p.request_keyframe(mid, top, KeyframeRequestKind::Pli, true) {
                            mark_dirty(p, &mut self.dirty);
                        }
                    }
                }
            }
        }
    }

    /// Advances time: every session whose timer is due runs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        let now = self.now;
        self.drain_recording_keyframes();
        if self.next_rank <= now && self.ranking_due() {
            self.next_rank = now + crate::loudest::RANK_EVERY;
            self.rank_microphones();
        }
        let mut due = Vec::new();
        for peer in self.peers.values_mut() {
            if peer.next_timeout <= now {
                peer.tick(now);
                mark_dirty(peer, &mut self.dirty);
            }
            if peer.next_allocation <= now {
                peer.next_allocation = now + ALLOCATE_EVERY;
                due.push(peer.id);
            }
        }
        for id in due {
            self.allocate(id, false);
        }
        self.held
            .retain(|h| now.saturating_duration_since(h.at) <= HOLD_FOR);
        self.drain();
    }

    /// The next output: a datagram, an event, or (when nothing is queued) the time at which
    /// [`Sfu::handle_timeout`] must be called.
    pub fn poll_output(&mut self) -> SfuOutput {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let next = self
            .peers
            .values()
            .map(|p| p.next_timeout.min(p.next_allocation))
            // Ranking microphones only matters while a room is large enough.
            .chain(self.ranking_due().then_some(self.next_rank))
            .min()
            .unwrap_or(self.now + Duration::from_secs(1));
        SfuOutput::Timeout(next.max(self.now))
    }

    /// Drains every dirty peer, routing what each produces, until all are quiet.
    fn drain(&mut self) {
        let mut props = std::mem::take(&mut self.scratch);
        while let Some(id) = self.dirty.pop() {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            peer.dirty = false;
            peer.poll(&mut self.outputs, &mut props);
            let dead = peer.dead;
            for p in props.drain(..) {
                self.propagate(id, p);
            }
            if dead {
                self.remove_participant(self.now, id);
                self.outputs
                    .push_back(SfuOutput::Event(SfuEvent::Disconnected { participant: id }));
            }
        }
        self.scratch = props;
    }

    fn propagate(&mut self, origin: ParticipantId, p: Propagate) {
        let now = self.now;
        let Some(room) = self.peers.get(&origin).map(|p| p.room.clone()) else {
            return;
        };
        match p {
            Propagate::Media(data) => {
                // What is locked is not forwarded, whatever the client sends.
                let audience = self
                    .peers
                    .get(&origin)
                    .map_or(Audience::Nobody, |p| p.audience(data.mid));
                if audience == Audience::Nobody {
                    return;
                }
                // A recording keeps what everyone receives, like one more receiver.
                if audience == Audience::Everyone
                    && !self.recorders.is_empty()
                    && let Some(recorder) = self.recorders.get_mut(&room)
                    && let Some(p) = self.peers.get_mut(&origin)
                    && let Some(t) = p.tracks_in.iter().find(|t| t.mid == data.mid)
                {
                    let top = t.layers.top(now).unwrap_or(data.layer);
                    let wants_keyframe =
                        recorder.packet(&room, origin, t.source, top, &data, &mut self.outputs);
                    if wants_keyframe
                        && p.request_keyframe(data.mid, Some(top), KeyframeRequestKind::Pli, false)
                    {
                        mark_dirty(p, &mut self.dirty);
                    }
                }
                // A large room forwards only its loudest microphones.
                if !self.loud.is_empty()
                    && let Some(loud) = self.loud.get(&room)
                    && !loud.contains(&origin)
                    && self
                        .peers
                        .get(&origin)
                        .and_then(|p| p.tracks_in.iter().find(|t| t.mid == data.mid))
                        .is_some_and(|t| t.source == TrackSource::Microphone)
                {
                    return;
                }
                for id in room_members(&self.rooms, &room) {
                    if *id == origin {
                        continue;
                    }
                    if let Some(sub) = self.peers.get_mut(id) {
                        if audience == Audience::Moderators && !sub.forwarding.moderator {
                            continue;
                        }
                        // No clock tick here: str0m stamps the packet when it is polled, and
                        // the subscriber's own timer releases it. Ticking every subscriber per
                        // forwarded packet cost 7 % more CPU per packet (N×N = 16,
                        // docs/performance.md) for 0.8 ms less median latency.
                        if sub.forward(origin, &data) {
                            mark_dirty(sub, &mut self.dirty);
                        }
                    }
                }
            }
            Propagate::KeyframeRequest {
                publisher,
                source_mid,
                layer,
                kind,
            } => {
                if let Some(p) = self.peers.get_mut(&publisher) {
                    p.touch(now);
                    if p.request_keyframe(source_mid, layer, kind, false) {
                        mark_dirty(p, &mut self.dirty);
                    }
                }
            }
            Propagate::TrackPublished { mid, kind, source } => {
                for id in room_members(&self.rooms, &room) {
                    if *id == origin {
                        continue;
                    }
                    if let Some(sub) = self.peers.get_mut(id) {
                        sub.subscribe(origin, mid, kind, source);
                        mark_dirty(sub, &mut self.dirty);
                    }
                }
            }
        }
    }

    /// Whether some room has more members than the loudest-N threshold, or is still limited.
    fn ranking_due(&self) -> bool {
        !self.loud.is_empty()
            || self
                .rooms
                .values()
                .any(|m| m.len() > self.config.loudest_above)
    }

    /// Chooses each large room's loudest microphones, and pauses the others' audio for every
    /// receiver (a pause and a resume are seamless: numbering continues).
    fn rank_microphones(&mut self) {
        let now = self.now;
        let (n, above) = (self.config.loudest_audio, self.config.loudest_above);
        for (room, members) in &self.rooms {
            // A room this small has no more microphones than the threshold: nothing to rank
            // (unless it was large a moment ago and must be opened up again, below).
            if members.len() <= above && !self.loud.contains_key(room) {
                continue;
            }
            let mics: Vec<crate::loudest::Mic> = members
                .iter()
                .filter_map(|id| self.peers.get(id))
                .filter(|p| {
                    p.forwarding.microphone != Audience::Nobody
                        && p.tracks_in
                            .iter()
                            .any(|t| t.source == TrackSource::Microphone && t.announced)
                })
                .map(|p| crate::loudest::Mic {
                    id: p.id,
                    loudness: p.speaking.loudness(now),
                    speaking: p.speaking.speaking,
                })
                .collect();
            if mics.len() <= above || n == 0 {
                if self.loud.remove(room).is_some() {
                    for id in members {
                        if let Some(p) = self.peers.get_mut(id) {
                            p.set_microphones(|_| true);
                        }
                    }
                }
                continue;
            }
            let current = self.loud.get(room).map(Vec::as_slice).unwrap_or(&[]);
            let set = crate::loudest::loudest(current, &mics, n);
            for id in members {
                if let Some(p) = self.peers.get_mut(id) {
                    p.set_microphones(|publisher| set.contains(&publisher));
                }
            }
            self.loud.insert(room.clone(), set);
        }
        self.loud.retain(|room, _| self.rooms.contains_key(room));
    }

    fn room_members(&self, room: &RoomId) -> &[ParticipantId] {
        room_members(&self.rooms, room)
    }

    /// A participant's statistics, if they are in the SFU.
    pub fn participant_stats(&self, id: ParticipantId) -> Option<ParticipantStats> {
        self.peers.get(&id).map(|p| p.stats.clone())
    }

    /// The participants' mean packet loss (0.0 – 1.0; each one's worse direction), of those
    /// whose loss was measured; `None` if nobody's was.
    pub fn mean_loss(&self) -> Option<f32> {
        let (sum, n) = self.loss_total();
        (n > 0).then(|| sum / n as f32)
    }

    /// The participants' losses summed (each one's worse direction), and how many were
    /// measured: shards add these up for one mean.
    pub fn loss_total(&self) -> (f32, usize) {
        self.peers
            .values()
            .filter_map(|p| match (p.stats.loss_in, p.stats.loss_out) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
            })
            .fold((0.0, 0), |(s, n), l| (s + l, n + 1))
    }

    /// How many participants the SFU holds.
    pub fn participant_count(&self) -> usize {
        self.peers.len()
    }
}

fn room_members<'a>(
    rooms: &'a HashMap<RoomId, Vec<ParticipantId>>,
    room: &RoomId,
) -> &'a [ParticipantId] {
    rooms.get(room).map(Vec::as_slice).unwrap_or(&[])
}

/// Queues a peer for draining once (its `dirty` flag means "queued").
fn mark_dirty(peer: &mut Peer, dirty: &mut Vec<ParticipantId>) {
    if !peer.dirty {
        peer.dirty = true;
        dirty.push(peer.id);
    }
}
