use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use plenary_proto::{
    ClientMessage, ErrorCode, MediaKind, PROTOCOL_VERSION, ParticipantId, ParticipantInfo, RoomId,
    ServerMessage,
};
use serde::Deserialize;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::accounting::Accounting;
use crate::frame::{
    FrameHeader, HEADER_BYTES, micros_since_epoch, parse_synthetic_frame, synthetic_frame,
};
use crate::frames_in::FramesIn;
use crate::rtp_out::Encoding;

const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
const VIDEO_INTERVAL: Duration = Duration::from_micros(33_333);
/// An Opus frame at about 48 kbit/s.
const AUDIO_BYTES: usize = 120;

/// How to join.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// The server's HTTP address, `host:port`.
    pub http_addr: String,
    pub room: RoomId,
    pub name: String,
    /// What to send; [`Publish::NOTHING`] only receives.
    pub publish: Publish,
    /// The address to send media from; `None`: the server's HTTP address (loopback).
    pub local_ip: Option<std::net::IpAddr>,
    /// A join token issued elsewhere (a BigBlueButton API join link); `None`: ask the API.
    pub token: Option<String>,
}

/// What a peer publishes: synthetic Opus-sized audio (50 frames/s) and VP8-sized video
/// (30 frames/s at `video_kbps`) on `video_tracks` tracks (a camera, a screen…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    pub audio: bool,
    pub video_tracks: u8,
    pub video_kbps: u32,
    /// The camera (the first video track) goes out in three simulcast encodings, rids `l`,
    /// `m`, `h`, as the browser client sends it: `video_kbps` at 1280 × 720, a third of it at
    /// 640 × 360 and an eighth at 320 × 180.
    pub simulcast: bool,
    /// The audio level (-dBov, RFC 6464) its audio packets carry; None: no level.
    pub audio_level: Option<i8>,
}

impl Publish {
    pub const NOTHING: Publish = Publish {
        audio: false,
        video_tracks: 0,
        video_kbps: 0,
        simulcast: false,
        audio_level: None,
    };
    pub const AUDIO: Publish = Publish {
        audio: true,
        video_tracks: 0,
        video_kbps: 0,
        simulcast: false,
        audio_level: None,
    };
    pub const AUDIO_VIDEO: Publish = Publish {
        audio: true,
        video_tracks: 1,
        video_kbps: 500,
        simulcast: false,
        audio_level: None,
    };

    fn any(&self) -> bool {
        self.audio || self.video_tracks > 0
    }

    /// Bytes in one video frame at 30 frames/s.
    fn video_frame_bytes(&self) -> usize {
        (self.video_kbps as usize * 1000 / 8 / 30).max(HEADER_BYTES)
    }
}

/// The simulcast encodings: rid, picture size, share of `video_kbps` (divisor).
const LAYERS: [(&str, (u16, u16), usize); 3] = [
    ("l", (320, 180), 8),
    ("m", (640, 360), 3),
    ("h", (1280, 720), 1),
];

/// What a peer has seen so far.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub you: Option<ParticipantId>,
    /// Frames received per publisher and kind.
    pub frames: BTreeMap<(ParticipantId, MediaKind), u64>,
    /// Frames whose synthetic header named the publisher the SFU said the track was from.
    pub frames_matching_owner: u64,
    pub frames_sent: u64,
    /// UDP datagrams this peer received from the SFU (media, RTCP, ICE): what the SFU sent it.
    pub datagrams_received: u64,
    /// Loss and latency since the last [`Peer::reset_accounting`].
    pub accounting: Accounting,
    pub connected: bool,
    pub keyframe_requests: u64,
    /// Camera frames received per publisher and simulcast layer (from the frames' headers).
    pub layers: BTreeMap<(ParticipantId, u8), u64>,
    /// Others in the meeting, as signalling reports them.
    pub participants: BTreeMap<ParticipantId, ParticipantInfo>,
    pub errors: Vec<(ErrorCode, String)>,
    pub server_offers: u64,
    /// Why the meeting ended, if the server said it did.
    pub ended: Option<String>,
}

enum Command {
    MediaState { audio: bool, video: bool },
    View(Vec<plenary_proto::TileReport>),
    Leave,
}

