//! A simulated network for the SFU core: in-memory str0m clients, one [`Sfu`], a `Netem`
//! link in each direction per client, and a clock that only moves when the test says so.
//! Modelled on str0m's own `tests/common.rs`: `progress` runs whichever event is due first.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plenary_media::{
    MediaKind, ParticipantId, RoomId, Sfu, SfuConfig, SfuEvent, SfuOutput, TrackSource, Transport,
};
use plenary_peer::frame::{FrameHeader, parse_synthetic_frame, synthetic_frame};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};
use str0m_netem::{Input as NetIn, Netem, NetemConfig, Output as NetOut};

pub const LINK_LATENCY: Duration = Duration::from_millis(10);
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
pub const VIDEO_INTERVAL: Duration = Duration::from_millis(33);
pub const VIDEO_FRAME_BYTES: usize = 3_000;
pub const AUDIO_FRAME_BYTES: usize = 100;

/// What a client sends: only subscribes, publishes audio and video too, also keeps a
/// screen-share video track ready (idle until [`World::start_share`]), or publishes its
/// camera in three simulcast encodings as Chrome does (RTP written by hand: VP8 payload
/// descriptors with picture ids and TL0PICIDX, each encoding its own numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Subscriber,
    Sharer,
    Simulcast,
}

/// The simulcast encodings: rid, picture size, frame bytes (about 100, 290 and 720 kbit/s
/// at 30 frames a second).
pub const LAYERS: [(&str, (u16, u16), usize); 3] = [
    ("l", (320, 180), 400),
    ("m", (640, 360), 1_200),
    ("h", (1280, 720), 3_000),
];

/// One simulcast encoding's own numbering, as an encoder keeps it.
#[derive(Debug, Clone, Copy)]
pub struct LayerOut {
    pub out: plenary_peer::rtp_out::Encoding,
    pub keyframe_wanted: bool,
    pub frames: u32,
    /// Keyframe requests this encoding got.
    pub keyframe_requests: u64,
}

/// A video frame as a subscriber's depacketizer delivered it.
#[derive(Debug, Clone, Copy)]
pub struct VideoIn {
    pub layer: u8,
    pub seq: u32,
    pub keyframe: bool,
    pub contiguous: bool,
    pub picture_id: Option<u64>,
    pub tl0: Option<u64>,
    pub at: Instant,
}

pub struct Client {
    pub id: ParticipantId,
    pub role: Role,
    pub addr: SocketAddr,
    /// UDP, or ICE-TCP (the client's only candidate is an active TCP one).
    pub transport: Transport,
    pub rtc: Rtc,
    pub next: Instant,
    /// SFU → client.
    pub downlink: Netem<Vec<u8>>,
    /// Client → SFU.
    pub uplink: Netem<Vec<u8>>,
    pub uplink_sent: u64,
    pub uplink_delivered: u64,
    pub audio_mid: Option<Mid>,
    pub video_mid: Option<Mid>,
    pub screen_mid: Option<Mid>,
    next_screen: Option<Instant>,
    screen_seq: u32,
    next_audio: Option<Instant>,
    next_video: Option<Instant>,
    audio_seq: u32,
    video_seq: u32,
    keyframe_wanted: bool,
    pub sending: bool,
    /// The audio level (-dBov) its microphone packets carry, if any.
    pub audio_level: Option<i8>,
    /// Frames received, by (publisher, kind) → sequence numbers.
    pub received: BTreeMap<(u64, MediaKind), BTreeSet<u32>>,
    /// Screen frames received, by publisher → sequence numbers.
    pub received_screen: BTreeMap<u64, BTreeSet<u32>>,
    /// Every camera frame received, by publisher, in order of delivery.
    pub video_log: BTreeMap<u64, Vec<VideoIn>>,
    /// Audio frames received, by publisher, with when they arrived.
    pub audio_log: BTreeMap<u64, Vec<(u32, Instant)>>,
    /// A simulcast publisher's encodings.
    pub layers_out: Vec<LayerOut>,
    /// Frames received that were not contiguous (a gap the SFU's repair did not fill).
    pub gapped: u64,
    /// Keyframe requests (PLI/FIR) this client got from the SFU, as a publisher.
    pub keyframe_requests: u64,
    /// Which publisher each receiving transceiver carries, from `TrackAdded` events.
    pub mid_owner: HashMap<String, (ParticipantId, MediaKind)>,
    /// What each receiving transceiver carries, from `TrackAdded` events.
    pub mid_source: HashMap<String, TrackSource>,
    pub removed_mids: Vec<String>,
    pub connected: bool,
    pub left: bool,
    epoch: Instant,
}

