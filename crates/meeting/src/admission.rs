//! Admission: the one place that decides who enters a room and as what, and the only minter of
//! join tokens. Every entrance asks here — the native API (and the meeting page through it),
//! the BigBlueButton adapter's join links — and signalling only verifies a token and takes its
//! seat here. A token is one seat: connecting again with it takes the seat over (the other
//! connection is closed), it never adds a participant; limits count held seats, checked and
//! written in one store transaction.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use plenary_proto::clock::unix_secs;
use plenary_proto::{NoticeCode, ParticipantId, Role, RoomId, ServerMessage};
use plenary_store::{Room, SeatTaken, StoreError, User};
use sha2::{Digest, Sha256};

use crate::capacity::Overload;
use crate::room_settings::{Access, GuestPolicy, Joiner, RoomSettings, decide};
use crate::token::{JoinClaims, sign_join_token};
use crate::{Service, moderates};

/// How long a token from the native API admits: the page that asked uses it at once.
pub const LINK_TOKEN_SECS: u64 = 300;
/// How long an integration's join link admits (reloads of the meeting page within this time
/// take the same seat again).
pub const INTEGRATION_TOKEN_SECS: u64 = 12 * 3600;
/// Wrong access codes allowed per room and address in [`CODE_WINDOW`].
pub const CODE_ATTEMPTS: usize = 20;
pub const CODE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// A held seat whose node has not renewed it for this long is free (its node is gone).
pub const SEAT_LEASE_SECS: i64 = 5 * 60;

/// Someone asking to enter a room.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub room: RoomId,
    /// The display name they typed (an integration's `fullName`).
    pub name: String,
    pub via: Via,
}

/// Which entrance a request came through, with what that entrance vouches for.
#[derive(Debug, Clone)]
pub enum Via {
    /// A room's link (the meeting page, the native API): a signed-in account or a guest.
    Link {
        account: Option<User>,
        access_code: Option<String>,
        /// Their address (behind trusted proxies, the one forwarded): access-code guessing
        /// is limited per room and address.
        client: IpAddr,
    },
    /// An integration's join link, its checksum and password already checked by the adapter.
    Integration(IntegrationJoin),
}

/// What an integration's join call says about the person.
#[derive(Debug, Clone)]
pub struct IntegrationJoin {
    pub role: Role,
    /// `guest=true`: the meeting's guest policy applies.
    pub guest: bool,
    /// The integration's own id for the person (a rejoin with it takes the same seat).
    pub user_id: String,
    pub logout_url: Option<String>,
    pub start_muted: bool,
}

/// A decision to let someone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub token: String,
    pub room: RoomId,
    pub name: String,
    pub role: Role,
    /// They wait in the waiting room until a moderator lets them in.
    pub wait: bool,
    pub expires_at: u64,
}

/// What limits a meeting's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitBy {
    /// The server's `max_participants`.
    Server,
    /// The room owner's organisation.
    Organisation,
    /// The meeting's own limit (BBB `maxParticipants`).
    Meeting,
}

/// Why someone may not enter. Every entrance translates these into its own wire form.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no such room")]
    NoSuchRoom,
    #[error("this meeting is joined through the link of the site that organises it")]
    IntegrationOnly,
    #[error("this room needs an access code")]
    CodeRequired,
    #[error("that access code is not right")]
    WrongCode,
    #[error("too many access code attempts; try again in {minutes} minutes")]
    TooManyAttempts { minutes: u64 },
    #[error("this room is for signed-in members only")]
    SignInRequired,
    #[error("this meeting has not started: a moderator must open it first")]
    NotStarted,
    #[error("this meeting is full ({max} participants)")]
    Full { max: i64, by: LimitBy },
    #[error("you have been denied access to this meeting by its guest policy")]
    GuestDenied,
    #[error("this meeting has ended")]
    Ended,
    #[error("{0}")]
    BadName(&'static str),
    /// The token names no seat (never issued here, or expired, or its room is gone).
    #[error("this token admits nobody: join through the room's link again")]
    UnknownSeat,
    #[error("a moderator removed you from this meeting")]
    Barred,
    /// Taking one more would overload this node ([`crate::capacity`]).
    #[error("{0}: try again later")]
    Busy(Overload),
    #[error("the server cannot reach its database right now")]
    Unavailable(#[source] StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "admission storage failure");
        Self::Unavailable(e)
    }
}

