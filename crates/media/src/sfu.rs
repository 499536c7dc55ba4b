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
use crate::peer::{Peer, Propagate};
use crate::stats::ParticipantStats;

/// Datagrams that no peer accepts yet (a STUN check racing its peer's creation) are held this
/// long and retried when a peer is added, instead of being dropped (which costs the browser
/// 250 ms – 1 s of retransmits).
const HOLD_FOR: Duration = Duration::from_secs(3);
const HOLD_MAX: usize = 256;

/// libwebrtc's own floor for its send history (it keeps max(1 s, 3 × RTT)); str0m's default
/// is 3 s, which triples the memory of every video subscription.
pub const DEFAULT_RESEND_HISTORY: Duration = Duration::from_secs(1);

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
    /// How long each outgoing video packet is kept for resending on a NACK. Every subscriber
    /// keeps its own copy, so this is most of the memory a video participant costs; a NACK
    /// older than about three round trips repairs nothing a viewer would still see.
    pub resend_history: Duration,
}

impl SfuConfig {
    pub fn new(candidate_addr: SocketAddr) -> Self {
        Self {
            candidate_addr,
            stats_interval: Duration::from_secs(1),
            tcp: false,
            resend_history: DEFAULT_RESEND_HISTORY,
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
                if p.request_keyframe(mid, KeyframeRequestKind::Pli, true) {
                    mark_dirty(p, &mut self.dirty);
                }
            }
        }
        self.drain();
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
        // A new subscriber can show nothing until the next keyframe: ask for one now.
        for (publisher, mid) in opened {
            if let Some(p) = self.peers.get_mut(&publisher) {
                p.touch(self.now);
                p.request_keyframe(mid, KeyframeRequestKind::Pli, true);
                mark_dirty(p, &mut self.dirty);
            }
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
        } else {
            self.recording.remove(room);
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
                    let video: Vec<Mid> = p
                        .tracks_in
                        .iter()
                        .filter(|t| t.kind == MediaKind::Video)
                        .map(|t| t.mid)
                        .collect();
                    for mid in video {
                        if p.request_keyframe(mid, KeyframeRequestKind::Pli, true) {
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
        for peer in self.peers.values_mut() {
            if peer.next_timeout <= now {
                peer.tick(now);
                mark_dirty(peer, &mut self.dirty);
            }
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
            .map(|p| p.next_timeout)
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
                // A recording keeps what everyone receives.
                if audience == Audience::Everyone
                    && !self.recording.is_empty()
                    && self.recording.contains_key(&room)
                    && let Some(source) =
                        self.peers.get(&origin).and_then(|p| p.source_of(data.mid))
                    && let Some(frame) = crate::record::recorded(&room, origin, source, &data)
                {
                    self.outputs.push_back(SfuOutput::Recorded(frame));
                }
                for id in room_members(&self.rooms, &room) {
                    if *id == origin {
                        continue;
                    }
                    if let Some(sub) = self.peers.get_mut(id) {
                        if audience == Audience::Moderators && !sub.forwarding.moderator {
                            continue;
                        }
                        // No clock tick here: str0m takes the frame's wall-clock time in `write`,
                        // and the subscriber's own timer releases the packets. Ticking every
                        // subscriber per forwarded frame cost 7 % more CPU per packet (N×N = 16,
                        // docs/performance.md) for 0.8 ms less median latency.
                        sub.forward(origin, &data);
                        mark_dirty(sub, &mut self.dirty);
                    }
                }
            }
            Propagate::KeyframeRequest {
                publisher,
                source_mid,
                kind,
            } => {
                if let Some(p) = self.peers.get_mut(&publisher) {
                    p.touch(now);
                    if p.request_keyframe(source_mid, kind, false) {
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
        let losses: Vec<f32> = self
            .peers
            .values()
            .filter_map(|p| match (p.stats.loss_in, p.stats.loss_out) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
            })
            .collect();
        (!losses.is_empty()).then(|| losses.iter().sum::<f32>() / losses.len() as f32)
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
