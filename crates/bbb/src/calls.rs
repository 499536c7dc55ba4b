//! The API calls. Each reads BBB parameters, calls Plenary's own services (rooms, join tokens,
//! live meetings) and answers in BBB's XML (bbb-api.md §1.5).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenary_meeting::{IntegrationJoin, JoinRequest, Refusal, Via};
use plenary_proto::{Role, RoomId};
use plenary_store::NewWebhook;
use rand::Rng as _;

use super::hooks::{CreateError, HookEvent};
use super::meeting::{GuestPolicy, Session, internal_id};
use super::params::{Invalid, Params};
use super::registry::{Created, end_session};
use super::xml::Xml;
use super::{Bbb, Request, modules};
use crate::BbbState;
use plenary_meeting::Participant;

const DEFAULT_DIAL_NUMBER: &str = "613-555-1234";
const DEFAULT_WELCOME: &str = "Welcome to <b>%%CONFNAME%%</b>!";

/// A `FAILED` answer: its messageKey and message.
#[derive(Debug, Clone)]
pub struct Failure {
    pub key: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }

    pub fn store(e: plenary_store::StoreError) -> Self {
        tracing::error!(error = %e, "BBB API storage failure");
        Self::new(
            "internalError",
            "The server could not save this request; please try again.",
        )
    }

    fn into_response(self) -> Response {
        Xml::failed(self.key, &self.message).into_response()
    }
}

impl From<plenary_store::StoreError> for Failure {
    fn from(e: plenary_store::StoreError) -> Self {
        Self::store(e)
    }
}

impl From<Invalid> for Failure {
    fn from(e: Invalid) -> Self {
        Self::new("validationError", e.0)
    }
}

pub(crate) type Answer = Result<Response, Failure>;

pub async fn dispatch(app: &BbbState, bbb: &Arc<Bbb>, req: Request) -> Response {
    let answer = match req.call.as_str() {
        "create" => create(app, bbb, &req).await,
        "join" => return join(app, bbb, &req).await,
        "end" => end(app, bbb, &req).await,
        "isMeetingRunning" => is_meeting_running(bbb, &req).await,
        "getMeetingInfo" => get_meeting_info(app, bbb, &req).await,
        "getMeetings" => get_meetings(app, bbb).await,
        "getRecordings" => crate::recordings::get_recordings(app, &req).await,
        "publishRecordings" => crate::recordings::publish_recordings(app, &req).await,
        "deleteRecordings" => crate::recordings::delete_recordings(app, &req).await,
        "updateRecordings" => crate::recordings::update_recordings(app, &req).await,
        "getRecordingTextTracks" | "putRecordingTextTrack" => {
            return crate::recordings::text_tracks(app, &req).await;
        }
        "sendChatMessage" => send_chat_message(app, bbb, &req).await,
        "insertDocument" => insert_document(bbb, &req).await,
        "hooks/create" => hooks_create(bbb, &req).await,
        "hooks/list" => Ok(hooks_list(bbb, &req)),
        "hooks/destroy" => hooks_destroy(bbb, &req).await,
        _ => Err(Failure::new(
            "unsupportedRequest",
            "This request is not supported.",
        )),
    };
    answer.unwrap_or_else(Failure::into_response)
}

fn meeting_id_param(p: &Params) -> Result<String, Failure> {
    let id = p.trimmed("meetingID").ok_or_else(|| {
        Failure::new(
            "missingParamMeetingID",
            "You must specify a meeting ID for the meeting.",
        )
    })?;
    Ok(id)
}

fn random_alnum(n: usize) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

fn base_url(app: &BbbState, req: &Request) -> String {
    app.public.base_url(req.host.as_deref())
}