pub struct World {
    pub now: Instant,
    pub start: Instant,
    pub sfu: Sfu,
    pub sfu_addr: SocketAddr,
    pub sfu_next: Instant,
    pub clients: Vec<Client>,
    pub room: RoomId,
    /// Every `Speaking` event, in order.
    pub speaking: Vec<(ParticipantId, bool)>,
    /// Every frame handed to a recorder, in order.
    pub recorded: Vec<plenary_media::RecordedFrame>,
    next_id: u64,
}

impl World {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// A world whose SFU is configured by `set` first (e.g. ICE-TCP on).
    pub fn with_config(set: impl FnOnce(&mut SfuConfig)) -> Self {
        let now = Instant::now();
        let sfu_addr: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut config = SfuConfig::new(sfu_addr);
        set(&mut config);
        let sfu = Sfu::new(config, now).unwrap();
        World {
            now,
            start: now,
            sfu,
            sfu_addr,
            sfu_next: now,
            clients: Vec::new(),
            room: RoomId::parse("sim-room").unwrap(),
            speaking: Vec::new(),
            recorded: Vec::new(),
            next_id: 1,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn client(&self, id: ParticipantId) -> &Client {
        self.clients.iter().find(|c| c.id == id).unwrap()
    }

    pub fn client_mut(&mut self, id: ParticipantId) -> &mut Client {
        self.clients.iter_mut().find(|c| c.id == id).unwrap()
    }

    /// Joins a client: SFU session, client offer, SFU answer. Media starts once ICE connects.
    pub fn join(&mut self, role: Role) -> ParticipantId {
        self.join_over(role, Transport::Udp)
    }

    /// Joins a client that reaches the SFU over `transport` only.
    pub fn join_over(&mut self, role: Role, transport: Transport) -> ParticipantId {
        let id = ParticipantId(self.next_id);
        self.next_id += 1;
        let addr: SocketAddr = format!("10.0.1.{}:4000", id.0).parse().unwrap();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_rtp_mode(role == Role::Simulcast)
            .build(self.now);
        let candidate = match transport {
            Transport::Udp => Candidate::host(addr, "udp").unwrap(),
            Transport::Tcp => Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Active)
                .build()
                .unwrap(),
        };
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let (audio_mid, video_mid) = match role {
            Role::Publisher | Role::Sharer | Role::Simulcast => {
                let simulcast = (role == Role::Simulcast).then(|| {
                    let mut simulcast = str0m::media::Simulcast::new();
                    for (rid, _, _) in LAYERS {
                        simulcast.add_send_layer(str0m::media::SimulcastLayer::new(rid));
                    }
                    simulcast
                });
                let audio = str0m::media::MediaKind::Audio;
                let video = str0m::media::MediaKind::Video;
                (
                    Some(api.add_media(audio, Direction::SendOnly, None, None, None)),
                    Some(api.add_media(video, Direction::SendOnly, None, None, simulcast)),
                )
            }
            Role::Subscriber => {
                // A listen-only client offers no media of its own, only a data channel.
                api.add_channel("plenary".into());
                (None, None)
            }
        };
        let screen_mid = (role == Role::Sharer).then(|| {
            api.add_media(
                str0m::media::MediaKind::Video,
                Direction::SendOnly,
                None,
                None,
                None,
            )
        });
        let (offer, pending) = api.apply().unwrap();
        self.sfu
            .add_participant(self.now, id, self.room.clone())
            .unwrap();
        let answer = self
            .sfu
            .handle_offer(self.now, id, &offer.to_sdp_string())
            .expect("SFU answers");
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        self.clients.push(Client {
            transport,
            id,
            role,
            addr,
            rtc,
            next: self.now,
            downlink: Netem::new(NetemConfig::new().latency(LINK_LATENCY)),
            uplink: Netem::new(NetemConfig::new().latency(LINK_LATENCY)),
            uplink_sent: 0,
            uplink_delivered: 0,
            audio_mid,
            video_mid,
            screen_mid,
            next_screen: None,
            screen_seq: 0,
            next_audio: None,
            next_video: None,
            audio_seq: 0,
            video_seq: 0,
            keyframe_wanted: true,
            sending: true,
            audio_level: None,
            received: BTreeMap::new(),
            received_screen: BTreeMap::new(),
            video_log: BTreeMap::new(),
            audio_log: BTreeMap::new(),
            layers_out: if role == Role::Simulcast {
                (0..LAYERS.len() as u32)
                    .map(|i| LayerOut {
                        out: plenary_peer::rtp_out::Encoding::nth(i),
                        keyframe_wanted: true,
                        frames: 0,
                        keyframe_requests: 0,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            gapped: 0,
            keyframe_requests: 0,
            mid_owner: HashMap::new(),
            mid_source: HashMap::new(),
            removed_mids: Vec::new(),
            connected: false,
            left: false,
            epoch: self.now,
        });
        self.drain_sfu();
        let i = self.clients.len() - 1;
        self.drain_client(i);
        id
    }

    /// The client leaves on purpose (sends `leave`); its rtc keeps running and sending, so the
    /// test can check that nothing of it is forwarded any more.
    pub fn leave(&mut self, id: ParticipantId) {
        self.sfu.remove_participant(self.now, id);
        self.client_mut(id).left = true;
        self.drain_sfu();
    }

    /// The sharer starts writing frames on its screen track (a keyframe first).
    pub fn start_share(&mut self, id: ParticipantId) {
        let now = self.now;
        let c = self.client_mut(id);
        assert!(c.screen_mid.is_some(), "only a sharer can share");
        c.next_screen = Some(now);
        c.keyframe_wanted = true;
    }

    /// Screen frames `subscriber` received from `publisher`.
    pub fn received_screen(&self, subscriber: ParticipantId, publisher: ParticipantId) -> usize {
        self.client(subscriber)
            .received_screen
            .get(&publisher.0)
            .map_or(0, BTreeSet::len)
    }

    /// Runs the world for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.progress(until) {}
        self.now = until;
    }

    /// Runs until every client's ICE and DTLS are up (at most 5 s of simulated time).
    pub fn run_until_connected(&mut self) {
        self.run_until(Duration::from_secs(5), "all connected", |w| {
            w.clients.iter().all(|c| c.connected)
        });
    }

    /// Runs until `cond` holds, or panics after `limit` of simulated time.
    pub fn run_until(&mut self, limit: Duration, what: &str, mut cond: impl FnMut(&World) -> bool) {
        let until = self.now + limit;
        while !cond(self) {
            assert!(
                self.progress(until),
                "timed out after {limit:?} waiting for {what}"
            );
        }
    }

    /// Processes the earliest due event not after `until`. Returns false when none is due.
    fn progress(&mut self, until: Instant) -> bool {
        #[derive(Clone, Copy)]
        enum Due {
            Sfu,
            Client(usize),
            Uplink(usize),
            Downlink(usize),
            Media(usize),
        }
        let mut best = (self.sfu_next, Due::Sfu);
        for (i, c) in self.clients.iter().enumerate() {
            for cand in [
                (c.next, Due::Client(i)),
                (c.uplink.poll_timeout(), Due::Uplink(i)),
                (c.downlink.poll_timeout(), Due::Downlink(i)),
                (c.next_media(), Due::Media(i)),
            ] {
                if cand.0 < best.0 {
                    best = cand;
                }
            }
        }
        let (t, due) = best;
        if t > until {
            return false;
        }
        self.now = self.now.max(t);
        let now = self.now;
        match due {
            Due::Sfu => {
                self.sfu.handle_timeout(now);
                self.drain_sfu();
            }
            Due::Client(i) => {
                self.clients[i]
                    .rtc
                    .handle_input(Input::Timeout(now))
                    .unwrap();
                self.drain_client(i);
            }
            Due::Uplink(i) => {
                let c = &mut self.clients[i];
                c.uplink.handle_input(NetIn::Timeout(now));
                let mut packets = Vec::new();
                while let Some(o) = c.uplink.poll_output() {
                    if let NetOut::Packet(p) = o {
                        packets.push(p);
                    }
                }
                c.uplink_delivered += packets.len() as u64;
                let (source, transport) = (c.addr, c.transport);
                for p in packets {
                    self.sfu.handle_receive(now, transport, source, &p);
                }
                self.drain_sfu();
            }
            Due::Downlink(i) => {
                let sfu_addr = self.sfu_addr;
                let c = &mut self.clients[i];
                c.downlink.handle_input(NetIn::Timeout(now));
                let mut packets = Vec::new();
                while let Some(o) = c.downlink.poll_output() {
                    if let NetOut::Packet(p) = o {
                        packets.push(p);
                    }
                }
                for p in packets {
                    let input = Input::Receive(
                        now,
                        Receive {
                            proto: match c.transport {
                                Transport::Udp => Protocol::Udp,
                                Transport::Tcp => Protocol::Tcp,
                            },
                            source: sfu_addr,
                            destination: c.addr,
                            contents: p.as_slice().try_into().unwrap(),
                        },
                    );
                    c.rtc.handle_input(input).unwrap();
                }
                self.drain_client(i);
            }
            Due::Media(i) => {
                self.clients[i].send_media(now);
                self.drain_client(i);
            }
        }
        true
    }

    fn drain_sfu(&mut self) {
        loop {
            match self.sfu.poll_output() {
                SfuOutput::Timeout(t) => {
                    self.sfu_next = t;
                    return;
                }
                SfuOutput::Transmit(t) => {
                    if let Some(c) = self
                        .clients
                        .iter_mut()
                        .find(|c| c.addr == t.destination && c.transport == t.transport)
                    {
                        c.downlink.handle_input(NetIn::Packet(self.now, t.contents));
                    }
                }
                SfuOutput::Event(e) => self.handle_sfu_event(e),
                SfuOutput::Recorded(f) => self.recorded.push(f),
            }
        }
    }

    fn handle_sfu_event(&mut self, e: SfuEvent) {
        match e {
            SfuEvent::Offer { participant, sdp } => {
                // Signalling is instantaneous in the simulation: the client answers at once.
                let Some(i) = self.clients.iter().position(|c| c.id == participant) else {
                    return;
                };
                let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                let answer = self.clients[i].rtc.sdp_api().accept_offer(offer).unwrap();
                self.drain_client(i);
                self.sfu
                    .handle_answer(self.now, participant, &answer.to_sdp_string())
                    .unwrap();
            }
            SfuEvent::TrackAdded {
                participant,
                publisher,
                kind,
                mid,
                source,
            } => {
                if let Some(c) = self.clients.iter_mut().find(|c| c.id == participant) {
                    c.mid_source.insert(mid.clone(), source);
                    c.mid_owner.insert(mid, (publisher, kind));
                }
            }
            SfuEvent::TrackRemoved {
                participant, mid, ..
            } => {
                if let Some(c) = self.clients.iter_mut().find(|c| c.id == participant) {
                    c.removed_mids.push(mid);
                }
            }
            SfuEvent::Speaking {
                participant,
                speaking,
            } => self.speaking.push((participant, speaking)),
            SfuEvent::Connected { .. } | SfuEvent::Disconnected { .. } => {}
        }
    }

    fn drain_client(&mut self, i: usize) {
        let now = self.now;
        let c = &mut self.clients[i];
        loop {
            match c.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    c.next = t.max(now);
                    if c.next == now {
                        c.next = now + Duration::from_millis(1);
                    }
                    return;
                }
                Output::Transmit(t) => {
                    c.uplink_sent += 1;
                    c.uplink.handle_input(NetIn::Packet(now, t.contents.into()));
                }
                Output::Event(e) => c.handle_event(e, now),
            }
        }
    }

    /// Every frame `subscriber` received from `publisher` of `kind`.
    pub fn received(
        &self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
    ) -> usize {
        self.client(subscriber)
            .received
            .get(&(publisher.0, kind))
            .map_or(0, BTreeSet::len)
    }
}

impl Client {
    fn next_media(&self) -> Instant {
        if self.role == Role::Subscriber || !self.connected || !self.sending {
            return far_future();
        }
        let a = self.next_audio.unwrap_or_else(far_future);
        let v = self.next_video.unwrap_or_else(far_future);
        let s = self.next_screen.unwrap_or_else(far_future);
        a.min(v).min(s)
    }