/// A participant running in a background task.
#[derive(Debug)]
pub struct Peer {
    pub id: ParticipantId,
    state: Arc<Mutex<Received>>,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

#[derive(Debug, Deserialize)]
struct Grant {
    token: String,
}

impl Peer {
    /// Asks the API for a join token, opens the WebSocket, joins, and starts negotiating.
    /// Returns once the server confirmed the join.
    pub async fn join(opts: PeerOptions) -> anyhow::Result<Peer> {
        let grant = match &opts.token {
            Some(token) => Grant {
                token: token.clone(),
            },
            None => {
                let path = format!("/api/rooms/{}/join", opts.room);
                let body = serde_json::json!({ "name": opts.name });
                let (status, grant): (u16, serde_json::Value) =
                    crate::http::call(&opts.http_addr, "POST", &path, Some(&body)).await?;
                if status != 200 {
                    bail!("join refused: HTTP {status}: {grant}");
                }
                serde_json::from_value(grant)?
            }
        };

        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", opts.http_addr))
            .await
            .context("WebSocket connect")?;
        let join = ClientMessage::Join {
            v: PROTOCOL_VERSION,
            room: opts.room.clone(),
            name: opts.name.clone(),
            token: grant.token,
        };
        ws.send(Message::text(serde_json::to_string(&join)?))
            .await?;
        let state = Arc::new(Mutex::new(Received::default()));
        let id = loop {
            let Some(frame) = ws.next().await else {
                bail!("closed before joined")
            };
            let Message::Text(text) = frame? else {
                continue;
            };
            match serde_json::from_str::<ServerMessage>(text.as_str())? {
                ServerMessage::Joined {
                    you, participants, ..
                } => {
                    let mut s = lock(&state);
                    s.you = Some(you);
                    s.participants = participants.into_iter().map(|p| (p.id, p)).collect();
                    break you;
                }
                ServerMessage::Error { code, message, .. } => {
                    bail!("join failed: {code:?}: {message}")
                }
                _ => {}
            }
        };

        let host: SocketAddr = opts
            .http_addr
            .parse()
            .context("http_addr must be ip:port")?;
        let ip = opts.local_ip.unwrap_or(host.ip());
        let signalling = PlenarySignalling::new(ws, state.clone());
        Self::start(id, ip, signalling, opts.publish, state).await
    }

    /// Starts the media session of a participant whose signalling is already set up (for
    /// servers other than Plenary: the load generator drives Janus this way).
    pub async fn start<S: Signalling>(
        id: ParticipantId,
        ip: std::net::IpAddr,
        signalling: S,
        publish: Publish,
        state: Arc<Mutex<Received>>,
    ) -> anyhow::Result<Peer> {
        {
            let mut s = lock(&state);
            s.you = Some(id);
        }
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(signalling, udp, publish, state.clone(), rx));
        Ok(Peer {
            id,
            state,
            commands,
            task,
        })
    }

    /// What the peer has seen so far.
    pub fn snapshot(&self) -> Received {
        lock(&self.state).clone()
    }

    pub fn set_media_state(&self, audio: bool, video: bool) {
        let _ = self.commands.send(Command::MediaState { audio, video });
    }

    /// Tells the server how this peer "shows" the others (the `view` message).
    pub fn set_view(&self, tiles: Vec<plenary_proto::TileReport>) {
        let _ = self.commands.send(Command::View(tiles));
    }

    /// Sends `leave`, and waits for the task to end. Returns the task's error, if it failed.
    pub async fn leave(self) -> anyhow::Result<()> {
        let _ = self.commands.send(Command::Leave);
        self.task.await?
    }

    /// Starts a new measurement window: clears loss and latency accounting.
    pub fn reset_accounting(&self) {
        lock(&self.state).accounting = Accounting::default();
    }

    /// Whether the background task has ended (on its own: an error or a fatal server message).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

fn lock(s: &Mutex<Received>) -> std::sync::MutexGuard<'_, Received> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Media {
    publish: Publish,
    audio_mid: Option<Mid>,
    video_mids: Vec<Mid>,
    next_audio: Instant,
    next_video: Instant,
    epoch: Instant,
    audio_seq: u32,
    video_seq: u32,
    keyframe_wanted: bool,
    /// Per simulcast encoding: a keyframe was asked for.
    layer_keyframe_wanted: [bool; 3],
    /// The audio stream's RTP numbering, and each video track's (one per simulcast
    /// encoding): media is written as RTP (str0m's RTP mode), as a browser packetizes it.
    audio_out: Encoding,
    video_out: Vec<Vec<Encoding>>,
}