/// Parameters `create` keeps for features that will read them (bbb-api.md §1.5.1's table);
/// anything else unknown is ignored, as bbb-web does.
const KEPT_SETTINGS: &[&str] = &[
    "lockSettingsDisableCam",
    "lockSettingsDisableMic",
    "lockSettingsDisablePrivateChat",
    "lockSettingsDisablePublicChat",
    "lockSettingsDisableNotes",
    "lockSettingsDisableNote",
    "lockSettingsHideUserList",
    "lockSettingsHideViewersCursor",
    "lockSettingsHideViewersAnnotation",
    "lockSettingsLockOnJoin",
    "lockSettingsLockOnJoinConfigurable",
    "allowModsToUnmuteUsers",
    "allowModsToEjectCameras",
    "webcamsOnlyForModerator",
    "meetingLayout",
    "disabledFeatures",
    "disabledFeaturesExclude",
    "userCameraCap",
    "meetingCameraCap",
    "maxPinnedCameras",
    "bannerText",
    "bannerColor",
    "logo",
    "copyright",
    "notifyRecordingIsOn",
    "meetingKeepEvents",
    "allowRequestsWithoutSession",
    "allowPromoteGuestToModerator",
    "preUploadedPresentationOverrideDefault",
    "preUploadedPresentation",
    "preUploadedPresentationName",
    "presentationUploadExternalUrl",
    "presentationUploadExternalDescription",
    "learningDashboardCleanupDelayInMinutes",
    "groups",
    "allowOverrideClientSettingsOnCreateCall",
    "sharedNotesEditor",
    "pluginManifests",
    "pluginManifestsFetchUrl",
    "recordFullDurationMedia",
    "loginURL",
    "meetingEndedURL",
    "learningDashboardEnabled",
    "breakoutRoomsEnabled",
    "virtualBackgroundsDisabled",
    "keepEvents",
];