impl Service {
    /// Decides whether `req` may enter and, if so, records its seat and mints its token.
    pub async fn admit(&self, req: JoinRequest) -> Result<Grant, Refusal> {
        let room = self
            .store
            .get_room(&req.room)
            .await?
            .ok_or(Refusal::NoSuchRoom)?;
        if self.live.is_ended(&room.id) {
            return Err(Refusal::Ended);
        }
        let name = crate::names::clean_display_name(&req.name).map_err(Refusal::BadName)?;
        let settings = RoomSettings::parse(&room.settings);
        let now = unix_secs();
        let mut claims;
        let rejoin;
        match (&req.via, &settings.integration) {
            (Via::Link { .. }, Some(_)) => return Err(Refusal::IntegrationOnly),
            // An integration names only rooms it made.
            (Via::Integration(_), None) => return Err(Refusal::NoSuchRoom),
            (Via::Integration(j), Some(rules)) => {
                // As bbb-web 2.6+ without `authenticatedGuest` (its default): the policy applies
                // to every join marked `guest=true`, whatever its role.
                if j.guest && rules.guest_policy == GuestPolicy::AlwaysDeny {
                    return Err(Refusal::GuestDenied);
                }
                let exp = now as u64 + INTEGRATION_TOKEN_SECS;
                claims = JoinClaims::new(room.id.clone(), Some(name.clone()), j.role, exp);
                claims.user_id = Some(j.user_id.clone());
                claims.start_muted = j.start_muted;
                claims.logout_url = j.logout_url.clone();
                // BBB: a guest of an ASK_MODERATOR meeting waits (guestStatus WAIT).
                claims.wait_for_moderator =
                    j.guest && rules.guest_policy == GuestPolicy::AskModerator;
                // The same user of the integration always gets the same seat: a rejoin (a
                // second join link, a second tab) takes it over and counts once, as BBB
                // counts unique userIDs.
                claims.seat = seat_of(&room.id, &j.user_id);
                rejoin = self
                    .live
                    .participants(&room.id)
                    .iter()
                    .any(|p| p.user_id.as_deref() == Some(j.user_id.as_str()));
            }
            (
                Via::Link {
                    account,
                    access_code,
                    client,
                },
                None,
            ) => {
                let (role, wait, muted) = self
                    .decide_link(
                        &room,
                        &settings,
                        account.as_ref(),
                        access_code,
                        plenary_accounts::throttle::bucket(*client),
                    )
                    .await?;
                let exp = now as u64 + LINK_TOKEN_SECS;
                claims = JoinClaims::new(room.id.clone(), Some(name.clone()), role, exp);
                claims.wait_for_moderator = wait;
                claims.start_muted = muted;
                claims.account = account.as_ref().map(|a| a.id);
                claims.from = Some(plenary_accounts::throttle::bucket(*client).to_string());
                claims.seat = plenary_accounts::password::random_token();
                rejoin = false;
            }
        }
        if self.live.is_barred(&room.id, &claims.identity()) {
            return Err(Refusal::Barred);
        }
        if !rejoin {
            self.check_capacity()?;
        }
        // Refused early when full (the seat itself is checked again, atomically, when taken).
        let (max, by) = self.max_seats(&room, &settings).await?;
        if !rejoin && !claims.wait_for_moderator && self.store.held_seats(&room.id).await? >= max {
            return Err(Refusal::Full { max, by });
        }
        self.store
            .add_seat(&claims.seat, &room.id, claims.exp as i64, now)
            .await?;
        Ok(Grant {
            token: sign_join_token(&self.secret, &claims),
            room: room.id,
            name,
            role: claims.role,
            wait: claims.wait_for_moderator,
            expires_at: claims.exp,
        })
    }

    /// Whether this node may take someone new (refused: overloaded); the moderators of running
    /// meetings are told when it is near its capacity (at most every few minutes).
    fn check_capacity(&self) -> Result<(), Refusal> {
        let present = self.live.total();
        let checked = self.capacity.check(present);
        if self
            .capacity
            .should_warn(present + usize::from(checked.is_ok()), Instant::now())
        {
            tracing::warn!(present, limits = ?self.capacity.limits(), cpu = ?self.capacity.cpu(), "this node is near its capacity");
            self.live.tell_all_moderators(&ServerMessage::Notice {
                code: NoticeCode::NearCapacity,
            });
        }
        checked.map_err(Refusal::Busy)
    }