async fn run<S: Signalling>(
    mut sig: S,
    udp: UdpSocket,
    publish: Publish,
    state: Arc<Mutex<Received>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> anyhow::Result<()> {
    let local = udp.local_addr()?;
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        // RTP mode: media goes out as packets written here and comes in as packets read as
        // they arrive, with none of str0m's frame (de)packetizing, so that the generator
        // costs less than the server it loads.
        .set_rtp_mode(true)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp")?);
    let mut media = Media {
        publish,
        audio_mid: None,
        video_mids: Vec::new(),
        next_audio: Instant::now(),
        next_video: Instant::now(),
        epoch: Instant::now(),
        audio_seq: 0,
        video_seq: 0,
        keyframe_wanted: true,
        layer_keyframe_wanted: [true; 3],
        audio_out: Encoding::nth(0),
        video_out: Vec::new(),
    };
    let mut pending: Option<SdpPendingOffer> = None;
    if sig.client_offers_first() {
        let mut api = rtc.sdp_api();
        let (audio, video) = (
            str0m::media::MediaKind::Audio,
            str0m::media::MediaKind::Video,
        );
        if publish.audio {
            media.audio_mid = Some(api.add_media(audio, Direction::SendOnly, None, None, None));
        }
        for i in 0..publish.video_tracks {
            let simulcast = (i == 0 && publish.simulcast).then(|| {
                let mut s = str0m::media::Simulcast::new();
                for (rid, _, _) in LAYERS {
                    s.add_send_layer(str0m::media::SimulcastLayer::new(rid));
                }
                s
            });
            let encodings = if simulcast.is_some() { LAYERS.len() } else { 1 };
            media
                .video_out
                .push((0..encodings as u32).map(Encoding::nth).collect());
            media
                .video_mids
                .push(api.add_media(video, Direction::SendOnly, None, None, simulcast));
        }
        if !publish.any() {
            api.add_channel("plenary".into());
        }
        let (offer, p) = api.apply().context("nothing to offer")?;
        pending = Some(p);
        sig.send_offer(offer.to_sdp_string()).await?;
        if publish.any() {
            // A second video track is a screen share, on from the start.
            sig.send_media_state(
                publish.audio,
                publish.video_tracks > 0,
                publish.video_tracks > 1,
            )
            .await?;
        }
    }

    let mut incoming = Incoming::default();
    let mut buf = vec![0u8; 2048];
    let mut deadline = Instant::now();
    loop {
        let wake = if publish.any() && lock(&state).connected {
            deadline.min(media.next_audio).min(media.next_video)
        } else {
            deadline
        };
        tokio::select! {
            signals = sig.recv() => {
                for signal in signals? {
                    match signal {
                        Signal::Answer(sdp) => {
                            let p = pending.take().context("answer without an offer")?;
                            rtc.sdp_api().accept_answer(p, SdpAnswer::from_sdp_string(&sdp)?)?;
                        }
                        Signal::Offer(sdp) => {
                            let answer = rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(&sdp)?)?;
                            lock(&state).server_offers += 1;
                            sig.send_answer(answer.to_sdp_string()).await?;
                        }
                        Signal::TrackOwner { mid, participant, kind } => {
                            incoming.owners.insert(Mid::from(mid.as_str()), (participant, kind));
                        }
                    }
                }
            }
            received = udp.recv_from(&mut buf) => {
                let (n, source) = received?;
                lock(&state).datagrams_received += 1;
                if let Ok(contents) = buf[..n].try_into() {
                    let input = Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: local, contents });
                    rtc.handle_input(input)?;
                }
            }
            command = commands.recv() => match command {
                Some(Command::MediaState { audio, video }) => {
                    sig.send_media_state(audio, video, publish.video_tracks > 1).await?;
                }
                Some(Command::View(tiles)) => sig.send_view(tiles).await?,
                Some(Command::Leave) | None => {
                    sig.leave().await?;
                    return Ok(());
                }
            },
            () = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                rtc.handle_input(Input::Timeout(now))?;
                if publish.any() && lock(&state).connected {
                    send_due_media(&mut rtc, &mut media, now, &state)?;
                }
            }
        }
        deadline = drain(&mut rtc, &udp, &mut incoming, &state, &mut media).await?;
    }
}

/// What signalling tells the media session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The answer to our offer.
    Answer(String),
    /// A server offer, to answer.
    Offer(String),
    /// Transceiver `mid` carries `participant`'s track of `kind`.
    TrackOwner {
        mid: String,
        participant: ParticipantId,
        kind: MediaKind,
    },
}

