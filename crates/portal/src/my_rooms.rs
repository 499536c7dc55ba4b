//! "My rooms": a member's rooms, the ones shared with them, their organisations and requests to
//! join one; creating rooms (through the meeting service) and changing a room's settings.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn rooms_page(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
) -> Response {
    show_rooms(&app, &ctx, &headers, StatusCode::OK, None).await
}

pub(crate) async fn show_rooms(
    app: &PortalState,
    ctx: &Ctx,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    show_rooms_with(app, ctx, headers, status, error, None).await
}

pub(crate) async fn show_rooms_with(
    app: &PortalState,
    ctx: &Ctx,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let Some(user) = &ctx.user else {
        return redirect("/signin");
    };
    let (owned, shared) = match (
        app.store.rooms_of(user.id).await,
        app.store.rooms_shared_with(user.id).await,
    ) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(e), _) | (_, Err(e)) => return unavailable(e),
    };
    let mut rooms = Vec::with_capacity(owned.len());
    for r in &owned {
        let co_owners = match app.store.co_owners(&r.id).await {
            Ok(c) => c,
            Err(e) => return unavailable(e),
        };
        let co_owners: Vec<minijinja::Value> = co_owners
            .iter()
            .map(|u| context! { id => u.id, name => u.name, email => u.email })
            .collect();
        let recs = match app.store.recordings_of_room(&r.id).await {
            Ok(recs) => recs,
            Err(e) => return unavailable(e),
        };
        rooms.push(room_view(r, Some(co_owners), &recs));
    }
    let mut shared_views = Vec::with_capacity(shared.len());
    for r in &shared {
        let recs = match app.store.recordings_of_room(&r.id).await {
            Ok(recs) => recs,
            Err(e) => return unavailable(e),
        };
        shared_views.push(room_view(r, None, &recs));
    }
    let shared = shared_views;
    let base = app
        .settings
        .base_url(headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    let memberships = match app.store.orgs_of(user.id).await {
        Ok(ms) => ms,
        Err(e) => return unavailable(e),
    };
    let memberships: Vec<minijinja::Value> = memberships
        .iter()
        .map(|m| {
            context! {
                org => m.org.name, org_id => m.org.id,
                role => orgs::role(m.is_admin),
                manage => m.is_admin || user.is_admin,
            }
        })
        .collect();
    let requests = match app.store.membership_requests(None, Some(user.id)).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let requests: Vec<minijinja::Value> = requests
        .iter()
        .map(|r| context! { org => r.org.name, org_id => r.org.id, role => orgs::role(r.is_admin), by => r.invited_by })
        .collect();
    let mut c = ctx.base("/rooms");
    c = context! { rooms, shared, base, error, notice, memberships, requests, ..c };
    ctx.show(app, "rooms.html", status, c)
}

/// A room for the rooms page; `co_owners` only for the owner's own rooms.
pub(crate) fn room_view(
    r: &plenary_store::Room,
    co_owners: Option<Vec<minijinja::Value>>,
    recordings: &[plenary_store::RecordingRow],
) -> minijinja::Value {
    let s = plenary_meeting::room_settings::RoomSettings::parse(&r.settings);
    // The newest recording's state (newest first), as "My rooms" shows it.
    let latest = recordings.first();
    let audience = match s.recordings_audience {
        plenary_meeting::RecordingAudience::Owners => "owners",
        plenary_meeting::RecordingAudience::Members => "members",
        plenary_meeting::RecordingAudience::Link => "link",
    };
    context! {
        recordings => recordings.len(), latest => latest.map(|l| l.status.as_str()),
        percent => latest.map_or(0, |l| l.progress / 10),
        reason => latest.and_then(|l| l.error.clone()).unwrap_or_default(),
        recordings_audience => audience,
        id => r.id.as_str(), name => r.name, waiting_room => s.waiting_room,
        mute_on_join => s.mute_on_join, anyone_may_start => s.anyone_may_start,
        guests_allowed => s.guests_allowed, recording_allowed => s.recording_allowed,
        viewer_code => s.viewer_code.unwrap_or_default(),
        moderator_code => s.moderator_code.unwrap_or_default(),
        agenda => agenda_text(&s.agenda),
        co_owners,
    }
}