async fn create(app: &BbbState, bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let p = &req.params;
    let meeting_id = meeting_id_param(p)?;
    let chars = meeting_id.chars().count();
    if !(2..=256).contains(&chars) {
        return Err(Failure::new(
            "validationError",
            "Meeting ID must be between 2 and 256 characters",
        ));
    }
    if meeting_id.contains(',') {
        return Err(Failure::new(
            "validationError",
            "Meeting ID cannot contain ','",
        ));
    }
    // bbb-web 2.4+ requires `name`; older servers and Scalelite do not. Leniency costs nothing:
    // the meetingID stands in.
    let name = p.trimmed("name").unwrap_or_else(|| meeting_id.clone());
    if name.chars().count() > 256 {
        return Err(Failure::new(
            "validationError",
            "Meeting name must be at most 256 characters",
        ));
    }
    let voice_bridge = match p.trimmed("voiceBridge") {
        Some(v) if v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => Some(v),
        Some(_) => {
            return Err(Failure::new(
                "validationError",
                "voiceBridge must be digits",
            ));
        }
        None => None,
    };
    let guest_policy = match p.get("guestPolicy") {
        None => GuestPolicy::AlwaysAccept,
        Some(g) => GuestPolicy::parse(&g).ok_or_else(|| {
            Failure::new(
                "validationError",
                "guestPolicy must be ALWAYS_ACCEPT, ALWAYS_DENY or ASK_MODERATOR",
            )
        })?,
    };
    let documents = match &req.xml_body {
        Some(body) => modules::parse(body).map_err(|m| Failure::new("validationError", m))?,
        None => Vec::new(),
    };
    let given_attendee = p.get("attendeePW");
    let given_moderator = p.get("moderatorPW");
    let now = plenary_proto::clock::unix_millis();
    let dial_number = p
        .get("dialNumber")
        .unwrap_or_else(|| DEFAULT_DIAL_NUMBER.into());
    let settings: BTreeMap<String, String> = KEPT_SETTINGS
        .iter()
        .filter_map(|k| p.get(k).map(|v| ((*k).to_owned(), v)))
        .collect();
    let mut s = Session {
        meeting_id: meeting_id.clone(),
        internal_id: internal_id(&meeting_id, now),
        room: RoomId::parse(&format!("bbb-{}", random_alnum(12)))
            .map_err(|e| Failure::new("internalError", e.to_string()))?,
        name: name.clone(),
        create_time_ms: now,
        attendee_pw: given_attendee.clone().unwrap_or_else(|| random_alnum(8)),
        moderator_pw: given_moderator.clone().unwrap_or_else(|| random_alnum(8)),
        voice_bridge: String::new(),
        dial_number: dial_number.clone(),
        welcome: p.get("welcome").unwrap_or_else(|| DEFAULT_WELCOME.into()),
        moderator_only_message: p.get("moderatorOnlyMessage"),
        logout_url: p.get("logoutURL"),
        max_participants: p.count("maxParticipants")?.unwrap_or(0),
        duration_min: p.count("duration")?.unwrap_or(0),
        record: p.bool("record", false)?,
        auto_start_recording: p.bool("autoStartRecording", false)?,
        allow_start_stop_recording: p.bool("allowStartStopRecording", true)?,
        guest_policy,
        mute_on_start: p.bool("muteOnStart", false)?,
        expire_no_join_min: p
            .count("meetingExpireIfNoUserJoinedInMinutes")?
            .unwrap_or(5),
        expire_last_left_min: p
            .count("meetingExpireWhenLastUserLeftInMinutes")?
            .unwrap_or(1),
        end_when_no_moderator: p.bool("endWhenNoModerator", false)?,
        end_when_no_moderator_delay_min: p.count("endWhenNoModeratorDelayInMinutes")?.unwrap_or(1),
        metadata: p
            .metadata()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        settings,
        documents,
        started_ms: None,
        last_left_ms: None,
        no_moderator_since_ms: None,
        ended_ms: None,
        end_reason: None,
        users: Default::default(),
        custom_data: Default::default(),
    };
    s.voice_bridge = voice_bridge.clone().unwrap_or_default();
    let created = bbb
        .registry
        .create(&app.meeting, s, |existing, live| {
            if let Some(e) = existing {
                // A repeat create is fine unless it names other passwords (bbb-web: idNotUnique).
                let differs = given_attendee.as_ref().is_some_and(|a| *a != e.attendee_pw)
                    || given_moderator.as_ref().is_some_and(|m| *m != e.moderator_pw);
                if differs {
                    return Err(Failure::new(
                        "idNotUnique",
                        "A meeting already exists with that meeting ID.  Please use a different meeting ID.",
                    ));
                }
                return Ok(());
            }
            match &voice_bridge {
                Some(v) if live.iter().any(|l| l.voice_bridge == *v) => Err(Failure::new(
                    "nonUniqueVoiceBridge",
                    "The selected voice bridge is already in use.",
                )),
                _ => Ok(()),
            }
        })
        .await?;
    let (session, duplicate) = match created {
        Created::New(s) => {
            bbb.hooks.publish(HookEvent::meeting_created(&s));
            tracing::info!(meeting = %s.meeting_id, room = %s.room, "API meeting created");
            (s, false)
        }
        Created::Existing(s) => (s, true),
    };
    let mut x = Xml::success();
    x.elem("meetingID", &session.meeting_id)
        .elem("internalMeetingID", &session.internal_id)
        .elem("parentMeetingID", "bbb-none")
        .elem("attendeePW", &session.attendee_pw)
        .elem("moderatorPW", &session.moderator_pw)
        .elem("createTime", session.create_time_ms)
        .elem("voiceBridge", &session.voice_bridge)
        .elem("dialNumber", &session.dial_number)
        .elem("createDate", session.create_date())
        .elem("hasUserJoined", session.started_ms.is_some())
        .elem("duration", session.duration_min)
        .elem("hasBeenForciblyEnded", false);
    if duplicate {
        x.elem("messageKey", "duplicateWarning").elem(
            "message",
            "This conference was already in existence and may currently be in progress.",
        );
    } else {
        x.elem("messageKey", "").elem("message", "");
    }
    Ok(x.into_response())
}

