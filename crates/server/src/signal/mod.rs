//! The signalling WebSocket at `/ws`: one task per connection, reading client messages,
//! forwarding server messages (from the meeting and from the media engine), and cleaning up
//! whatever way the connection ends. Protocol: `docs/protocol.md`, types: `plenary-proto`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use plenary_media::{MediaError, SfuEvent};
use plenary_proto::{
    ClientMessage, ErrorCode, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ParticipantId, ParticipantInfo,
    Role, RoomId, ServerMessage,
};
use tokio::sync::mpsc;

use crate::AppState;

mod in_meeting;
mod quality;
mod resume;
mod view;
use plenary_meeting::names::clean_display_name;
use plenary_meeting::{DecideError, JoinRefused, Outbox, Participant, ToConnection};
use plenary_meeting::{JoinClaims, Refusal};

/// Frames up to this size are read and answered with a `too_large` error; larger ones make
/// the WebSocket layer close the connection with code 1009 (message too big).
const HARD_FRAME_LIMIT: usize = 4 * MAX_MESSAGE_BYTES;
/// The read buffer a connection starts with. tungstenite's default (128 KiB) is allocated
/// for every connection and kept: with its growth, 215 KiB per participant on the heap
/// (heaptrack, a 25-person meeting), for messages that are mostly small (views, chat,
/// hands). A larger message (an SDP answer) still gets the room it needs: a frame's whole
/// length is reserved at its header.
const READ_BUFFER: usize = 8 * 1024;
/// A client that keeps sending wrong messages is cut off after this many errors.
const ERROR_BUDGET: u32 = 50;
/// A client that does not take a message within this time is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// A participant's outbox (meeting broadcasts waiting to be written to its socket).
const OUTBOX: usize = 256;
/// A connection that has not sent `join` by then is closed (idle sockets cost memory).
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings this often (browsers answer pings by themselves)…
const PING_EVERY: Duration = Duration::from_secs(20);
/// How often a participant's connection quality is looked at.
const QUALITY_EVERY: Duration = Duration::from_secs(5);
/// How long a connection the meeting let go of (removed, replaced, ended) stays open to say
/// why; its media stops at once.
const LET_GO: Duration = Duration::from_secs(2);
/// …and closes a connection it has heard nothing from for this long (a dead network: its
/// seat is freed instead of held for minutes).
const SILENCE: Duration = Duration::from_secs(60);

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

async fn upgrade(
    State(app): State<AppState>,
    slot: Option<axum::Extension<plenary_http::serve::ConnectionSlot>>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let client = plenary_meeting::usage::client_kind(
        headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            // The socket counts as an open connection of its address until it closes.
            let _slot = slot;
            let mut c = Connection::new(app);
            c.client = client.to_owned();
            c.run(socket).await
        })
}

#[derive(Debug)]
struct Joined {
    id: ParticipantId,
    room: RoomId,
    /// The token's claims: its seat is freed when the connection ends.
    claims: JoinClaims,
    /// Which of the participant's connections this is (see `plenary_meeting::reconnect`).
    generation: u64,
}

/// What the end of this connection means for the participant's place in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// The connection was lost: the place is held while they get back in.
    Hold,
    /// They left, or the server ended their part (removed, replaced, the meeting ended).
    Leave,
    /// A newer connection took the place (a resume): this one leaves everything to it.
    Superseded,
}

/// A guest in the waiting room: everything needed to finish joining once let in.
#[derive(Debug)]
struct Waiting {
    participant: Participant,
    room: RoomId,
    claims: JoinClaims,
}

/// What to do after a message.
enum Flow {
    Continue,
    Close,
}

