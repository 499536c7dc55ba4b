//! The ledger's writer: one task that hears the live meetings' usage facts and writes them to
//! the store as they happen — every half second, together in one transaction (meeting started
//! and ended, joined and left, with the room's and the person's organisations at that moment), keeps what is open alive, closes what an
//! earlier run of this node left open, deletes raw events past their retention, and writes the
//! attendance of organisations that keep it.
//!
//! People are pseudonyms: a keyed hash of their account (or their integration's user id, or
//! their seat), the same in every meeting, meaningless without the server's key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use plenary_meeting::Meetings;
use plenary_meeting::usage::{Joiner, UsageFact, account_orgs, room_orgs};
use plenary_proto::{ParticipantId, Role, RoomId};
use plenary_store::{Attendance, Store, StoreError, UsageEvent, UsageKind, UsageOp};
use tokio::sync::mpsc;

/// How often what is open is said to be alive (and others' stale rows looked at).
const ALIVE_EVERY: Duration = Duration::from_secs(60);
/// How often raw events past retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// What nobody said was open for this long is closed at its last sign of life.
const STALE_AFTER_MS: i64 = 10 * 60_000;
/// A lookup the store refused is tried this many times, a second apart, before it is given
/// up (logged). Writes are never given up (see `Writer::flush`).
const ATTEMPTS: u32 = 30;
/// The longest wait between two tries of a write.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Facts are written together, in one transaction, this often (or when this many wait): a
/// join does not wait behind a commit of the ledger's each time. A kill loses at most this
/// much of the ledger (what was open is closed at its last renewal anyway).
const FLUSH_EVERY: Duration = Duration::from_millis(500);
const FLUSH_AT: usize = 256;

/// The ledger's part of the settings.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// This node's name (its keys are `<node>/<run>:…`).
    pub node: String,
    pub region: String,
    /// The pseudonyms' key (derived from the server's secret: the same across restarts).
    pub key: [u8; 32],
    /// Raw events are deleted after this many days (`None`: kept).
    pub retention_days: Option<u32>,
}

/// The running writer: [`Ledger::finish`] waits until everything told to it is written.
#[derive(Debug)]
pub struct Ledger {
    task: tokio::task::JoinHandle<()>,
}

impl Ledger {
    /// Starts the writer on the meetings' usage facts.
    pub fn spawn(store: Arc<dyn Store>, meetings: &Meetings, settings: LedgerSettings) -> Self {
        let facts = meetings.usage_facts();
        let run = plenary_accounts::password::random_token()[..10].to_owned();
        let writer = Writer {
            prefix: format!("{}/{run}:", settings.node),
            store,
            settings,
            open: HashMap::new(),
            meetings: HashMap::new(),
            batch: Vec::new(),
            batches: 0,
        };
        Self {
            task: tokio::spawn(writer.run(facts)),
        }
    }

    /// Waits (at most `within`) until the facts told before the meetings let go of the
    /// ledger ([`Meetings::close_usage`]) are written.
    pub async fn finish(mut self, within: Duration) {
        if tokio::time::timeout(within, &mut self.task).await.is_err() {
            // Its retries would outlive the store's pool: what was open is closed at its
            // last renewal by the next start.
            self.task.abort();
            tracing::warn!("the usage ledger did not finish writing in time; stopped it");
        }
    }
}

/// Someone in a meeting, as the writer remembers them until they leave.
#[derive(Debug)]
struct Present {
    room: RoomId,
    meeting_ms: i64,
    joined_ms: i64,
    who: Joiner,
    /// The room's organisations that keep attendance.
    attendance_orgs: Vec<i64>,
}

/// A running meeting's organisations and name, looked up once.
#[derive(Debug, Clone)]
struct MeetingInfo {
    orgs: Vec<i64>,
    name: String,
}

struct Writer {
    store: Arc<dyn Store>,
    settings: LedgerSettings,
    /// `<node>/<run>:`
    prefix: String,
    open: HashMap<ParticipantId, Present>,
    meetings: HashMap<(RoomId, i64), MeetingInfo>,
    /// Writes waiting for the next flush, in order.
    batch: Vec<UsageOp>,
    /// Batches written by this run (each batch's id is `<prefix>b<n>`).
    batches: u64,
}