/// `join`: on success a 302 into Plenary's meeting page with a join token; on failure XML
/// when `redirect=false`, else a redirect to `errorRedirectUrl` or the logout URL carrying
/// `errors=[{"key","message"}]` (BBB 2.7+), else XML.
async fn join(app: &BbbState, bbb: &Arc<Bbb>, req: &Request) -> Response {
    let p = &req.params;
    let redirect = !p
        .get("redirect")
        .is_some_and(|r| r.trim().eq_ignore_ascii_case("false"));
    match join_inner(app, bbb, req).await {
        Ok(j) => {
            if redirect {
                let mut r = StatusCode::FOUND.into_response();
                if let Ok(v) = HeaderValue::from_str(&j.url) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                return r;
            }
            let mut x = Xml::success();
            let (key, message, status) = if j.wait {
                (
                    "guestWait",
                    "Guest waiting for approval to join the meeting.",
                    "WAIT",
                )
            } else {
                (
                    "successfullyJoined",
                    "You have joined successfully.",
                    "ALLOW",
                )
            };
            x.elem("messageKey", key)
                .elem("message", message)
                .elem("meeting_id", &j.internal_id)
                .elem("user_id", &j.user_id)
                .elem("auth_token", random_alnum(12))
                .elem("session_token", random_alnum(16))
                .elem("guestStatus", status)
                .elem("url", &j.url);
            x.into_response()
        }
        Err((f, logout)) => {
            let target = p.get("errorRedirectUrl").or(logout);
            match (redirect, target) {
                (true, Some(url)) => {
                    let errors =
                        serde_json::json!([{"key": f.key, "message": f.message}]).to_string();
                    let q: String = form_urlencoded::Serializer::new(String::new())
                        .append_pair("errors", &errors)
                        .finish();
                    let sep = if url.contains('?') { '&' } else { '?' };
                    let mut r = StatusCode::FOUND.into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("{url}{sep}{q}")) {
                        r.headers_mut().insert(header::LOCATION, v);
                        return r;
                    }
                    f.into_response()
                }
                _ => f.into_response(),
            }
        }
    }
}

struct JoinOk {
    url: String,
    internal_id: String,
    user_id: String,
    /// The person waits for a moderator.
    wait: bool,
}

async fn join_inner(
    app: &BbbState,
    bbb: &Arc<Bbb>,
    req: &Request,
) -> Result<JoinOk, (Failure, Option<String>)> {
    let p = &req.params;
    let no_logout = |f: Failure| (f, None);
    let meeting_id = meeting_id_param(p).map_err(no_logout)?;
    let full_name = p
        .trimmed("fullName")
        .ok_or_else(|| {
            Failure::new(
                "missingParamFullName",
                "You must specify a name for the attendee who will be joining the meeting.",
            )
        })
        .map_err(no_logout)?;
    let Some(s) = bbb.registry.live(&meeting_id).await else {
        let f = if bbb.registry.recently_ended(&meeting_id).await {
            Failure::new(
                "meetingForciblyEnded",
                "You can not re-join a meeting that has been forcibly ended.",
            )
        } else {
            Failure::new("notFound", "A meeting with that ID does not exist")
        };
        return Err((f, None));
    };
    let fail = |f: Failure| (f, s.logout_url.clone());
    if let Some(ct) = p.get("createTime")
        && ct.trim() != s.create_time_ms.to_string()
    {
        return Err(fail(Failure::new(
            "mismatchCreateTimeParam",
            "The createTime parameter submitted mismatches with the current meeting.",
        )));
    }
    // `role` (any case; Greenlight sends `Moderator`) wins over the deprecated password.
    let role = match p.get("role").map(|r| r.trim().to_ascii_uppercase()) {
        Some(r) if r == "MODERATOR" => Role::Moderator,
        Some(r) if r == "VIEWER" => Role::Participant,
        _ => match p.get("password") {
            Some(pw) if pw == s.moderator_pw => Role::Moderator,
            Some(pw) if pw == s.attendee_pw => Role::Participant,
            Some(_) => {
                return Err(fail(Failure::new(
                    "invalidPassword",
                    "The password you submitted is not valid.",
                )));
            }
            // BBB 3.0 answers exactly this key (with a space) when neither is given.
            None => {
                return Err(fail(Failure::new(
                    "Params required",
                    "You must send the 'role' parameter, since this meeting doesn't have passwords.",
                )));
            }
        },
    };
    let user_id = p
        .trimmed("userID")
        .unwrap_or_else(|| format!("w_{}", random_alnum(12)));
    let guest = p.bool("guest", false).unwrap_or(false);
    let custom = p.with_prefix("userdata-");
    // Admission decides (guest policy, maxParticipants, a rejoin of the same userID) and
    // mints the token; this adapter only translated the parameters.
    let join = IntegrationJoin {
        role,
        guest,
        user_id: user_id.clone(),
        logout_url: p.get("logoutURL").or_else(|| s.logout_url.clone()),
        start_muted: s.mute_on_start,
    };
    let grant = app
        .meeting
        .admit(JoinRequest {
            room: s.room.clone(),
            name: full_name,
            via: Via::Integration(join),
        })
        .await
        .map_err(|r| fail(refusal(r)))?;
    if !custom.is_empty() {
        let uid = user_id.clone();
        bbb.registry
            .update(&meeting_id, move |s| {
                s.custom_data.insert(uid, custom);
            })
            .await
            .map_err(|e| fail(Failure::store(e)))?;
    }
    // The token rides in the fragment: browsers never send it to the server in a request line,
    // so it stays out of access logs.
    let url = format!("{}/r/{}#join={}", base_url(app, req), s.room, grant.token);
    Ok(JoinOk {
        url,
        internal_id: s.internal_id.clone(),
        user_id,
        wait: grant.wait,
    })
}