    /// Role, waiting room and muting for someone coming through a room's link.
    async fn decide_link(
        &self,
        room: &Room,
        settings: &RoomSettings,
        account: Option<&User>,
        access_code: &Option<String>,
        client: IpAddr,
    ) -> Result<(Role, bool, bool), Refusal> {
        let owner = match account {
            Some(u) => moderates(&*self.store, room, u.id).await?,
            None => false,
        };
        let code = access_code.as_deref().filter(|c| !c.trim().is_empty());
        // Wrong codes are limited per room and address: guessing is slow, and one guesser
        // does not lock everyone else out. A try with a code counts at once (so concurrent
        // guesses cannot all pass before any is counted) and is given back unless wrong.
        let attempts_key = format!("{}|{client}", room.id);
        if code.is_some()
            && let Err(wait) = self.code_attempts.check(&attempts_key, Instant::now())
        {
            return Err(Refusal::TooManyAttempts {
                minutes: wait.as_secs().div_ceil(60).max(1),
            });
        }
        let who = Joiner {
            owner,
            signed_in: account.is_some(),
            moderator_present: self
                .live
                .participants(&room.id)
                .iter()
                .any(|p| p.role == Role::Moderator),
        };
        let decided = decide(settings, who, code);
        if code.is_some() && decided != Access::WrongCode {
            self.code_attempts.refund(&attempts_key);
        }
        match decided {
            Access::Granted { role, wait, muted } => Ok((role, wait, muted)),
            Access::CodeRequired => Err(Refusal::CodeRequired),
            Access::SignInRequired => Err(Refusal::SignInRequired),
            Access::NotStarted => Err(Refusal::NotStarted),
            Access::WrongCode => Err(Refusal::WrongCode),
        }
    }

    /// The most seats a room's meeting may hold, and what sets that: the server's limit, the
    /// owner's organisations' and the meeting's own, whichever is tightest.
    async fn max_seats(
        &self,
        room: &Room,
        settings: &RoomSettings,
    ) -> Result<(i64, LimitBy), StoreError> {
        let mut limit = (self.settings.max_participants as i64, LimitBy::Server);
        if let Some(rules) = &settings.integration
            && rules.max_participants > 0
            && i64::from(rules.max_participants) < limit.0
        {
            limit = (i64::from(rules.max_participants), LimitBy::Meeting);
        }
        if let Some(owner) = room.owner_id
            && let Some(max) = plenary_accounts::limits_of(&*self.store, owner)
                .await?
                .max_participants
            && max < limit.0
        {
            limit = (max, LimitBy::Organisation);
        }
        Ok(limit)
    }