/// An agenda as the settings form shows it: an item per line, ` | minutes` after one with a
/// time box.
fn agenda_text(items: &[plenary_proto::AgendaItem]) -> String {
    items
        .iter()
        .map(|i| match i.minutes {
            Some(m) => format!("{} | {m}", i.title),
            None => i.title.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings form's agenda: an item per non-empty line; a trailing `| minutes` is its time
/// box. Unchecked (see [`plenary_proto::AgendaItem::checked`]).
fn agenda_lines(text: &str) -> Vec<plenary_proto::AgendaItem> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.rsplit_once('|') {
            Some((title, m)) if m.trim().parse::<u32>().is_ok() => plenary_proto::AgendaItem {
                title: title.trim().to_owned(),
                minutes: m.trim().parse().ok(),
            },
            _ => plenary_proto::AgendaItem {
                title: l.to_owned(),
                minutes: None,
            },
        })
        .collect()
}

pub(crate) async fn create_room(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let Some(user) = &ctx.user else {
        return redirect("/signin");
    };
    let form = Form::parse(&body);
    if !ctx.csrf_ok(&form) {
        let e = ctx.t(&app.portal, "error-csrf", None);
        return show_rooms(&app, &ctx, &headers, StatusCode::FORBIDDEN, Some(e)).await;
    }
    let name = form.get("name");
    match app
        .meeting
        .create_room(name, plenary_meeting::Creator::Account(user.clone()))
        .await
    {
        Ok(_) => redirect("/rooms"),
        Err(plenary_meeting::CreateRefusal::RoomLimit { max }) => {
            let mut a = FluentArgs::new();
            a.set("n", max);
            let e = ctx.t(&app.portal, "error-room-limit", Some(&a));
            show_rooms(&app, &ctx, &headers, StatusCode::FORBIDDEN, Some(e)).await
        }
        Err(plenary_meeting::CreateRefusal::BadName(_)) => {
            let e = ctx.t(&app.portal, "error-room-name", None);
            show_rooms(
                &app,
                &ctx,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
        Err(plenary_meeting::CreateRefusal::SignInRequired) => redirect("/signin"),
        Err(plenary_meeting::CreateRefusal::Unavailable(e)) => unavailable(e),
    }
}

/// The owner or a co-owner changes a room's settings.
pub(crate) async fn room_settings(
    State(app): State<PortalState>,
    headers: HeaderMap,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = &app.portal;
    let form = Form::parse(&body);
    let room = match sharing::room_to_change(
        &app,
        &ctx,
        &headers,
        &id,
        &form,
        sharing::Changer::OwnerOrCoOwner,
    )
    .await
    {
        Ok(r) => r,
        Err(r) => return r,
    };
    let code = |name: &str| Some(form.get(name).trim().to_owned()).filter(|c| !c.is_empty());
    let settings = plenary_meeting::room_settings::RoomSettings {
        waiting_room: form.get("waiting_room") == "on",
        mute_on_join: form.get("mute_on_join") == "on",
        viewer_code: code("viewer_code"),
        moderator_code: code("moderator_code"),
        anyone_may_start: form.get("anyone_may_start") == "on",
        guests_allowed: form.get("guests_allowed") == "on",
        recording_allowed: form.get("recording_allowed") == "on",
        recordings_audience: match form.get("recordings_audience") {
            "members" => plenary_meeting::RecordingAudience::Members,
            "link" => plenary_meeting::RecordingAudience::Link,
            _ => plenary_meeting::RecordingAudience::Owners,
        },
        // Only the room's own owners change this form; an integration's rules stay.
        integration: plenary_meeting::RoomSettings::parse(&room.settings).integration,
        agenda: agenda_lines(form.get("agenda")),
    };
    let bad_code = [&settings.viewer_code, &settings.moderator_code]
        .into_iter()
        .flatten()
        .any(|c| !(4..=64).contains(&c.chars().count()));
    let bad_agenda = plenary_proto::AgendaItem::checked(&settings.agenda).is_err();
    if bad_code || bad_agenda {
        let key = if bad_code {
            "error-code-length"
        } else {
            "error-agenda"
        };
        let e = ctx.t(p, key, None);
        return show_rooms(
            &app,
            &ctx,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e),
        )
        .await;
    }
    if let Err(e) = app
        .store
        .set_room_settings(&room.id, &settings.to_json())
        .await
    {
        return unavailable(e);
    }
    let notice = ctx.t(p, "notice-saved", None);
    show_rooms_with(&app, &ctx, &headers, StatusCode::OK, None, Some(notice)).await
}