    fn handle_event(&mut self, e: Event, now: Instant) {
        match e {
            Event::Connected => {
                self.connected = true;
                self.epoch = now;
                self.next_audio = Some(now);
                self.next_video = Some(now);
            }
            Event::MediaData(d) => {
                if !d.contiguous {
                    self.gapped += 1;
                }
                if let Some(h) = parse_synthetic_frame(&d.data) {
                    if h.kind == MediaKind::Video && h.track == 0 {
                        let (picture_id, tl0) = match d.codec_extra {
                            str0m::format::CodecExtra::Vp8(x) => (x.picture_id, x.tl0_picture_id),
                            _ => (None, None),
                        };
                        self.video_log
                            .entry(h.publisher.0)
                            .or_default()
                            .push(VideoIn {
                                layer: h.layer,
                                seq: h.seq,
                                keyframe: d.data[0] & 1 == 0,
                                contiguous: d.contiguous,
                                picture_id,
                                tl0,
                                at: now,
                            });
                    }
                    if h.kind == MediaKind::Audio {
                        self.audio_log
                            .entry(h.publisher.0)
                            .or_default()
                            .push((h.seq, now));
                    }
                    if h.track == 1 {
                        self.received_screen
                            .entry(h.publisher.0)
                            .or_default()
                            .insert(h.seq);
                        return;
                    }
                    self.received
                        .entry((h.publisher.0, h.kind))
                        .or_default()
                        .insert(h.seq);
                }
            }
            Event::KeyframeRequest(r) => {
                self.keyframe_requests += 1;
                self.keyframe_wanted = true;
                if let Some(i) = r
                    .rid
                    .and_then(|rid| LAYERS.iter().position(|(x, _, _)| rid.to_string() == *x))
                {
                    self.layers_out[i].keyframe_wanted = true;
                    self.layers_out[i].keyframe_requests += 1;
                }
            }
            _ => {}
        }
    }

