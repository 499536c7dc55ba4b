//! The BBB API's recording calls (bbb-api.md §1.5.7–1.5.11) over Plenary's recordings, and
//! the recording-ready callback (§1.6.2). The API sees only recordings of its own meetings
//! (rooms it created); their playback formats are `video` (the MP4) and `presentation`
//! (Plenary's playback page), both through the recording's link (its key: unguessable).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenary_store::{RecordingRow, RecordingStatus, RecordingUpdate};

use crate::calls::{Answer, Failure};
use crate::xml::Xml;
use crate::{Bbb, BbbState, Request};

/// BBB's name for where a recording is: `processing`, `published` or `unpublished`
/// (Plenary's `failed` is reported as such, listed only for `state=any`).
fn bbb_state(r: &RecordingRow) -> &'static str {
    match r.status {
        RecordingStatus::Recording | RecordingStatus::Processing => "processing",
        RecordingStatus::Ready if r.published => "published",
        RecordingStatus::Ready => "unpublished",
        RecordingStatus::Failed => "failed",
    }
}

/// The API's recordings named by `recordID` (each a prefix, as BBB allows) or else
/// `meetingID` (exact), or all.
async fn named(app: &BbbState, req: &Request) -> Result<Vec<RecordingRow>, Failure> {
    let p = &req.params;
    let store = app.recordings.store();
    let ids = p.list("recordID");
    let meetings = p.list("meetingID");
    let mut found: Vec<RecordingRow> = if !ids.is_empty() {
        store
            .all_recordings(10_000)
            .await?
            .into_iter()
            .filter(|r| ids.iter().any(|id| r.id.starts_with(id.as_str())))
            .collect()
    } else if !meetings.is_empty() {
        let mut all = Vec::new();
        for m in &meetings {
            all.extend(store.recordings_of_meeting(m).await?);
        }
        all
    } else {
        store.all_recordings(10_000).await?
    };
    let mut mine = Vec::with_capacity(found.len());
    for r in found.drain(..) {
        // The API sees only its own meetings' recordings (their rooms go when they end).
        if plenary_recordings::made_by_integration(&r) {
            mine.push(r);
        }
    }
    mine.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then(a.id.cmp(&b.id)));
    mine.dedup_by(|a, b| a.id == b.id);
    Ok(mine)
}

fn meta_of(r: &RecordingRow) -> BTreeMap<String, String> {
    serde_json::from_str(&r.meta).unwrap_or_default()
}

fn minutes(ms: i64) -> i64 {
    if ms <= 0 {
        0
    } else {
        ((ms + 30_000) / 60_000).max(1)
    }
}

pub(crate) async fn get_recordings(app: &BbbState, req: &Request) -> Answer {
    let p = &req.params;
    let states = p.list("state");
    let any = states.iter().any(|s| s == "any");
    let wanted: Vec<&str> = if states.is_empty() {
        vec!["published", "unpublished"]
    } else {
        states.iter().map(String::as_str).collect()
    };
    let filters: BTreeMap<String, String> = p
        .metadata()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let rows: Vec<RecordingRow> = named(app, req)
        .await?
        .into_iter()
        .filter(|r| any || wanted.contains(&bbb_state(r)))
        // Several meta filters are OR-ed, each a comma list of values (Scalelite's rule).
        .filter(|r| {
            filters.is_empty() || {
                let meta = meta_of(r);
                filters.iter().any(|(k, vs)| {
                    meta.get(k)
                        .is_some_and(|v| vs.split(',').any(|want| want.trim() == v))
                })
            }
        })
        .collect();
    let base = app.public.base_url(req.host.as_deref());
    let mut x = Xml::success();
    x.open("recordings");
    for r in &rows {
        let meta = meta_of(r);
        let participants = app
            .recordings
            .timeline(r)
            .await
            .map_or(0, |t| t.people.len());
        // A protected recording's links open it for a while only (as Scalelite's).
        let key = if r.protected {
            let until = plenary_proto::clock::unix_millis() as i64
                + plenary_recordings::access::PROTECTED_LINK_MS;
            app.recordings.timed_key(&r.id, until)
        } else {
            app.recordings.link_key(&r.id)
        };
        x.open("recording")
            .elem("recordID", &r.id)
            .elem("meetingID", &r.meeting_id)
            .elem("internalMeetingID", &r.id)
            .elem("name", &r.name)
            .elem("isBreakout", false)
            .elem("published", r.published)
            .elem("state", bbb_state(r))
            .elem("startTime", r.started_ms)
            .elem("endTime", r.ended_ms.unwrap_or(r.started_ms + r.length_ms))
            .elem("participants", participants)
            .elem("rawSize", r.bytes)
            .elem("size", r.bytes)
            .elem("protected", r.protected);
        x.open("metadata")
            .elem("isBreakout", false)
            .elem("meetingName", &r.name)
            .elem("meetingId", &r.meeting_id);
        for (k, v) in &meta {
            if !matches!(k.as_str(), "isbreakout" | "meetingname" | "meetingid") {
                x.elem(k, v);
            }
        }
        x.close();
        x.open("playback");
        if r.status != RecordingStatus::Recording {
            x.open("format")
                .elem("type", "presentation")
                .elem("url", format!("{base}/recordings/{}?k={key}", r.id))
                .elem("length", minutes(r.length_ms))
                .close();
        }
        if r.status == RecordingStatus::Ready {
            x.open("format")
                .elem("type", "video")
                .elem(
                    "url",
                    format!("{base}/recordings/{}/download?k={key}", r.id),
                )
                .elem("length", minutes(r.length_ms))
                .elem("size", r.bytes)
                .close();
        }
        x.close().close();
    }
    x.close();
    if rows.is_empty() {
        x.elem("messageKey", "noRecordings")
            .elem("message", "There are no recordings for the meeting(s).");
    }
    Ok(x.into_response())
}