impl Writer {
    async fn run(mut self, mut facts: mpsc::UnboundedReceiver<UsageFact>) {
        let node_prefix = format!("{}/", self.settings.node);
        let now = plenary_proto::clock::unix_millis();
        match self
            .store
            .usage_close_stale(&node_prefix, &self.prefix, now - STALE_AFTER_MS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(closed = n, "closed the usage an earlier run left open"),
            Err(e) => {
                tracing::error!(error = %e, "cannot close the usage an earlier run left open")
            }
        }
        let mut alive = tokio::time::interval(ALIVE_EVERY);
        alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                fact = facts.recv() => match fact {
                    Some(f) => {
                        self.write(f).await;
                        if self.batch.len() >= FLUSH_AT {
                            self.flush().await;
                        }
                    }
                    None => break,
                },
                _ = flush.tick() => self.flush().await,
                _ = alive.tick() => {
                    self.flush().await;
                    self.keep_alive(&node_prefix).await;
                }
                _ = prune.tick() => self.prune().await,
            }
        }
        // The meetings let go (the server stops): what they told is written before it ends.
        self.flush().await;
    }

    /// Writes what waits, in one transaction (see [`write_batch`]). Facts behind it wait, in
    /// order.
    async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.batches += 1;
        let id = format!("{}b{}", self.prefix, self.batches);
        write_batch(&*self.store, &id, &self.batch).await;
        self.batch.clear();
    }

    async fn keep_alive(&self, node_prefix: &str) {
        let now = plenary_proto::clock::unix_millis();
        if let Err(e) = self.store.usage_alive(&self.prefix, now).await {
            tracing::warn!(error = %e, "cannot renew the open usage");
        }
        if let Err(e) = self
            .store
            .usage_close_stale(node_prefix, &self.prefix, now - STALE_AFTER_MS)
            .await
        {
            tracing::warn!(error = %e, "cannot close stale usage");
        }
    }

    async fn prune(&self) {
        let Some(days) = self.settings.retention_days else {
            return;
        };
        let before = plenary_proto::clock::unix_millis() - i64::from(days) * 86_400_000;
        match self.store.prune_usage(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "deleted usage events past retention"),
            Err(e) => tracing::warn!(error = %e, "cannot delete old usage events"),
        }
    }

    fn meeting_key(&self, room: &RoomId, meeting_ms: i64) -> String {
        format!("{}m:{}:{meeting_ms}", self.prefix, room.as_str())
    }

    fn person_key(&self, id: ParticipantId) -> String {
        format!("{}p:{}", self.prefix, id.0)
    }

    /// A meeting's organisations and name (looked up at its start, kept while it runs).
    async fn meeting_info(&mut self, room: &RoomId, meeting_ms: i64) -> MeetingInfo {
        if let Some(m) = self.meetings.get(&(room.clone(), meeting_ms)) {
            return m.clone();
        }
        let orgs = retry("the room's organisations", || room_orgs(&*self.store, room))
            .await
            .unwrap_or_default();
        let name = retry("the room", || self.store.get_room(room))
            .await
            .flatten()
            .map(|r| r.name)
            .unwrap_or_default();
        let info = MeetingInfo { orgs, name };
        self.meetings
            .insert((room.clone(), meeting_ms), info.clone());
        info
    }

    fn event(&self, kind: UsageKind, at_ms: i64, room: &RoomId, meeting_ms: i64) -> UsageEvent {
        let mut e = UsageEvent::new(kind, at_ms, room.as_str(), meeting_ms);
        e.node = self.settings.node.clone();
        e.region = self.settings.region.clone();
        e
    }

    async fn write(&mut self, fact: UsageFact) {
        match fact {
            UsageFact::MeetingStarted {
                room,
                meeting_ms,
                at_ms,
            } => {
                let info = self.meeting_info(&room, meeting_ms).await;
                let mut e = self.event(UsageKind::MeetingStarted, at_ms, &room, meeting_ms);
                e.room_orgs = info.orgs;
                let key = self.meeting_key(&room, meeting_ms);
                self.batch.push(UsageOp::Open { key, event: e });
            }
            UsageFact::MeetingEnded {
                room,
                meeting_ms,
                at_ms,
            } => {
                let key = self.meeting_key(&room, meeting_ms);
                self.batch.push(UsageOp::Close { key, at_ms });
                self.meetings.remove(&(room, meeting_ms));
            }
            UsageFact::Joined {
                room,
                meeting_ms,
                at_ms,
                participant,
                who,
            } => {
                let info = self.meeting_info(&room, meeting_ms).await;
                let mut e = self.event(UsageKind::Joined, at_ms, &room, meeting_ms);
                e.person = Some(pseudonym(&self.settings.key, &who));
                e.role = Some(
                    match who.role {
                        Role::Moderator => "moderator",
                        Role::Participant => "participant",
                    }
                    .into(),
                );
                e.member = Some(who.account.is_some());
                e.client = Some(who.client.clone());
                e.room_orgs = info.orgs.clone();
                if let Some(a) = who.account {
                    e.person_orgs = retry("the person's organisations", || {
                        account_orgs(&*self.store, a)
                    })
                    .await
                    .unwrap_or_default();
                }
                let key = self.person_key(participant);
                self.batch.push(UsageOp::Open { key, event: e });
                let mut attendance_orgs = Vec::new();
                for org in &info.orgs {
                    if retry("attendance rules", || self.store.keeps_attendance(*org))
                        .await
                        .unwrap_or(false)
                    {
                        attendance_orgs.push(*org);
                    }
                }
                self.open.insert(
                    participant,
                    Present {
                        room,
                        meeting_ms,
                        joined_ms: at_ms,
                        who,
                        attendance_orgs,
                    },
                );
            }
            UsageFact::Left {
                at_ms, participant, ..
            } => {
                let key = self.person_key(participant);
                self.batch.push(UsageOp::Close { key, at_ms });
                let Some(p) = self.open.remove(&participant) else {
                    return;
                };
                let room_name = self
                    .meetings
                    .get(&(p.room.clone(), p.meeting_ms))
                    .map(|m| m.name.clone())
                    .unwrap_or_default();
                for org in p.attendance_orgs {
                    let a = Attendance {
                        org_id: org,
                        room: p.room.as_str().to_owned(),
                        room_name: room_name.clone(),
                        meeting_ms: p.meeting_ms,
                        account_id: p.who.account,
                        name: p.who.name.clone(),
                        joined_ms: p.joined_ms,
                        left_ms: at_ms.max(p.joined_ms),
                    };
                    self.batch.push(UsageOp::Attendance(a));
                }
            }
        }
    }
}