    /// Writes the frames that are due: Opus-sized audio every 20 ms, VP8-sized video every
    /// 33 ms, a keyframe first and whenever one was asked for.
    fn send_media(&mut self, now: Instant) {
        if self.role == Role::Simulcast {
            return self.send_simulcast(now);
        }
        let since = |hz: u64| -> u64 { (now - self.epoch).as_micros() as u64 * hz / 1_000_000 };
        if self.next_audio.is_some_and(|t| t <= now) {
            let mid = self.audio_mid.unwrap();
            let pt = self.pt(Codec::Opus);
            let data = make_frame(
                self.id.0,
                MediaKind::Audio,
                self.audio_seq,
                false,
                AUDIO_FRAME_BYTES,
            );
            let time = MediaTime::new(since(48_000), Frequency::FORTY_EIGHT_KHZ);
            let mut writer = self.rtc.writer(mid).unwrap();
            if let Some(level) = self.audio_level {
                writer = writer.audio_level(level, level >= -50);
            }
            writer.write(pt, now, time, data).unwrap();
            self.audio_seq += 1;
            self.next_audio = Some(now + AUDIO_INTERVAL);
        }
        if self.next_video.is_some_and(|t| t <= now) {
            let mid = self.video_mid.unwrap();
            let pt = self.pt(Codec::Vp8);
            let key = std::mem::take(&mut self.keyframe_wanted);
            let data = make_frame(
                self.id.0,
                MediaKind::Video,
                self.video_seq,
                key,
                VIDEO_FRAME_BYTES,
            );
            let time = MediaTime::new(since(90_000), Frequency::NINETY_KHZ);
            self.rtc
                .writer(mid)
                .unwrap()
                .write(pt, now, time, data)
                .unwrap();
            self.video_seq += 1;
            self.next_video = Some(now + VIDEO_INTERVAL);
        }
        if let (Some(mid), Some(t)) = (self.screen_mid, self.next_screen)
            && t <= now
        {
            let pt = self.pt(Codec::Vp8);
            let key = std::mem::take(&mut self.keyframe_wanted);
            let mut header = frame_header(self.id.0, MediaKind::Video, self.screen_seq);
            header.track = 1;
            let data = synthetic_frame(header, key, VIDEO_FRAME_BYTES);
            let time = MediaTime::new(since(90_000), Frequency::NINETY_KHZ);
            self.rtc
                .writer(mid)
                .unwrap()
                .write(pt, now, time, data)
                .unwrap();
            self.screen_seq += 1;
            self.next_screen = Some(now + VIDEO_INTERVAL);
        }
    }