fn record_ids(req: &Request) -> Result<Vec<String>, Failure> {
    let ids = req.params.list("recordID");
    if ids.is_empty() {
        return Err(Failure::new(
            "missingParamRecordID",
            "You must specify a recordID.",
        ));
    }
    Ok(ids)
}

/// The API's recordings with exactly these ids; `notFound` if none.
async fn exact(app: &BbbState, ids: &[String]) -> Result<Vec<RecordingRow>, Failure> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = app.recordings.store().get_recording(id).await?
            && plenary_recordings::made_by_integration(&r)
        {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(Failure::new("notFound", "We could not find recordings"));
    }
    Ok(out)
}

pub(crate) async fn publish_recordings(app: &BbbState, req: &Request) -> Answer {
    let ids = record_ids(req)?;
    if req.params.get("publish").is_none() {
        return Err(Failure::new(
            "missingParamPublish",
            "You must specify a publish value true or false.",
        ));
    }
    let publish = req.params.bool("publish", false)?;
    let u = RecordingUpdate {
        published: Some(publish),
        ..Default::default()
    };
    for r in exact(app, &ids).await? {
        app.recordings.store().update_recording(&r.id, &u).await?;
    }
    let mut x = Xml::success();
    x.elem("published", publish);
    Ok(x.into_response())
}

pub(crate) async fn delete_recordings(app: &BbbState, req: &Request) -> Answer {
    let ids = record_ids(req)?;
    let found = exact(app, &ids).await?;
    // Not while it is written or composed (the recorder or a worker holds its files).
    if found
        .iter()
        .any(|r| !matches!(r.status, RecordingStatus::Ready | RecordingStatus::Failed))
    {
        return Err(Failure::new(
            "recordingProcessing",
            "The recording is still being processed; try again when it is published.",
        ));
    }
    for r in found {
        app.recordings.delete(&r).await.map_err(|e| {
            tracing::error!(id = %r.id, error = %e, "cannot delete a recording");
            Failure::new(
                "internalError",
                "The recording could not be deleted; please try again.",
            )
        })?;
    }
    let mut x = Xml::success();
    x.elem("deleted", true);
    Ok(x.into_response())
}

pub(crate) async fn update_recordings(app: &BbbState, req: &Request) -> Answer {
    let ids = record_ids(req)?;
    let changes = req.params.metadata();
    let protect = match req.params.get("protect") {
        Some(_) => Some(req.params.bool("protect", false)?),
        None => None,
    };
    for r in exact(app, &ids).await? {
        let mut meta = meta_of(&r);
        for (k, v) in &changes {
            if v.is_empty() {
                meta.remove(k);
            } else {
                meta.insert(k.clone(), v.clone());
            }
        }
        let u = RecordingUpdate {
            protected: protect,
            // `meta_name` renames it, as Greenlight expects.
            name: changes.get("name").filter(|n| !n.is_empty()).cloned(),
            meta: Some(serde_json::to_string(&meta).unwrap_or_else(|_| "{}".into())),
            ..Default::default()
        };
        app.recordings.store().update_recording(&r.id, &u).await?;
    }
    let mut x = Xml::success();
    x.elem("updated", true);
    Ok(x.into_response())
}

