//! Webhooks as bbb-webhooks delivers them (bbb-api.md §1.7): registrations kept in the store,
//! one POST per event and hook, in order, `domain=…&event=[json]&timestamp=…` signed by a
//! checksum appended to the callback URL, retried after 1, 2, 5, 10 and 30 s, then dropped.
//! Also the `meta_endCallbackUrl` GET on meeting end (§1.6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use plenary_store::{NewWebhook, Store, StoreError, Webhook};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Bbb;
use super::meeting::{Session, java_date};
use plenary_meeting::polls::PollChange;
use plenary_meeting::{Participant, RoomEvent};

/// bbb-webhooks' retry schedule for a failed delivery.
const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
];
/// Events waiting for one hook beyond this are dropped (a dead receiver must not grow memory).
const QUEUE_PER_HOOK: usize = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// One event, formatted as bbb-webhooks formats it (`getRaw=false`).
#[derive(Debug, Clone)]
pub struct HookEvent {
    pub id: &'static str,
    /// The external meetingID, for hooks registered on one meeting.
    pub meeting_id: String,
    pub body: Value,
}

fn meeting_ids(s: &Session) -> Value {
    json!({"internal-meeting-id": s.internal_id, "external-meeting-id": s.meeting_id})
}

fn event(id: &'static str, s: &Session, attributes: Value) -> HookEvent {
    HookEvent {
        id,
        meeting_id: s.meeting_id.clone(),
        body: json!({"data": {"type": "event", "id": id, "attributes": attributes,
            "event": {"ts": plenary_proto::clock::unix_millis()}}}),
    }
}

fn user(p: &Participant) -> Value {
    json!({
        "internal-user-id": format!("w_{}", p.info.id.0),
        "external-user-id": p.user_id.clone().unwrap_or_else(|| format!("w_{}", p.info.id.0)),
        "name": p.info.name,
        "role": match p.role { plenary_proto::Role::Moderator => "MODERATOR", _ => "VIEWER" },
        "presenter": false,
    })
}

impl HookEvent {
    pub fn meeting_created(s: &Session) -> Self {
        event(
            "meeting-created",
            s,
            json!({"meeting": {
                "internal-meeting-id": s.internal_id,
                "external-meeting-id": s.meeting_id,
                "name": s.name,
                "is-breakout": false,
                "parent-id": "bbb-none",
                "duration": s.duration_min,
                "create-time": s.create_time_ms,
                "create-date": java_date(s.create_time_ms),
                "moderator-pass": s.moderator_pw,
                "viewer-pass": s.attendee_pw,
                "record": s.record,
                "voice-conf": s.voice_bridge,
                "dial-number": s.dial_number,
                "max-users": s.max_participants,
                "metadata": s.metadata,
            }}),
        )
    }

    pub fn meeting_ended(s: &Session) -> Self {
        event("meeting-ended", s, json!({"meeting": meeting_ids(s)}))
    }

    /// The webhook events a change in a meeting's room makes.
    pub fn from_room_event(s: &Session, e: &RoomEvent) -> Vec<Self> {
        let with_user =
            |id, p: &Participant| event(id, s, json!({"meeting": meeting_ids(s), "user": user(p)}));
        match e {
            RoomEvent::Joined { participant, .. } => vec![with_user("user-joined", participant)],
            RoomEvent::Left { participant, .. } => vec![with_user("user-left", participant)],
            RoomEvent::MediaState {
                participant,
                was_audio,
                was_video,
                ..
            } => {
                let mut out = Vec::new();
                match (*was_audio, participant.info.audio) {
                    (true, false) => out.push(with_user("user-audio-muted", participant)),
                    (false, true) => out.push(with_user("user-audio-unmuted", participant)),
                    _ => {}
                }
                match (*was_video, participant.info.video) {
                    (false, true) => out.push(with_user("user-cam-broadcast-start", participant)),
                    (true, false) => out.push(with_user("user-cam-broadcast-end", participant)),
                    _ => {}
                }
                out
            }
            RoomEvent::Poll {
                poll, who, change, ..
            } => {
                let mut attributes = json!({"meeting": meeting_ids(s)});
                if let Some(p) = who {
                    attributes["user"] = user(p);
                }
                attributes["poll"] = match change {
                    PollChange::Opened => json!({
                        "id": poll.id.to_string(),
                        "question": poll.spec.question,
                        "answers": poll.spec.option_names().iter().enumerate()
                            .map(|(i, key)| json!({"id": i, "key": key}))
                            .collect::<Vec<_>>(),
                    }),
                    // A secret poll's vote says who voted, never what.
                    PollChange::Voted { choices: Some(c) } => {
                        json!({"id": poll.id.to_string(), "answerIds": c})
                    }
                    PollChange::Voted { choices: None } => json!({"id": poll.id.to_string()}),
                    // BigBlueButton has no webhook for a poll's end.
                    PollChange::Closed => return Vec::new(),
                };
                let id = match change {
                    PollChange::Opened => "poll-started",
                    _ => "poll-responded",
                };
                vec![event(id, s, attributes)]
            }
            // Recording webhooks (rap-*) come with the recordings themselves.
            RoomEvent::Recording { .. } | RoomEvent::Speaking { .. } | RoomEvent::Notes { .. } => {
                Vec::new()
            }
        }
    }
}