/// A signalling channel to some SFU. Plenary's WebSocket is one ([`Peer::join`]); the load
/// generator implements Janus' HTTP API with it, so both are driven by the same media code.
pub trait Signalling: Send + 'static {
    /// Whether the client makes the first offer (Plenary, a Janus publisher) or waits for
    /// the server's (a Janus subscriber).
    fn client_offers_first(&self) -> bool;
    fn send_offer(&mut self, sdp: String) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn send_answer(&mut self, sdp: String) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn send_media_state(
        &mut self,
        audio: bool,
        video: bool,
        screen: bool,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// How this peer shows the others' video (Plenary's `view`); others ignore it.
    fn send_view(
        &mut self,
        _tiles: Vec<plenary_proto::TileReport>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
    /// The next signals. Must be cancel-safe: it races the media loop in `select!`.
    fn recv(&mut self) -> impl Future<Output = anyhow::Result<Vec<Signal>>> + Send;
    fn leave(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Plenary's signalling WebSocket (docs/protocol.md). A task of its own reads it and hands
/// the signals over a channel: the media loop waits on that channel, where polling the
/// WebSocket itself on every turn cost a zeroed read buffer each time (a sixth of the
/// generator's CPU).
struct PlenarySignalling {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    signals: mpsc::UnboundedReceiver<anyhow::Result<Vec<Signal>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl PlenarySignalling {
    fn new(ws: Ws, state: Arc<Mutex<Received>>) -> Self {
        let (sink, mut stream) = ws.split();
        let (tx, signals) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let next = next_signals(&mut stream, &state).await;
                let end = next.is_err();
                if tx.send(next).is_err() || end {
                    break;
                }
            }
        });
        PlenarySignalling {
            sink,
            signals,
            reader,
        }
    }

    async fn send(&mut self, msg: &ClientMessage) -> anyhow::Result<()> {
        self.sink
            .send(Message::text(serde_json::to_string(msg)?))
            .await?;
        Ok(())
    }
}

impl Drop for PlenarySignalling {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Signalling for PlenarySignalling {
    fn client_offers_first(&self) -> bool {
        true
    }

    async fn send_offer(&mut self, sdp: String) -> anyhow::Result<()> {
        self.send(&ClientMessage::Offer { sdp }).await
    }

    async fn send_answer(&mut self, sdp: String) -> anyhow::Result<()> {
        self.send(&ClientMessage::Answer { sdp }).await
    }

    async fn send_view(&mut self, tiles: Vec<plenary_proto::TileReport>) -> anyhow::Result<()> {
        self.send(&ClientMessage::View { tiles }).await
    }

    async fn send_media_state(
        &mut self,
        audio: bool,
        video: bool,
        screen: bool,
    ) -> anyhow::Result<()> {
        self.send(&ClientMessage::MediaState {
            audio,
            video,
            screen,
        })
        .await
    }

    async fn recv(&mut self) -> anyhow::Result<Vec<Signal>> {
        // An unbounded channel's `recv` is cancel-safe.
        match self.signals.recv().await {
            Some(next) => next,
            None => bail!("server closed the WebSocket"),
        }
    }

    async fn leave(&mut self) -> anyhow::Result<()> {
        self.send(&ClientMessage::Leave {}).await?;
        let _ = self.sink.close().await;
        Ok(())
    }
}

/// Reads the WebSocket up to the next signals for the media session, keeping what else the
/// server says in `state`.
async fn next_signals(
    ws: &mut futures_util::stream::SplitStream<Ws>,
    state: &Mutex<Received>,
) -> anyhow::Result<Vec<Signal>> {
    loop {
        // `next()` on a WebSocket stream is cancel-safe: nothing is lost if dropped.
        let Some(frame) = ws.next().await else {
            bail!("server closed the WebSocket")
        };
        let Message::Text(text) = frame? else {
            continue;
        };
        let msg: ServerMessage = serde_json::from_str(text.as_str())?;
        let mut s = lock(state);
        return Ok(match msg {
            ServerMessage::Answer { sdp } => vec![Signal::Answer(sdp)],
            ServerMessage::Offer { sdp } => vec![Signal::Offer(sdp)],
            ServerMessage::TrackAdded {
                participant_id,
                kind,
                mid,
                ..
            } => {
                vec![Signal::TrackOwner {
                    mid,
                    participant: participant_id,
                    kind,
                }]
            }
            ServerMessage::ParticipantJoined { participant } => {
                s.participants.insert(participant.id, participant);
                continue;
            }
            ServerMessage::ParticipantLeft { participant_id } => {
                s.participants.remove(&participant_id);
                continue;
            }
            ServerMessage::MediaState {
                participant_id,
                audio,
                video,
                ..
            } => {
                if let Some(p) = s.participants.get_mut(&participant_id) {
                    p.audio = audio;
                    p.video = video;
                }
                continue;
            }
            ServerMessage::Error {
                code,
                message,
                fatal,
            } => {
                s.errors.push((code, message.clone()));
                if fatal {
                    bail!("server ended the session: {code:?}: {message}");
                }
                continue;
            }
            ServerMessage::Ended { reason } => {
                s.ended = Some(reason.clone());
                bail!("the meeting ended: {reason}");
            }
            ServerMessage::TrackRemoved { .. }
            | ServerMessage::Joined { .. }
            | ServerMessage::Waiting { .. }
            | ServerMessage::GuestWaiting { .. }
            | ServerMessage::LobbyLeft { .. }
            | ServerMessage::Chat { .. }
            | ServerMessage::ChatDeleted { .. }
            | ServerMessage::Hands { .. }
            | ServerMessage::Reaction { .. }
            | ServerMessage::ModeratorRequest { .. }
            | ServerMessage::RoleChanged { .. }
            | ServerMessage::Locks { .. }
            | ServerMessage::Recording { .. }
            | ServerMessage::ParticipantReconnecting { .. }
            | ServerMessage::ParticipantReconnected { .. }
            | ServerMessage::Speaking { .. }
            | ServerMessage::Quality { .. }
            | ServerMessage::Notice { .. }
            | ServerMessage::Poll { .. }
            | ServerMessage::PollVoted { .. }
            | ServerMessage::Agenda { .. }
            | ServerMessage::Speakers { .. }
            | ServerMessage::Notes { .. }
            | ServerMessage::NotesEdit { .. }
            | ServerMessage::NotesSaved { .. }
            | ServerMessage::NotesRefused { .. }
            | ServerMessage::Pong => continue,
        });
    }
}

/// What the media loop knows of what it receives: whose track each transceiver carries,
/// which transceiver each SSRC is, and the video frames still being completed.
#[derive(Default)]
struct Incoming {
    owners: HashMap<Mid, (ParticipantId, MediaKind)>,
    ssrc_mids: HashMap<Ssrc, Mid>,
    frames: HashMap<Mid, FramesIn>,
}

impl Incoming {
    /// The frame `p` completes, and whose track it is on: an audio packet is a frame; a
    /// video frame counts once all its packets are in (as a depacketizer would deliver it),
    /// read from its first.
    fn frame<'p>(
        &mut self,
        rtc: &mut Rtc,
        p: &'p RtpPacket,
    ) -> Option<(ParticipantId, MediaKind, Cow<'p, [u8]>)> {
        let ssrc = p.header.ssrc;
        let mid = match self.ssrc_mids.get(&ssrc) {
            Some(mid) => *mid,
            None => {
                let mid = rtc.direct_api().stream_rx(&ssrc)?.mid();
                self.ssrc_mids.insert(ssrc, mid);
                mid
            }
        };
        let &(owner, kind) = self.owners.get(&mid)?;
        let data = match kind {
            MediaKind::Audio => Cow::Borrowed(&p.payload[..]),
            MediaKind::Video => Cow::Owned(self.frames.entry(mid).or_default().packet(
                *p.seq_no,
                p.header.timestamp,
                p.header.marker,
                &p.payload,
            )?),
        };
        Some((owner, kind, data))
    }
}

async fn drain(
    rtc: &mut Rtc,
    udp: &UdpSocket,
    incoming: &mut Incoming,
    state: &Mutex<Received>,
    media: &mut Media,
) -> anyhow::Result<Instant> {
    loop {
        match rtc.poll_output()? {
            Output::Timeout(t) => return Ok(t),
            Output::Transmit(t) => {
                let _ = udp.send_to(&t.contents, t.destination).await;
            }
            Output::Event(Event::Connected) => {
                let mut s = lock(state);
                s.connected = true;
                media.epoch = Instant::now();
            }
            Output::Event(Event::RtpPacket(p)) => {
                if let Some((owner, kind, data)) = incoming.frame(rtc, &p) {
                    let now_us = micros_since_epoch(Instant::now());
                    let mut s = lock(state);
                    *s.frames.entry((owner, kind)).or_default() += 1;
                    if let Some(h) = parse_synthetic_frame(&data) {
                        if h.publisher == owner && h.kind == kind {
                            s.frames_matching_owner += 1;
                        }
                        if h.kind == MediaKind::Video && h.track == 0 {
                            *s.layers.entry((owner, h.layer)).or_default() += 1;
                        }
                        s.accounting.record(&h, now_us);
                    }
                }
            }
            Output::Event(Event::KeyframeRequest(r)) => {
                match r
                    .rid
                    .and_then(|rid| LAYERS.iter().position(|(x, _, _)| rid.to_string() == *x))
                {
                    Some(i) => media.layer_keyframe_wanted[i] = true,
                    None => media.keyframe_wanted = true,
                }
                lock(state).keyframe_requests += 1;
            }
            Output::Event(_) => {}
        }
    }
}

fn send_due_media(
    rtc: &mut Rtc,
    media: &mut Media,
    now: Instant,
    state: &Mutex<Received>,
) -> anyhow::Result<()> {
    let me = lock(state).you.unwrap_or(ParticipantId(0));
    let since = |hz: u64| ((now - media.epoch).as_micros() as u64 * hz / 1_000_000) as u32;
    let sent_us = micros_since_epoch(now);
    let mut written = 0;
    if let (Some(mid), true) = (media.audio_mid, media.next_audio <= now) {
        let pt = pt_of(rtc, Codec::Opus)?;
        let h = FrameHeader {
            publisher: me,
            kind: MediaKind::Audio,
            track: 0,
            seq: media.audio_seq,
            sent_us,
            layer: 0,
        };
        let exts = ExtensionValues {
            audio_level: media.publish.audio_level,
            voice_activity: media.publish.audio_level.map(|l| l >= -50),
            ..ExtensionValues::default()
        };
        let mut api = rtc.direct_api();
        if let Some(tx) = api.stream_tx_by_mid(mid, None) {
            let frame = synthetic_frame(h, false, AUDIO_BYTES);
            media.audio_out.audio(since(48_000), frame, &mut |p| {
                tx.write_rtp(
                    RtpWrite::new(pt, p.seq.into(), p.time, now, p.payload)
                        .marker(p.marker)
                        .ext_vals(exts.clone()),
                );
            });
            written += 1;
        }
        media.audio_seq = media.audio_seq.wrapping_add(1);
        media.next_audio = next_due(media.next_audio, AUDIO_INTERVAL, now);
    }
    if !media.video_mids.is_empty() && media.next_video <= now {
        let pt = pt_of(rtc, Codec::Vp8)?;
        let key = std::mem::take(&mut media.keyframe_wanted);
        let clock = since(90_000);
        let bytes = media.publish.video_frame_bytes();
        for (i, mid) in media.video_mids.iter().enumerate() {
            let h = FrameHeader {
                publisher: me,
                kind: MediaKind::Video,
                track: i as u8,
                seq: media.video_seq,
                sent_us,
                layer: 0,
            };
            let simulcast = i == 0 && media.publish.simulcast;
            for (l, out) in media.video_out[i].iter_mut().enumerate() {
                let frame = if simulcast {
                    let (_, size, share) = LAYERS[l];
                    let key = key || std::mem::take(&mut media.layer_keyframe_wanted[l]);
                    let h = FrameHeader {
                        layer: l as u8,
                        ..h
                    };
                    crate::frame::synthetic_frame_sized(h, key, bytes / share, size)
                } else {
                    synthetic_frame(h, key, bytes)
                };
                let rid = simulcast.then(|| LAYERS[l].0.into());
                let mut api = rtc.direct_api();
                let Some(tx) = api.stream_tx_by_mid(*mid, rid) else {
                    continue;
                };
                out.vp8(clock, &frame, &mut |p| {
                    tx.write_rtp(
                        RtpWrite::new(pt, p.seq.into(), p.time, now, p.payload)
                            .marker(p.marker)
                            .nackable(true),
                    );
                });
                written += 1;
            }
        }
        media.video_seq = media.video_seq.wrapping_add(1);
        media.next_video = next_due(media.next_video, VIDEO_INTERVAL, now);
    }
    lock(state).frames_sent += written;
    Ok(())
}

/// The next send time: one interval on, keeping the cadence, unless the task fell behind
/// (then it restarts from now rather than bursting to catch up).
fn next_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next < now { now + interval } else { next }
}

fn pt_of(rtc: &Rtc, codec: Codec) -> anyhow::Result<str0m::media::Pt> {
    rtc.codec_config()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .context("codec not configured")
}