/// A refusal of admission as BBB's join answers it.
fn refusal(r: Refusal) -> Failure {
    match r {
        Refusal::GuestDenied => Failure::new(
            "guestDeniedAccess",
            "You have been denied access to this meeting based on the meeting's guest policy",
        ),
        Refusal::Full { .. } => Failure::new(
            "maxParticipantsReached",
            "The number of participants allowed for this meeting has been reached.",
        ),
        Refusal::Ended => Failure::new(
            "meetingForciblyEnded",
            "You can not re-join a meeting that has been forcibly ended.",
        ),
        Refusal::NoSuchRoom => Failure::new("notFound", "A meeting with that ID does not exist"),
        Refusal::BadName(m) => Failure::new("validationError", m),
        Refusal::Unavailable(_) => Failure::new(
            "internalError",
            "The server could not save this request; please try again.",
        ),
        other => Failure::new("joinRefused", other.to_string()),
    }
}

async fn end(app: &BbbState, bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let meeting_id = meeting_id_param(&req.params)?;
    // The password is ignored, as BBB 3.0 documents ("no longer required").
    if bbb.registry.live(&meeting_id).await.is_none() {
        return Err(Failure::new(
            "notFound",
            "We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?",
        ));
    }
    // Asynchronous like bbb-web: the answer only says the request was sent.
    let (app, bbb2) = (app.clone(), bbb.clone());
    tokio::spawn(async move {
        end_session(&app, &bbb2, &meeting_id, super::meeting::EndReason::Ended).await;
    });
    let mut x = Xml::success();
    x.elem("messageKey", "sentEndMeetingRequest").elem(
        "message",
        "A request to end the meeting was sent.  Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.",
    );
    Ok(x.into_response())
}

async fn is_meeting_running(bbb: &Arc<Bbb>, req: &Request) -> Answer {
    // Lenient on length: Greenlight's health check asks about meetingID=0.
    let meeting_id = meeting_id_param(&req.params)?;
    let running = bbb
        .registry
        .live(&meeting_id)
        .await
        .is_some_and(|s| s.running());
    let mut x = Xml::success();
    x.elem("running", running);
    Ok(x.into_response())
}