    /// Entering with a seat (taking it, then joining the engine and the meeting) is done one
    /// connection at a time per seat on this node: hold this while doing it. Without it, two
    /// connections with the same token could each take the seat before either was in the
    /// meeting to be told it was replaced, and both stay.
    pub async fn seat_entry(&self, seat: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.seat_locks.lock().unwrap_or_else(|p| p.into_inner());
            // Forget locks nobody holds or waits for (bounded memory).
            locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
            locks.entry(seat.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// A guest waits in the lobby with this token: its seat is kept (for as long as an
    /// integration's link lasts) so that it can still be taken when a moderator lets them in.
    pub async fn keep_seat_for_lobby(&self, claims: &JoinClaims) -> Result<(), Refusal> {
        let now = unix_secs();
        let until = now + INTEGRATION_TOKEN_SECS as i64;
        match self
            .store
            .extend_seat(&claims.seat, &claims.room, until, now)
            .await?
        {
            true => Ok(()),
            false => Err(Refusal::UnknownSeat),
        }
    }

    /// Gives the token's seat to participant `id` of this node, within the room's limit; a
    /// connection of this node that held it is told it was replaced. Call it holding
    /// [`Service::seat_entry`] until the participant is in the meeting.
    /// Returns what the meeting starts with should this join start it (an integration's lock
    /// settings, the room's agenda).
    pub async fn take_seat(
        &self,
        claims: &JoinClaims,
        id: ParticipantId,
    ) -> Result<crate::live::Starting, Refusal> {
        let room = self
            .store
            .get_room(&claims.room)
            .await?
            .ok_or(Refusal::NoSuchRoom)?;
        if self.live.is_ended(&room.id) {
            return Err(Refusal::Ended);
        }
        if self.live.is_barred(&room.id, &claims.identity()) {
            return Err(Refusal::Barred);
        }
        let settings = RoomSettings::parse(&room.settings);
        let (max, by) = self.max_seats(&room, &settings).await?;
        let holder = self.holder(id);
        let taken = self
            .store
            .take_seat(&claims.seat, &room.id, &holder, Some(max), unix_secs())
            .await?;
        match taken {
            SeatTaken::Taken { previous } => {
                // Someone new on this node (no connection held the seat): the node may have
                // filled since their token was minted, or a waiting guest is let in to a full
                // node. A connection taking over a held seat is not new.
                if previous.is_none()
                    && let Err(refused) = self.check_capacity()
                {
                    self.release_seat(claims, id).await;
                    return Err(refused);
                }
                if let Some(pid) = previous.as_deref().and_then(|p| self.own_participant(p)) {
                    self.live.replace(&room.id, pid);
                }
                // Another node's holder is not told yet: that needs the cluster's bus.
                Ok(crate::live::Starting {
                    locks: settings.integration.map(|r| r.locks).unwrap_or_default(),
                    agenda: settings.agenda,
                })
            }
            SeatTaken::Full => Err(Refusal::Full { max, by }),
            SeatTaken::Unknown => Err(Refusal::UnknownSeat),
        }
    }

    /// The claims of a token this server minted, if it is still valid at `now` (seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<JoinClaims, crate::TokenError> {
        crate::token::verify_join_token(&self.secret, token, now)
    }

    /// Frees the seat participant `id` held (if it still does).
    pub async fn release_seat(&self, claims: &JoinClaims, id: ParticipantId) {
        if let Err(e) = self
            .store
            .release_seat(&claims.seat, &self.holder(id))
            .await
        {
            tracing::error!(error = %e, room = %claims.room, "could not free a seat");
        }
    }

    /// Looks after this run's seats (every minute): renews their lease, frees those held by
    /// participants no longer in any meeting here (a release that failed, a task that died),
    /// and frees any node's seats whose lease lapsed (a node that died, or was renamed).
    /// Limits count only the present.
    pub async fn sweep_seats(&self) -> Result<u64, StoreError> {
        let prefix = self.holder_prefix();
        let now = unix_secs();
        self.store.renew_seats(&prefix, now).await?;
        let mut freed = 0;
        for (seat, holder) in self.store.node_seats(&prefix).await? {
            let Some(pid) = self.own_participant(&holder) else {
                continue;
            };
            if self.live.is_present(pid) {
                continue;
            }
            // A connection between taking this seat and joining holds the entry lock.
            let _entry = self.seat_entry(&seat).await;
            if self.live.is_present(pid) {
                continue;
            }
            match self.store.release_seat(&seat, &holder).await {
                Ok(true) => freed += 1,
                Ok(false) => {}
                // One seat's trouble does not stop the others'.
                Err(e) => tracing::error!(error = %e, "could not free an orphaned seat"),
            }
        }
        freed += self.store.free_stale_seats(now - SEAT_LEASE_SECS).await?;
        Ok(freed)
    }

    /// `<node>/<run>:` — what this run's holders start with.
    pub(crate) fn holder_prefix(&self) -> String {
        format!("{}/{}:", self.settings.node, self.run)
    }

    /// The participant of this run a holder names, if it is one of this run's.
    fn own_participant(&self, holder: &str) -> Option<ParticipantId> {
        holder
            .strip_prefix(&self.holder_prefix())
            .and_then(|p| p.parse::<u64>().ok())
            .map(ParticipantId)
    }

    fn holder(&self, id: ParticipantId) -> String {
        format!("{}{}", self.holder_prefix(), id.0)
    }
}

/// The seat an integration's user has in a room.
fn seat_of(room: &RoomId, user_id: &str) -> String {
    let d = Sha256::new()
        .chain_update(room.as_str().as_bytes())
        .chain_update([0])
        .chain_update(user_id.as_bytes())
        .finalize();
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