/// Registered hooks and their delivery.
#[derive(Debug)]
pub struct Hooks {
    store: Arc<dyn Store>,
    list: StdMutex<Vec<Webhook>>,
    events: mpsc::UnboundedSender<HookEvent>,
    events_rx: StdMutex<Option<mpsc::UnboundedReceiver<HookEvent>>>,
    http: reqwest::Client,
    /// `domain` in delivered bodies: the server's host name.
    domain: String,
}

/// Why a registration failed.
#[derive(Debug)]
pub enum CreateError {
    Duplicate(Webhook),
    Store(StoreError),
}

impl Hooks {
    pub async fn load(store: Arc<dyn Store>, domain: String) -> Result<Self, StoreError> {
        let list = store.list_webhooks().await?;
        let (events, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // bbb-webhooks treats a redirect as a failed delivery.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StoreError::Corrupt(format!("HTTP client: {e}")))?;
        Ok(Self {
            store,
            list: StdMutex::new(list),
            events,
            events_rx: StdMutex::new(Some(rx)),
            http,
            domain,
        })
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Vec<Webhook>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn create(&self, hook: NewWebhook) -> Result<Webhook, CreateError> {
        if let Some(h) = self
            .cached()
            .iter()
            .find(|h| h.callback_url == hook.callback_url)
        {
            return Err(CreateError::Duplicate(h.clone()));
        }
        let created = match self.store.create_webhook(&hook).await {
            Ok(h) => h,
            Err(StoreError::Conflict(_)) => {
                let all = self
                    .store
                    .list_webhooks()
                    .await
                    .map_err(CreateError::Store)?;
                let dup = all
                    .iter()
                    .find(|h| h.callback_url == hook.callback_url)
                    .cloned();
                *self.cached() = all;
                return match dup {
                    Some(h) => Err(CreateError::Duplicate(h)),
                    None => Err(CreateError::Store(StoreError::Conflict(hook.callback_url))),
                };
            }
            Err(e) => return Err(CreateError::Store(e)),
        };
        self.cached().push(created.clone());
        Ok(created)
    }

    /// Hooks for `meeting_id` and every global hook; all hooks when `None`.
    pub fn list(&self, meeting_id: Option<&str>) -> Vec<Webhook> {
        self.cached()
            .iter()
            .filter(|h| match (meeting_id, &h.meeting_id) {
                (None, _) | (_, None) => true,
                (Some(m), Some(hm)) => m == hm,
            })
            .cloned()
            .collect()
    }

    pub async fn destroy(&self, id: i64) -> Result<bool, StoreError> {
        let removed = self.store.delete_webhook(id).await?;
        self.cached().retain(|h| h.id != id);
        Ok(removed)
    }

    /// Queues an event for every hook that wants it.
    pub fn publish(&self, e: HookEvent) {
        let _ = self.events.send(e);
    }

    /// Starts the dispatcher: one ordered delivery queue per hook.
    pub fn start(&self, bbb: Arc<Bbb>) {
        let Some(mut rx) = self
            .events_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        tokio::spawn(async move {
            let mut queues: HashMap<i64, mpsc::Sender<HookEvent>> = HashMap::new();
            while let Some(e) = rx.recv().await {
                let hooks = bbb.hooks.cached().clone();
                queues.retain(|id, _| hooks.iter().any(|h| h.id == *id));
                for h in hooks.iter().filter(|h| wants(h, &e)) {
                    let q = queues
                        .entry(h.id)
                        .or_insert_with(|| spawn_worker(bbb.clone(), h.clone()));
                    if q.try_send(e.clone()).is_err() {
                        tracing::warn!(
                            hook = h.id,
                            event = e.id,
                            "webhook queue full: event dropped"
                        );
                    }
                }
            }
        });
    }

    /// `meta_endCallbackUrl`: a GET with `recordingmarks=` and `meetingID=` appended, retried
    /// like a webhook.
    pub fn call_end_callback(&self, url: String, meeting_id: &str, record: bool) {
        let sep = if url.contains('?') { '&' } else { '?' };
        let id: String = form_urlencoded::byte_serialize(meeting_id.as_bytes()).collect();
        let url = format!("{url}{sep}recordingmarks={record}&meetingID={id}");
        let http = self.http.clone();
        tokio::spawn(async move {
            for (attempt, delay) in std::iter::once(Duration::ZERO)
                .chain(RETRY_DELAYS)
                .enumerate()
            {
                tokio::time::sleep(delay).await;
                match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => tracing::info!(status = %r.status(), attempt, "end callback refused"),
                    Err(e) => tracing::info!(error = %e, attempt, "end callback failed"),
                }
            }
            tracing::warn!("end callback given up");
        });
    }
}

fn wants(h: &Webhook, e: &HookEvent) -> bool {
    h.meeting_id.as_deref().is_none_or(|m| m == e.meeting_id)
        && (h.event_ids.is_empty() || h.event_ids.iter().any(|id| id == e.id))
}

fn spawn_worker(bbb: Arc<Bbb>, hook: Webhook) -> mpsc::Sender<HookEvent> {
    let (tx, mut rx) = mpsc::channel::<HookEvent>(QUEUE_PER_HOOK);
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            deliver(&bbb, &hook, &e).await;
        }
    });
    tx
}