fn meeting_body(x: &mut Xml, s: &Session, people: &[Participant]) {
    let voice = people.iter().filter(|p| p.info.audio).count();
    let video = people.iter().filter(|p| p.info.video).count();
    let moderators = people.iter().filter(|p| p.role == Role::Moderator).count();
    x.elem("meetingName", &s.name)
        .elem("meetingID", &s.meeting_id)
        .elem("internalMeetingID", &s.internal_id)
        .elem("createTime", s.create_time_ms)
        .elem("createDate", s.create_date())
        .elem("voiceBridge", &s.voice_bridge)
        .elem("dialNumber", &s.dial_number)
        .elem("attendeePW", &s.attendee_pw)
        .elem("moderatorPW", &s.moderator_pw)
        .elem("running", s.running())
        .elem("duration", s.duration_min)
        .elem("hasUserJoined", s.started_ms.is_some())
        .elem("recording", s.record)
        .elem("hasBeenForciblyEnded", false)
        .elem("startTime", s.started_ms.unwrap_or(0))
        .elem("endTime", s.ended_ms.unwrap_or(0))
        .elem("participantCount", people.len())
        .elem("listenerCount", people.len() - voice)
        .elem("voiceParticipantCount", voice)
        .elem("videoCount", video)
        .elem("maxUsers", s.max_participants)
        .elem("moderatorCount", moderators);
    if people.is_empty() {
        x.empty("attendees");
    } else {
        x.open("attendees");
        for p in people {
            let uid = p
                .user_id
                .clone()
                .unwrap_or_else(|| format!("w_{}", p.info.id.0));
            x.open("attendee")
                .elem("userID", &uid)
                .elem("fullName", &p.info.name)
                .elem(
                    "role",
                    if p.role == Role::Moderator {
                        "MODERATOR"
                    } else {
                        "VIEWER"
                    },
                )
                .elem("isPresenter", false)
                // Everyone in a Plenary meeting hears the others; one whose microphone is off
                // is listening only.
                .elem("isListeningOnly", !p.info.audio)
                .elem("hasJoinedVoice", p.info.audio)
                .elem("hasVideo", p.info.video)
                .elem("clientType", "HTML5");
            if let Some(data) = p.user_id.as_ref().and_then(|u| s.custom_data.get(u)) {
                x.open("customdata");
                for (k, v) in data {
                    if is_xml_name(k) {
                        x.elem(k, v);
                    }
                }
                x.close();
            }
            x.close();
        }
        x.close();
    }
    if s.metadata.is_empty() {
        x.empty("metadata");
    } else {
        x.open("metadata");
        for (k, v) in &s.metadata {
            x.elem(k, v);
        }
        x.close();
    }
    x.elem("isBreakout", false);
}

/// Whether `k` can be an element name (custom data keys come from the join URL).
fn is_xml_name(k: &str) -> bool {
    let mut c = k.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
}

async fn get_meeting_info(app: &BbbState, bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let meeting_id = meeting_id_param(&req.params)?;
    let Some(s) = bbb.registry.live(&meeting_id).await else {
        return Err(Failure::new(
            "notFound",
            "A meeting with that ID does not exist",
        ));
    };
    let people = app.meeting.live.participants(&s.room);
    let mut x = Xml::success();
    meeting_body(&mut x, &s, &people);
    Ok(x.into_response())
}

async fn get_meetings(app: &BbbState, bbb: &Arc<Bbb>) -> Answer {
    let all = bbb.registry.all_live().await;
    let mut x = Xml::success();
    if all.is_empty() {
        x.empty("meetings")
            .elem("messageKey", "noMeetings")
            .elem("message", "no meetings were found on this server");
        return Ok(x.into_response());
    }
    x.open("meetings");
    for s in &all {
        x.open("meeting");
        meeting_body(&mut x, s, &app.meeting.live.participants(&s.room));
        x.close();
    }
    x.close();
    Ok(x.into_response())
}

async fn send_chat_message(app: &BbbState, bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let p = &req.params;
    let meeting_id = meeting_id_param(p)?;
    let message = p
        .get("message")
        .ok_or_else(|| Failure::new("validationError", "You must provide a message"))?;
    if message.chars().count() > 500 {
        return Err(Failure::new(
            "validationError",
            "The message must be at most 500 characters",
        ));
    }
    if p.get("userName").is_some_and(|u| u.chars().count() > 255) {
        return Err(Failure::new(
            "validationError",
            "userName must be at most 255 characters",
        ));
    }
    let Some(session) = bbb.registry.live(&meeting_id).await else {
        return Err(Failure::new(
            "notFound",
            "A meeting with that ID does not exist",
        ));
    };
    // Posted into the public chat of the meeting running now (stored with it), under the
    // userName given, as BBB 3.0 does.
    let name = p.trimmed("userName").unwrap_or_else(|| "System".into());
    match app
        .meeting
        .integration_chat(&session.room, &name, &message)
        .await
    {
        Ok(()) => {
            let mut x = Xml::success();
            x.elem("messageKey", "").elem("message", "");
            Ok(x.into_response())
        }
        Err(plenary_meeting::ActionError::NotInMeeting) => Err(Failure::new(
            "meetingNotFound",
            "Meeting not found or not active: nobody is in it yet.",
        )),
        Err(plenary_meeting::ActionError::BadText) => Err(Failure::new(
            "validationError",
            "The message must not be empty",
        )),
        Err(_) => Err(Failure::new(
            "internalError",
            "The server could not save this request; please try again.",
        )),
    }
}