struct Connection {
    app: AppState,
    joined: Option<Joined>,
    waiting: Option<Waiting>,
    errors: u32,
    outbox: Outbox,
    outbox_rx: mpsc::Receiver<ToConnection>,
    events: mpsc::UnboundedSender<SfuEvent>,
    events_rx: mpsc::UnboundedReceiver<SfuEvent>,
    /// What the SFU may forward of this participant, from the meeting, while in it.
    forwarding: Option<tokio::sync::watch::Receiver<plenary_proto::Forwarding>>,
    closing: Closing,
    /// The kind of client (from its User-Agent), for the usage ledger.
    client: String,
    /// When this connection last sent a call-quality report, and a problem report.
    last_quality: Option<std::time::Instant>,
    /// The engine's (packets forwarded, packets missing upstream) at the last quality report.
    last_forwarded: (u64, u64),
    /// Views taken in the current second (its start, how many).
    views: Option<(std::time::Instant, u32)>,
    last_problem: Option<std::time::Instant>,
}

type Sink = SplitSink<WebSocket, Message>;

impl Connection {
    fn new(app: AppState) -> Self {
        let (outbox, outbox_rx) = mpsc::channel(OUTBOX);
        let (events, events_rx) = mpsc::unbounded_channel();
        Self {
            app,
            joined: None,
            waiting: None,
            errors: 0,
            outbox,
            outbox_rx,
            events,
            events_rx,
            forwarding: None,
            closing: Closing::Hold,
            client: String::new(),
            last_quality: None,
            last_forwarded: (0, 0),
            views: None,
            last_problem: None,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let _open = self.app.meeting.live.connection();
        let (mut sink, mut stream) = socket.split();
        let join_deadline = tokio::time::sleep(JOIN_TIMEOUT);
        tokio::pin!(join_deadline);
        let mut ping = tokio::time::interval(PING_EVERY);
        // Late ticks do not come in a burst: each is a fresh look.
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let mut heard = tokio::time::Instant::now();
        let mut last_tick = tokio::time::Instant::now();
        let mut stopping = self.app.meeting.live.stopping();
        let mut quality = tokio::time::interval(QUALITY_EVERY);
        quality.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set when the meeting let go of this participant (removed, replaced, ended): the
        // connection closes by then even if the message saying why cannot reach the client.
        let let_go = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        tokio::pin!(let_go);
        let mut let_go_set = false;
        loop {
            let flow = tokio::select! {
                () = &mut let_go, if let_go_set => {
                    self.closing = Closing::Leave;
                    Flow::Close
                }
                () = &mut join_deadline, if self.joined.is_none() && self.waiting.is_none() => {
                    self.fatal(&mut sink, ErrorCode::Timeout, "no join within 10 seconds: closing").await
                }
                _ = stopping.changed(), if self.joined.is_none() && self.waiting.is_none() => {
                    // The server is stopping and this connection is in no meeting (those in one
                    // are told by the meeting).
                    self.fatal(&mut sink, ErrorCode::Unavailable, "the server is stopping").await
                }
                _ = ping.tick() => {
                    // A loop held up elsewhere did not read the client's answers: it is not the
                    // client's silence.
                    if last_tick.elapsed() > PING_EVERY * 2 {
                        heard = tokio::time::Instant::now();
                    }
                    last_tick = tokio::time::Instant::now();
                    if heard.elapsed() > SILENCE {
                        tracing::debug!("nothing heard for a minute: closing");
                        Flow::Close
                    } else {
                        match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await {
                            Ok(Ok(())) => Flow::Continue,
                            _ => Flow::Close,
                        }
                    }
                }
                frame = stream.next() => { heard = tokio::time::Instant::now(); match frame {
                    Some(Ok(Message::Text(text))) => self.handle_text(&mut sink, text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        self.refuse(&mut sink, ErrorCode::BadMessage, "binary frames are not part of the protocol; send JSON text").await
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                    Some(Ok(Message::Close(_))) | None => Flow::Close,
                    Some(Err(e)) => {
                        // Includes frames over HARD_FRAME_LIMIT: the WebSocket layer has
                        // already sent close code 1009 with the reason.
                        tracing::debug!(error = %e, "WebSocket read failed");
                        Flow::Close
                    }
                }},
                Some(to) = self.outbox_rx.recv() => match to {
                    ToConnection::Message(msg) => match send(&mut sink, &msg).await {
                        Flow::Continue if matches!(msg, ServerMessage::Ended { .. }) => {
                            self.closing = Closing::Leave;
                            Flow::Close
                        }
                        flow => flow,
                    },
                    ToConnection::Superseded => {
                        self.closing = Closing::Superseded;
                        Flow::Close
                    }
                    ToConnection::Admitted => match self.waiting.take() {
                        Some(w) => self.enter(&mut sink, w.participant, w.room, w.claims).await,
                        None => Flow::Continue,
                    },
                    ToConnection::Denied => {
                        self.waiting = None;
                        self.fatal(&mut sink, ErrorCode::GuestDenied, "a moderator did not let you in").await
                    }
                    ToConnection::Removed { barred } => {
                        let (code, why) = if barred {
                            (ErrorCode::Barred, "a moderator removed you from this meeting; you cannot come back to it")
                        } else {
                            (ErrorCode::Removed, "a moderator removed you from this meeting")
                        };
                        self.fatal(&mut sink, code, why).await
                    }
                    ToConnection::Replaced => {
                        self.fatal(&mut sink, ErrorCode::Replaced, "you joined again with the same link elsewhere (another window or device): this one is closed").await
                    }
                },
                Some(event) = self.events_rx.recv() => self.handle_media_event(&mut sink, event).await,
                _ = quality.tick(), if self.joined.is_some() => {
                    if let Some(j) = &self.joined
                        && let Some(stats) = self.app.engine.stats(j.id).await
                    {
                        self.app.meeting.live.set_quality(&j.room, j.id, stats.quality());
                    }
                    Flow::Continue
                }
                changed = forwarding_changed(&mut self.forwarding) => {
                    match (changed, self.forwarding.as_mut(), self.joined.as_ref()) {
                        (true, Some(rx), Some(j)) => {
                            let now = *rx.borrow_and_update();
                            self.app.engine.set_forwarding(j.id, now).await;
                        }
                        // The meeting let go of this participant (removed, replaced, ended): at
                        // once nothing of theirs is forwarded and nothing reaches them; the
                        // connection closes when it has said why, or after LET_GO.
                        (_, _, Some(j)) => {
                            self.forwarding = None;
                            self.app.engine.remove(j.id).await;
                            let_go.as_mut().reset(tokio::time::Instant::now() + LET_GO);
                            let_go_set = true;
                        }
                        _ => self.forwarding = None,
                    }
                    Flow::Continue
                }
            };
            if let Flow::Close = flow {
                break;
            }
        }
        self.cleanup().await;
        drop(_open);
        let _ = sink.close().await;
    }

    /// Sends an error; cuts the connection off when it is fatal or the budget is spent.
    async fn refuse(&mut self, sink: &mut Sink, code: ErrorCode, message: &str) -> Flow {
        self.errors += 1;
        let fatal = self.errors >= ERROR_BUDGET;
        let message = if fatal {
            format!("{message} (too many errors: closing)")
        } else {
            message.to_owned()
        };
        let flow = send(sink, &ServerMessage::error(code, message, fatal)).await;
        if fatal {
            // Cut off: nothing is held for them.
            self.closing = Closing::Leave;
            Flow::Close
        } else {
            flow
        }
    }

    async fn fatal(&mut self, sink: &mut Sink, code: ErrorCode, message: &str) -> Flow {
        // The server ended this participant's part: nothing is held for them.
        self.closing = Closing::Leave;
        let _ = send(sink, &ServerMessage::error(code, message, true)).await;
        Flow::Close
    }

    async fn handle_text(&mut self, sink: &mut Sink, text: &str) -> Flow {
        let msg = match ClientMessage::parse(text) {
            Ok(m) => m,
            Err(e) => return self.refuse(sink, e.code, &e.message).await,
        };
        if self.waiting.is_some()
            && !matches!(msg, ClientMessage::Ping {} | ClientMessage::Leave {})
        {
            let what = format!("\"{}\" while waiting to be let in", msg.type_name());
            return self.refuse(sink, ErrorCode::WrongOrder, &what).await;
        }
        // A connection whose participant got back in on a newer one acts for nobody: its
        // offers, answers and actions would reach the newer one's media and place.
        if let Some(j) = &self.joined
            && !matches!(msg, ClientMessage::Ping {} | ClientMessage::Leave {})
            && self
                .app
                .meeting
                .live
                .generation_of(&j.room, j.id)
                .is_some_and(|g| g != j.generation)
        {
            self.closing = Closing::Superseded;
            return Flow::Close;
        }
        match (msg, self.joined.as_ref()) {
            (ClientMessage::Ping {}, _) => send(sink, &ServerMessage::Pong).await,
            (
                ClientMessage::Join {
                    v,
                    room,
                    name,
                    token,
                },
                None,
            ) => self.join(sink, v, room, name, token).await,
            (
                ClientMessage::Resume {
                    v,
                    room,
                    participant_id,
                    key,
                },
                None,
            ) => self.resume(sink, v, room, participant_id, key).await,
            (ClientMessage::Join { .. } | ClientMessage::Resume { .. }, Some(_)) => {
                self.refuse(
                    sink,
                    ErrorCode::WrongOrder,
                    "already joined; open a new connection to join another room",
                )
                .await
            }
            (ClientMessage::Leave {}, _) => {
                self.closing = Closing::Leave;
                Flow::Close
            }
            (other, None) => {
                let what = format!("\"{}\" before \"join\": join first", other.type_name());
                self.refuse(sink, ErrorCode::WrongOrder, &what).await
            }
            (ClientMessage::Offer { sdp }, Some(j)) => {
                let id = j.id;
                match self.app.engine.offer(id, sdp).await {
                    Ok(answer) => send(sink, &ServerMessage::Answer { sdp: answer }).await,
                    Err(e) => self.media_error(sink, e).await,
                }
            }
            (ClientMessage::Answer { sdp }, Some(j)) => {
                let id = j.id;
                match self.app.engine.answer(id, sdp).await {
                    Ok(()) => Flow::Continue,
                    Err(e) => self.media_error(sink, e).await,
                }
            }
            (
                ClientMessage::MediaState {
                    audio,
                    video,
                    screen,
                },
                Some(j),
            ) => {
                let (room, me) = (j.room.clone(), j.id);
                match self
                    .app
                    .meeting
                    .live
                    .set_media_state(&room, me, audio, video, screen)
                {
                    Ok(()) => Flow::Continue,
                    Err(e) => self.action_refused(sink, e).await,
                }
            }
            (ClientMessage::Admit { participant_id }, Some(j)) => {
                let (room, me) = (j.room.clone(), j.id);
                self.decide(sink, &room, me, participant_id, true).await
            }
            (ClientMessage::Deny { participant_id }, Some(j)) => {
                let (room, me) = (j.room.clone(), j.id);
                self.decide(sink, &room, me, participant_id, false).await
            }
            (
                msg @ (ClientMessage::Chat { .. }
                | ClientMessage::ChatDelete { .. }
                | ClientMessage::Hand { .. }
                | ClientMessage::LowerHand { .. }
                | ClientMessage::React { .. }
                | ClientMessage::Moderate { .. }
                | ClientMessage::MuteAll {}
                | ClientMessage::Lock { .. }
                | ClientMessage::EndMeeting {}
                | ClientMessage::Record { .. }
                | ClientMessage::PollOpen { .. }
                | ClientMessage::PollVote { .. }
                | ClientMessage::PollClose { .. }
                | ClientMessage::AgendaSet { .. }
                | ClientMessage::AgendaGo { .. }
                | ClientMessage::SpeakerNext {}
                | ClientMessage::SpeakerDone {}
                | ClientMessage::SpeakersSet { .. }
                | ClientMessage::NotesSync {}
                | ClientMessage::NotesEdit { .. }),
                Some(j),
            ) => {
                let (room, me) = (j.room.clone(), j.id);
                self.in_meeting(sink, msg, &room, me).await
            }
            (ClientMessage::QualityReport { report }, Some(_)) => {
                self.quality_report(sink, report).await
            }
            (ClientMessage::ProblemReport { note, report }, Some(_)) => {
                self.problem_report(sink, note, report).await
            }
            (ClientMessage::View { tiles }, Some(j)) => {
                let id = j.id;
                self.view(sink, id, tiles).await
            }
        }
    }

    async fn decide(
        &mut self,
        sink: &mut Sink,
        room: &RoomId,
        me: ParticipantId,
        guest: ParticipantId,
        admit: bool,
    ) -> Flow {
        let (code, why) = match self.app.meeting.live.decide(room, me, guest, admit) {
            Ok(()) => return Flow::Continue,
            Err(DecideError::NotModerator) => {
                (ErrorCode::Forbidden, "only a moderator can let guests in")
            }
            Err(DecideError::NotWaiting) => {
                (ErrorCode::UnknownParticipant, "that guest is not waiting")
            }
        };
        self.refuse(sink, code, why).await
    }

    async fn media_error(&mut self, sink: &mut Sink, e: MediaError) -> Flow {
        let code = match e {
            MediaError::BadSdp(_) | MediaError::Negotiation(_) => ErrorCode::BadSdp,
            MediaError::Glare => ErrorCode::Glare,
            MediaError::NoPendingOffer => ErrorCode::WrongOrder,
            MediaError::UnknownParticipant(_)
            | MediaError::DuplicateParticipant(_)
            | MediaError::Startup(_) => {
                return self
                    .fatal(sink, ErrorCode::Unavailable, &e.to_string())
                    .await;
            }
        };
        self.refuse(sink, code, &e.to_string()).await
    }

    async fn join(
        &mut self,
        sink: &mut Sink,
        v: u32,
        room: RoomId,
        name: String,
        token: String,
    ) -> Flow {
        if v != PROTOCOL_VERSION {
            return self.unsupported(sink, v).await;
        }
        let now = plenary_proto::clock::unix_secs() as u64;
        let claims = match self.app.meeting.verify(&token, now) {
            Ok(c) => c,
            Err(e) => {
                return self
                    .fatal(sink, ErrorCode::InvalidToken, &e.to_string())
                    .await;
            }
        };
        if claims.room != room {
            return self
                .fatal(
                    sink,
                    ErrorCode::InvalidToken,
                    "the token is for another room",
                )
                .await;
        }
        match self.app.store.get_room(&room).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return self
                    .fatal(sink, ErrorCode::RoomNotFound, "no such room")
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "room lookup failed");
                return self
                    .fatal(
                        sink,
                        ErrorCode::Unavailable,
                        "the server cannot read its database right now",
                    )
                    .await;
            }
        }
        let name = match clean_display_name(claims.name.as_deref().unwrap_or(&name)) {
            Ok(n) => n,
            Err(why) => return self.fatal(sink, ErrorCode::BadMessage, why).await,
        };
        let participant = Participant {
            info: ParticipantInfo {
                id: self.app.meeting.live.next_participant_id(),
                name,
                audio: false,
                video: false,
                screen: false,
                reconnecting: false,
                speaking: false,
                quality: plenary_proto::Quality::Good,
                role: claims.role,
            },
            role: claims.role,
            user_id: claims.user_id.clone(),
            identity: claims.identity(),
            client: self.client.clone(),
        };
        // Someone a moderator promoted earlier in this meeting does not wait again.
        let promoted = self.app.meeting.live.given_role(&room, &claims) == Some(Role::Moderator);
        if claims.wait_for_moderator && !promoted {
            return self.wait(sink, participant, room, claims).await;
        }
        self.enter(sink, participant, room, claims).await
    }

    /// Puts a guest in the waiting room until a moderator decides.
    async fn wait(
        &mut self,
        sink: &mut Sink,
        participant: Participant,
        room: RoomId,
        claims: JoinClaims,
    ) -> Flow {
        let (you, name) = (participant.info.id, participant.info.name.clone());
        // However long the guest waits, their seat is still there to take when let in.
        if let Err(refused) = self.app.meeting.keep_seat_for_lobby(&claims).await {
            let code = match refused {
                Refusal::UnknownSeat => ErrorCode::InvalidToken,
                _ => ErrorCode::Unavailable,
            };
            return self.fatal(sink, code, &refused.to_string()).await;
        }
        if self
            .app
            .meeting
            .live
            .wait(
                &room,
                participant.clone(),
                self.outbox.clone(),
                claims.clone(),
            )
            .is_err()
        {
            return self
                .fatal(sink, ErrorCode::MeetingEnded, "this meeting has ended")
                .await;
        }
        tracing::info!(participant = %you, %room, "waiting to be let in");
        self.waiting = Some(Waiting {
            participant,
            room,
            claims,
        });
        send(sink, &ServerMessage::Waiting { you, name }).await
    }

    /// Adds the participant to the media engine and the meeting, and answers `joined`.
    async fn enter(
        &mut self,
        sink: &mut Sink,
        participant: Participant,
        room: RoomId,
        claims: JoinClaims,
    ) -> Flow {
        let id = participant.info.id;
        let name = participant.info.name.clone();
        // Until this participant is in the meeting, no other connection enters with the seat.
        let meeting = self.app.meeting.clone();
        let _entry = meeting.seat_entry(&claims.seat).await;
        let starting = match self.app.meeting.take_seat(&claims, id).await {
            Ok(starting) => starting,
            Err(refused) => {
                let code = match refused {
                    Refusal::NoSuchRoom => ErrorCode::RoomNotFound,
                    Refusal::Ended => ErrorCode::MeetingEnded,
                    Refusal::Full { .. } => ErrorCode::RoomFull,
                    Refusal::Busy(_) => ErrorCode::ServerBusy,
                    Refusal::UnknownSeat => ErrorCode::InvalidToken,
                    Refusal::Barred => ErrorCode::Barred,
                    Refusal::Unavailable(_) => ErrorCode::Unavailable,
                    _ => ErrorCode::Forbidden,
                };
                return self.fatal(sink, code, &refused.to_string()).await;
            }
        };
        if let Err(e) = self
            .app
            .engine
            .add(id, room.clone(), self.events.clone())
            .await
        {
            self.app.meeting.release_seat(&claims, id).await;
            return self
                .fatal(sink, ErrorCode::Unavailable, &e.to_string())
                .await;
        }
        let entered = match self.app.meeting.live.join(
            &room,
            participant,
            self.outbox.clone(),
            claims.clone(),
            starting,
        ) {
            Ok(e) => e,
            Err(refused) => {
                self.app.engine.remove(id).await;
                self.app.meeting.release_seat(&claims, id).await;
                let (code, why) = match refused {
                    JoinRefused::Ended => (ErrorCode::MeetingEnded, "this meeting has ended"),
                    JoinRefused::Barred => (
                        ErrorCode::Barred,
                        "a moderator removed you from this meeting; you cannot come back to it",
                    ),
                };
                return self.fatal(sink, code, why).await;
            }
        };
        self.start_forwarding(&room, id).await;
        // In the meeting now: another connection with this seat may come in (and replace us).
        drop(_entry);
        tracing::info!(participant = %id, %room, "joined");
        let joined = Joined {
            id,
            room,
            claims,
            generation: 0,
        };
        let role = entered.role;
        self.in_the_meeting(sink, joined, name, role, entered).await
    }

    /// The SFU forwards nothing of a participant until the meeting says what (locks, role);
    /// the client cannot offer media before `joined`, which follows.
    async fn start_forwarding(&mut self, room: &RoomId, id: ParticipantId) {
        if let Some(mut rx) = self.app.meeting.live.forwarding(room, id) {
            let now = *rx.borrow_and_update();
            self.app.engine.set_forwarding(id, now).await;
            self.forwarding = Some(rx);
        }
    }

    /// Answers `joined` (to a join or a resume) with what the participant may see.
    async fn in_the_meeting(
        &mut self,
        sink: &mut Sink,
        joined: Joined,
        name: String,
        role: Role,
        entered: plenary_meeting::Entered,
    ) -> Flow {
        let (id, room) = (joined.id, joined.room.clone());
        let lobby = match role {
            Role::Moderator => self.app.meeting.live.lobby(&room),
            Role::Participant => Vec::new(),
        };
        let (start_muted, logout_url) =
            (joined.claims.start_muted, joined.claims.logout_url.clone());
        let seen = self.app.meeting.live.snapshot(&room, id, role);
        let (polls, voted) = self.app.meeting.live.polls_snapshot(&room, &joined.claims);
        let (agenda, speakers) = self.app.meeting.live.floor_snapshot(&room);
        self.joined = Some(joined);
        send(
            sink,
            &ServerMessage::Joined {
                v: PROTOCOL_VERSION,
                you: id,
                name,
                room,
                participants: entered.others,
                role,
                start_muted,
                logout_url,
                lobby,
                chat: seen.chat,
                hands: seen.hands,
                locks: seen.locks,
                resume_key: entered.resume_key,
                media: entered.media,
                recording: seen.recording,
                polls,
                voted,
                agenda,
                speakers,
            },
        )
        .await
    }

    async fn unsupported(&mut self, sink: &mut Sink, v: u32) -> Flow {
        let m =
            format!("protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}");
        self.fatal(sink, ErrorCode::UnsupportedVersion, &m).await
    }

    async fn handle_media_event(&mut self, sink: &mut Sink, event: SfuEvent) -> Flow {
        let msg = match event {
            SfuEvent::Offer { sdp, .. } => ServerMessage::Offer { sdp },
            SfuEvent::TrackAdded {
                publisher,
                kind,
                mid,
                source,
                ..
            } => ServerMessage::TrackAdded {
                participant_id: publisher,
                kind,
                mid,
                source,
            },
            SfuEvent::TrackRemoved {
                publisher,
                kind,
                mid,
                source,
                ..
            } => ServerMessage::TrackRemoved {
                participant_id: publisher,
                kind,
                mid,
                source,
            },
            SfuEvent::Connected { .. } => return Flow::Continue,
            SfuEvent::Speaking { speaking, .. } => {
                if let Some(j) = &self.joined {
                    self.app.meeting.live.set_speaking(&j.room, j.id, speaking);
                }
                return Flow::Continue;
            }
            SfuEvent::Disconnected { .. } => {
                // The client reconnects (`resume`) to get its media back.
                return self
                    .refuse(
                        sink,
                        ErrorCode::MediaLost,
                        "the media connection was lost; reconnect",
                    )
                    .await;
            }
        };
        send(sink, &msg).await
    }
}

async fn send(sink: &mut Sink, msg: &ServerMessage) -> Flow {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(msg.to_json().into()))).await {
        Ok(Ok(())) => Flow::Continue,
        _ => Flow::Close,
    }
}

/// Whether the meeting changed what the SFU may forward (false: it never will again).
async fn forwarding_changed(
    rx: &mut Option<tokio::sync::watch::Receiver<plenary_proto::Forwarding>>,
) -> bool {
    match rx {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}