/// Text tracks (captions) are not made: an existing recording has none.
pub(crate) async fn text_tracks(app: &BbbState, req: &Request) -> Response {
    let body = match req.params.trimmed("recordID") {
        None => {
            serde_json::json!({"response": {"returncode": "FAILED", "messageKey": "missingParamRecordID", "message": "You must specify a recordID."}})
        }
        Some(id) => match exact(app, &[id]).await {
            Ok(_) if req.call == "getRecordingTextTracks" => {
                serde_json::json!({"response": {"returncode": "SUCCESS", "tracks": []}})
            }
            Ok(_) => {
                serde_json::json!({"response": {"returncode": "FAILED", "messageKey": "unsupportedRequest", "message": "Plenary does not take text tracks yet."}})
            }
            Err(_) => {
                serde_json::json!({"response": {"returncode": "FAILED", "messageKey": "noRecordings", "message": "No recording was found for the recordID."}})
            }
        },
    };
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An HS256 JWT (RFC 7519) of `claims`, signed with `secret`.
pub fn jwt_hs256(claims: &serde_json::Value, secret: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64.encode(claims.to_string());
    let signing = format!("{header}.{payload}");
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new(); // HMAC takes keys of any length
    };
    mac.update(signing.as_bytes());
    format!("{signing}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// Sends the recording-ready callbacks (`meta_bbb-recording-ready-url`) of the API's
/// recordings as they become ready: a POST of `signed_parameters`, retried unless the
/// integration answers 2xx, 401 or 410. Delivered (or given up on) is kept in the store, so a
/// callback a restart interrupted is sent again at the next start.
pub fn spawn_ready_callbacks(app: BbbState, bbb: Arc<Bbb>) {
    let mut ready = app.recordings.subscribe();
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        notify_owed(&app, &bbb, &http).await;
        loop {
            let id = match ready.recv().await {
                Ok(id) => id,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recording-ready callbacks fell behind");
                    notify_owed(&app, &bbb, &http).await; // the store knows which
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            notify(&app, &bbb, &http, &id).await;
        }
    });
}

/// Starts delivering every ready callback the store says is owed.
async fn notify_owed(app: &BbbState, bbb: &Bbb, http: &reqwest::Client) {
    match app.recordings.store().recordings_to_notify().await {
        Ok(owed) => {
            for id in owed {
                notify(app, bbb, http, &id).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the recording-ready callbacks owed"),
    }
}

/// Starts delivering `id`'s ready callback (in its own task, retried), if it is owed one.
async fn notify(app: &BbbState, bbb: &Bbb, http: &reqwest::Client, id: &str) {
    let store = app.recordings.store().clone();
    let Ok(Some(r)) = store.get_recording(id).await else {
        return;
    };
    if !plenary_recordings::made_by_integration(&r) || r.status != RecordingStatus::Ready {
        return;
    }
    let Some(url) = meta_of(&r).get("bbb-recording-ready-url").cloned() else {
        if let Err(e) = store.recording_notified(id).await {
            tracing::error!(id, error = %e, "cannot record a recording-ready callback");
        }
        return;
    };
    let token = jwt_hs256(
        &serde_json::json!({"meeting_id": r.meeting_id, "record_id": r.id}),
        bbb.signing_secret(),
    );
    let http = http.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        for (attempt, delay) in [0u64, 5, 30, 120, 600].into_iter().enumerate() {
            tokio::time::sleep(Duration::from_secs(delay)).await;
            let sent = http
                .post(&url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!("signed_parameters={token}"))
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => break,
                Ok(resp) if matches!(resp.status().as_u16(), 401 | 410) => {
                    tracing::warn!(%url, status = %resp.status(), "recording-ready callback refused");
                    break;
                }
                Ok(resp) => {
                    tracing::warn!(%url, attempt, status = %resp.status(), "recording-ready callback failed")
                }
                Err(e) => {
                    tracing::warn!(%url, attempt, error = %e, "recording-ready callback failed")
                }
            }
        }
        // Delivered, refused, or given up on after about 13 minutes: not sent again.
        if let Err(e) = store.recording_notified(&id).await {
            tracing::error!(id, error = %e, "cannot record a recording-ready callback");
        }
    });
}