/// Writes one batch of the ledger's facts under `id`, in one transaction, trying again while
/// the store's refusal is transient (unreachable, busy, out of disk: never given up, since a
/// close given up would leave its row open and renewed every minute, counting someone present
/// for ever). A batch the store refuses for good (a fact it will never take: an organisation
/// deleted under its attendance, text it cannot store) is written fact by fact instead, and
/// only the refused facts are dropped (logged): one bad fact never stops the ledger. Written
/// twice under the same id, it is written once.
pub async fn write_batch(store: &dyn Store, id: &str, ops: &[UsageOp]) {
    let Err(e) = apply_retrying(store, id, ops).await else {
        return;
    };
    if let [op] = ops {
        tracing::error!(error = %e, fact = %describe(op), "the usage ledger dropped a fact the store refuses");
        return;
    }
    tracing::warn!(error = %e, facts = ops.len(), "the store refused a usage batch; writing its facts one by one");
    for (i, op) in ops.iter().enumerate() {
        let one = std::slice::from_ref(op);
        if let Err(e) = apply_retrying(store, &format!("{id}.{i}"), one).await {
            tracing::error!(error = %e, fact = %describe(op), "the usage ledger dropped a fact the store refuses");
        }
    }
}

/// A fact for the log, without names.
fn describe(op: &UsageOp) -> String {
    match op {
        UsageOp::Open { key, .. } => format!("open {key}"),
        UsageOp::Close { key, .. } => format!("close {key}"),
        UsageOp::Attendance(a) => format!("attendance for organisation {} in {}", a.org_id, a.room),
    }
}

/// `usage_apply`, tried again (backing off up to [`BACKOFF_MAX`]) while it fails transiently.
async fn apply_retrying(store: &dyn Store, id: &str, ops: &[UsageOp]) -> Result<(), StoreError> {
    let mut wait = Duration::from_secs(1);
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        match store.usage_apply(Some(id), ops).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() => {
                if attempt == 1 || attempt.is_multiple_of(10) {
                    tracing::error!(error = %e, attempt, waiting = ops.len(), "the usage ledger cannot write; trying again");
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(BACKOFF_MAX);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs a store lookup until it succeeds (a second apart, [`ATTEMPTS`] times); `None` if it
/// never did (logged).
async fn retry<T, F, Fut>(what: &str, mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    for attempt in 1..=ATTEMPTS {
        match call().await {
            Ok(v) => return Some(v),
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(error = %e, what, "the usage ledger gave up reading");
            }
            Err(e) => {
                tracing::warn!(error = %e, what, attempt, "the usage ledger cannot read; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    None
}

/// A person's pseudonym: their account, else their integration's user id, else their seat,
/// hashed with the ledger's key (positive, 63 bits).
pub fn pseudonym(key: &[u8; 32], who: &Joiner) -> i64 {
    let subject = match (&who.account, &who.user_id) {
        (Some(a), _) => format!("account:{a}"),
        (None, Some(u)) => format!("user:{u}"),
        (None, None) => format!("seat:{}", who.seat),
    };
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(subject.as_bytes());
    let d = mac.finalize().into_bytes();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b) & i64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joiner(account: Option<i64>, user_id: Option<&str>, seat: &str) -> Joiner {
        Joiner {
            role: Role::Participant,
            account,
            user_id: user_id.map(Into::into),
            seat: seat.into(),
            name: "Ada".into(),
            client: "firefox".into(),
        }
    }

    #[test]
    fn pseudonyms_follow_the_person_not_the_device() {
        let k = [7u8; 32];
        let ada = pseudonym(&k, &joiner(Some(1), None, "s1"));
        assert_eq!(
            ada,
            pseudonym(&k, &joiner(Some(1), Some("x"), "s2")),
            "same account"
        );
        assert_ne!(ada, pseudonym(&k, &joiner(Some(2), None, "s1")));
        assert_ne!(
            ada,
            pseudonym(&[8u8; 32], &joiner(Some(1), None, "s1")),
            "keyed"
        );
        let guest = pseudonym(&k, &joiner(None, None, "s1"));
        assert_eq!(
            guest,
            pseudonym(&k, &joiner(None, None, "s1")),
            "a reload keeps the seat"
        );
        assert_ne!(guest, pseudonym(&k, &joiner(None, None, "s3")));
        assert!(ada >= 0 && guest >= 0);
    }
}