    /// Writes what is due as RTP, as a browser's encoders would: Opus every 20 ms, and every
    /// 33 ms a frame on each encoding, split into packets as `plenary_peer::rtp_out` does it (each with
    /// a VP8 payload descriptor (15-bit picture id, TL0PICIDX), the marker on the last).
    fn send_simulcast(&mut self, now: Instant) {
        let since =
            |hz: u64| -> u32 { ((now - self.epoch).as_micros() as u64 * hz / 1_000_000) as u32 };
        if self.next_audio.is_some_and(|t| t <= now) {
            let mid = self.audio_mid.unwrap();
            let pt = self.pt(Codec::Opus);
            let data = make_frame(
                self.id.0,
                MediaKind::Audio,
                self.audio_seq,
                false,
                AUDIO_FRAME_BYTES,
            );
            let exts = str0m::rtp::ExtensionValues {
                audio_level: self.audio_level,
                voice_activity: self.audio_level.map(|l| l >= -50),
                ..Default::default()
            };
            let seq = u64::from(self.audio_seq) + 1;
            let time = since(48_000);
            let mut api = self.rtc.direct_api();
            let tx = api.stream_tx_by_mid(mid, None).unwrap();
            tx.write_rtp(str0m::rtp::RtpWrite::new(pt, seq.into(), time, now, data).ext_vals(exts));
            self.audio_seq += 1;
            self.next_audio = Some(now + AUDIO_INTERVAL);
        }
        if self.next_video.is_some_and(|t| t <= now) {
            let mid = self.video_mid.unwrap();
            let pt = self.pt(Codec::Vp8);
            let time = since(90_000);
            for (i, (rid, size, bytes)) in LAYERS.iter().enumerate() {
                let l = &mut self.layers_out[i];
                let key = std::mem::take(&mut l.keyframe_wanted);
                let mut header = frame_header(self.id.0, MediaKind::Video, self.video_seq);
                header.layer = i as u8;
                let frame = plenary_peer::frame::synthetic_frame_sized(header, key, *bytes, *size);
                let mut api = self.rtc.direct_api();
                let tx = api
                    .stream_tx_by_mid(mid, Some((*rid).into()))
                    .expect("a send stream per encoding");
                l.out.vp8(time, &frame, &mut |p| {
                    tx.write_rtp(
                        str0m::rtp::RtpWrite::new(pt, p.seq.into(), p.time, now, p.payload)
                            .marker(p.marker)
                            .nackable(true),
                    );
                });
                l.frames += 1;
            }
            self.video_seq += 1;
            self.next_video = Some(now + VIDEO_INTERVAL);
        }
    }