async fn insert_document(bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let meeting_id = meeting_id_param(&req.params)?;
    if bbb.registry.live(&meeting_id).await.is_none() {
        return Err(Failure::new(
            "notFound",
            format!("Meeting with id [{meeting_id}] not found."),
        ));
    }
    let docs = match &req.xml_body {
        Some(b) => modules::parse(b).map_err(|m| Failure::new("validationError", m))?,
        // bbb-web logs an empty body and ignores it.
        None => Vec::new(),
    };
    bbb.registry
        .update(&meeting_id, |s| s.documents.extend(docs))
        .await
        .map_err(Failure::store)?;
    let mut x = Xml::success();
    x.elem("message", "Presentation is being uploaded");
    Ok(x.into_response())
}

async fn hooks_create(bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let p = &req.params;
    let Some(url) = p.trimmed("callbackURL") else {
        return Err(Failure::new(
            "missingParamCallbackURL",
            "You must specify a callbackURL in the parameters.",
        ));
    };
    if reqwest::Url::parse(&url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
        return Err(Failure::new(
            "createHookError",
            "callbackURL must be an http or https URL.",
        ));
    }
    let raw = p.bool("getRaw", false)?;
    let hook = NewWebhook {
        callback_url: url,
        meeting_id: p.trimmed("meetingID"),
        event_ids: p
            .list("eventID")
            .into_iter()
            .map(|e| e.to_ascii_lowercase())
            .collect(),
        raw,
        created_ms: plenary_proto::clock::unix_millis(),
    };
    let mut x = Xml::success();
    match bbb.hooks.create(hook).await {
        Ok(h) => {
            x.elem("hookID", h.id)
                .elem("permanentHook", false)
                .elem("rawData", h.raw);
        }
        Err(CreateError::Duplicate(h)) => {
            x.elem("hookID", h.id)
                .elem("messageKey", "duplicateWarning")
                .elem("message", "There is already a hook for this callback URL.");
        }
        Err(CreateError::Store(e)) => {
            tracing::error!(error = %e, "hooks/create failed");
            return Err(Failure::new(
                "createHookError",
                "An error happened while creating your hook. Check the logs.",
            ));
        }
    }
    Ok(x.into_response())
}

fn hooks_list(bbb: &Arc<Bbb>, req: &Request) -> Response {
    let meeting = req.params.trimmed("meetingID");
    let hooks = bbb.hooks.list(meeting.as_deref());
    let mut x = Xml::success();
    x.open("hooks");
    for h in hooks {
        x.open("hook")
            .elem("hookID", h.id)
            .elem("callbackURL", &h.callback_url);
        if let Some(m) = &h.meeting_id {
            x.elem("meetingID", m);
        }
        if !h.event_ids.is_empty() {
            x.elem("eventID", h.event_ids.join(","));
        }
        x.elem("permanentHook", false)
            .elem("rawData", h.raw)
            .close();
    }
    x.close();
    x.into_response()
}

async fn hooks_destroy(bbb: &Arc<Bbb>, req: &Request) -> Answer {
    let Some(id) = req.params.trimmed("hookID") else {
        return Err(Failure::new(
            "missingParamHookID",
            "You must specify a hookID in the parameters.",
        ));
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(Failure::new(
            "destroyMissingHook",
            "The hook informed was not found.",
        ));
    };
    match bbb.hooks.destroy(id).await {
        Ok(true) => {
            let mut x = Xml::success();
            x.elem("removed", true);
            Ok(x.into_response())
        }
        Ok(false) => Err(Failure::new(
            "destroyMissingHook",
            "The hook informed was not found.",
        )),
        Err(e) => {
            tracing::error!(error = %e, "hooks/destroy failed");
            Err(Failure::new(
                "destroyHookError",
                "An error happened while removing your hook. Check the logs.",
            ))
        }
    }
}