/// The form body bbb-webhooks posts: keys in alphabetical order, `event` a JSON array.
pub fn delivery_body(domain: &str, e: &HookEvent, timestamp_ms: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("domain", domain)
        .append_pair("event", &Value::Array(vec![e.body.clone()]).to_string())
        .append_pair("timestamp", &timestamp_ms.to_string())
        .finish()
}

async fn deliver(bbb: &Bbb, hook: &Webhook, e: &HookEvent) {
    let body = delivery_body(&bbb.hooks.domain, e, plenary_proto::clock::unix_millis());
    let (secret, alg) = bbb.signing();
    let checksum = alg.hex(&[
        hook.callback_url.as_bytes(),
        body.as_bytes(),
        secret.as_bytes(),
    ]);
    let sep = if hook.callback_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{sep}checksum={checksum}", hook.callback_url);
    for (attempt, delay) in std::iter::once(Duration::ZERO)
        .chain(RETRY_DELAYS)
        .enumerate()
    {
        tokio::time::sleep(delay).await;
        // The hook may have been destroyed while this event waited.
        if !bbb.hooks.cached().iter().any(|h| h.id == hook.id) {
            return;
        }
        let sent = bbb
            .hooks
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await;
        match sent {
            // bbb-webhooks counts 401 as delivered (the receiver refused it for good).
            Ok(r) if r.status().is_success() || r.status().as_u16() == 401 => return,
            Ok(r) => {
                tracing::info!(hook = hook.id, event = e.id, status = %r.status(), attempt, "webhook refused")
            }
            Err(err) => {
                tracing::info!(hook = hook.id, event = e.id, error = %err, attempt, "webhook failed")
            }
        }
    }
    tracing::warn!(
        hook = hook.id,
        event = e.id,
        "webhook given up after retries"
    );
}