    fn pt(&self, codec: Codec) -> Pt {
        self.rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .unwrap()
            .pt()
    }

    pub fn frames_sent(&self, kind: MediaKind) -> u32 {
        match kind {
            MediaKind::Audio => self.audio_seq,
            MediaKind::Video => self.video_seq,
        }
    }

    /// The SFU → client link becomes `rate` bits per second with a `buffer`-byte queue (None:
    /// unlimited again).
    pub fn set_downlink_rate(&mut self, rate: Option<(u64, u64)>) {
        let mut config = NetemConfig::new().latency(LINK_LATENCY);
        if let Some((bps, buffer)) = rate {
            config = config.link(
                str0m_netem::Bitrate::bps(bps),
                str0m_netem::DataSize::bytes(buffer as i64),
            );
        }
        self.downlink.set_config(config);
    }

    /// Loss on the client → SFU link for the rest of the test (seeded, so repeatable).
    pub fn set_uplink_loss(&mut self, probability: f32, seed: u64) {
        let loss = str0m_netem::RandomLoss::new(str0m_netem::Probability::new(probability));
        self.uplink.set_config(
            NetemConfig::new()
                .latency(LINK_LATENCY)
                .loss(loss)
                .seed(seed),
        );
    }
}

/// A synthetic frame of `len` bytes (the peer crate's format: a VP8-style first byte, then
/// publisher, kind, track and sequence, so the receiver can tell exactly which frames arrived).
fn make_frame(publisher: u64, kind: MediaKind, seq: u32, keyframe: bool, len: usize) -> Vec<u8> {
    synthetic_frame(frame_header(publisher, kind, seq), keyframe, len)
}

fn frame_header(publisher: u64, kind: MediaKind, seq: u32) -> FrameHeader {
    FrameHeader {
        publisher: ParticipantId(publisher),
        kind,
        track: 0,
        seq,
        sent_us: 0,
        layer: 0,
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}
