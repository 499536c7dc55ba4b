//! The queries, written once: both backends accept `$N` placeholders and the same types, so
//! one `Store` body serves both (expanded per backend by `impl_store!`). What differs —
//! connecting, pool settings, migrations — stays in `sqlite.rs` and `postgres.rs`.
//!
//! Durability: a statement that returns rows (`INSERT … RETURNING`, `DELETE … RETURNING`) runs
//! in an explicit transaction whose `commit()` result is checked. Read with `fetch_one` outside
//! one, sqlx-sqlite drops the error of the implicit commit at the statement's end, so a write
//! that a full disk refused looked like a success (tests/durability.rs proves the difference).

/// Implements [`crate::Store`] for a type with a `pool` field of a sqlx pool.
macro_rules! impl_store {
    ($store:ty, $backend:literal, $migrations:expr) => {
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn migrate(&self) -> $crate::StoreFuture<'_, ()> {
                Box::pin(async move { Ok($crate::model::migrator($migrations).run(&self.pool).await?) })
            }

            fn create_room<'a>(&'a self, room: &'a $crate::NewRoom) -> $crate::StoreFuture<'a, $crate::Room> {
                self.create_room_within(room, None)
            }

            fn get_room<'a>(
                &'a self,
                id: &'a plenary_proto::RoomId,
            ) -> $crate::StoreFuture<'a, Option<$crate::Room>> {
                Box::pin(async move {
                    let row = sqlx::query("SELECT id, name, created_at, owner_id, settings FROM rooms WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map($crate::model::room_from_row)
                        .transpose()
                })
            }

            fn list_rooms(&self, limit: u32) -> $crate::StoreFuture<'_, Vec<$crate::Room>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT id, name, created_at, owner_id, settings FROM rooms ORDER BY created_at DESC, id LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map($crate::model::room_from_row)
                        .collect()
                })
            }

            fn rooms_of(&self, owner_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Room>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT id, name, created_at, owner_id, settings FROM rooms WHERE owner_id = $1 ORDER BY created_at DESC, id",
                    )
                    .bind(owner_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map($crate::model::room_from_row)
                        .collect()
                })
            }

            fn share_room<'a>(&'a self, room: &'a plenary_proto::RoomId, user_id: i64) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query("INSERT INTO room_shares (room_id, user_id) VALUES ($1, $2) ON CONFLICT (room_id, user_id) DO NOTHING")
                        .bind(room.as_str())
                        .bind(user_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                })
            }

            fn unshare_room<'a>(&'a self, room: &'a plenary_proto::RoomId, user_id: i64) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM room_shares WHERE room_id = $1 AND user_id = $2")
                        .bind(room.as_str())
                        .bind(user_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn co_owners<'a>(&'a self, room: &'a plenary_proto::RoomId) -> $crate::StoreFuture<'a, Vec<$crate::User>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.status, u.created_at \
                         FROM room_shares s JOIN users u ON u.id = s.user_id WHERE s.room_id = $1 ORDER BY u.email",
                    )
                    .bind(room.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map($crate::model::user_from_row).collect()
                })
            }

            fn rooms_shared_with(&self, user_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Room>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT r.id, r.name, r.created_at, r.owner_id, r.settings FROM room_shares s \
                         JOIN rooms r ON r.id = s.room_id WHERE s.user_id = $1 ORDER BY r.created_at DESC, r.id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map($crate::model::room_from_row)
                        .collect()
                })
            }

            fn set_room_settings<'a>(&'a self, id: &'a plenary_proto::RoomId, settings: &'a str) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = sqlx::query("UPDATE rooms SET settings = $1 WHERE id = $2")
                        .bind(settings)
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn swap_room_settings<'a>(&'a self, id: &'a plenary_proto::RoomId, old: &'a str, new: &'a str) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = sqlx::query("UPDATE rooms SET settings = $1 WHERE id = $2 AND settings = $3")
                        .bind(new)
                        .bind(id.as_str())
                        .bind(old)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn delete_room<'a>(&'a self, id: &'a plenary_proto::RoomId) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM rooms WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn save_api_meeting<'a>(&'a self, m: &'a $crate::ApiMeeting) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO api_meetings (internal_id, meeting_id, created_ms, ended_ms, doc) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (internal_id) DO UPDATE SET ended_ms = excluded.ended_ms, doc = excluded.doc",
                    )
                    .bind(&m.internal_id)
                    .bind(&m.meeting_id)
                    .bind(m.created_ms)
                    .bind(m.ended_ms)
                    .bind(&m.doc)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                })
            }

            fn live_api_meetings(&self) -> $crate::StoreFuture<'_, Vec<$crate::ApiMeeting>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT internal_id, meeting_id, created_ms, ended_ms, doc FROM api_meetings \
                         WHERE ended_ms IS NULL ORDER BY created_ms, internal_id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok($crate::ApiMeeting {
                                internal_id: r.try_get(0)?,
                                meeting_id: r.try_get(1)?,
                                created_ms: r.try_get(2)?,
                                ended_ms: r.try_get(3)?,
                                doc: r.try_get(4)?,
                            })
                        })
                        .collect()
                })
            }

            fn create_webhook<'a>(&'a self, hook: &'a $crate::NewWebhook) -> $crate::StoreFuture<'a, $crate::Webhook> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let events = (!hook.event_ids.is_empty()).then(|| hook.event_ids.join(","));
                    // Commit checked (see the module doc).
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO webhooks (callback_url, meeting_id, event_ids, raw, created_ms) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(&hook.callback_url)
                    .bind(&hook.meeting_id)
                    .bind(&events)
                    .bind(i64::from(hook.raw))
                    .bind(hook.created_ms)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match $crate::model::is_unique_violation(&e) {
                        true => $crate::StoreError::Conflict(format!("webhook {}", hook.callback_url)),
                        false => e.into(),
                    })?;
                    tx.commit().await?;
                    Ok($crate::Webhook {
                        id: row.try_get(0)?,
                        callback_url: hook.callback_url.clone(),
                        meeting_id: hook.meeting_id.clone(),
                        event_ids: hook.event_ids.clone(),
                        raw: hook.raw,
                        created_ms: hook.created_ms,
                    })
                })
            }

            fn list_webhooks(&self) -> $crate::StoreFuture<'_, Vec<$crate::Webhook>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT id, callback_url, meeting_id, event_ids, raw, created_ms FROM webhooks ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok($crate::model::webhook_from_row(
                                r.try_get(0)?,
                                r.try_get(1)?,
                                r.try_get(2)?,
                                r.try_get(3)?,
                                r.try_get(4)?,
                                r.try_get(5)?,
                            ))
                        })
                        .collect()
                })
            }

            fn delete_webhook(&self, id: i64) -> $crate::StoreFuture<'_, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn create_user<'a>(&'a self, u: &'a $crate::NewUser) -> $crate::StoreFuture<'a, $crate::User> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    // Commit checked (see the module doc).
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO users (email, name, password_hash, is_admin, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(&u.email)
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(i64::from(u.is_admin))
                    .bind(u.status.as_str())
                    .bind(u.created_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match $crate::model::is_unique_violation(&e) {
                        true => $crate::StoreError::Conflict("an account with that email".into()),
                        false => e.into(),
                    })?;
                    tx.commit().await?;
                    Ok($crate::User {
                        id: row.try_get(0)?,
                        email: u.email.clone(),
                        name: u.name.clone(),
                        password_hash: u.password_hash.clone(),
                        is_admin: u.is_admin,
                        status: u.status,
                        created_at: u.created_at,
                    })
                })
            }

            fn user_by_email<'a>(&'a self, email: &'a str) -> $crate::StoreFuture<'a, Option<$crate::User>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT id, email, name, password_hash, is_admin, status, created_at FROM users WHERE email = $1",
                    )
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|r| $crate::model::user_from_row(&r)).transpose()
                })
            }

            fn user_by_id(&self, id: i64) -> $crate::StoreFuture<'_, Option<$crate::User>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT id, email, name, password_hash, is_admin, status, created_at FROM users WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|r| $crate::model::user_from_row(&r)).transpose()
                })
            }

            fn count_users(&self) -> $crate::StoreFuture<'_, i64> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let row = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
                    Ok(row.try_get(0)?)
                })
            }

            fn search_users<'a>(&'a self, query: &'a str, limit: u32) -> $crate::StoreFuture<'a, Vec<$crate::User>> {
                Box::pin(async move {
                    let pattern = $crate::model::contains_pattern(query);
                    let rows = sqlx::query(
                        "SELECT id, email, name, password_hash, is_admin, status, created_at FROM users \
                         WHERE LOWER(email) LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\' \
                         ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, email LIMIT $2",
                    )
                    .bind(pattern)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map($crate::model::user_from_row).collect()
                })
            }

            fn set_password_hash<'a>(&'a self, id: i64, hash: &'a str) -> $crate::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(hash)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    // Whoever knew the old password is signed out everywhere.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn update_user(&self, id: i64, status: $crate::UserStatus, is_admin: bool) -> $crate::StoreFuture<'_, bool> {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE users SET status = $1, is_admin = $2, \
                         admin_source = CASE WHEN is_admin = $2 THEN admin_source ELSE $4 END WHERE id = $3",
                    )
                        .bind(status.as_str())
                        .bind(i64::from(is_admin))
                        .bind(id)
                        .bind($crate::SOURCE_MANUAL)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn create_org<'a>(&'a self, org: &'a $crate::NewOrganisation) -> $crate::StoreFuture<'a, $crate::Organisation> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    // Commit checked (see the module doc).
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO organisations (name, max_rooms_per_member, max_participants, created_at, max_meeting_minutes) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(&org.name)
                    .bind(org.max_rooms_per_member)
                    .bind(org.max_participants)
                    .bind(org.created_at)
                    .bind(org.max_meeting_minutes)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match $crate::model::is_unique_violation(&e) {
                        true => $crate::StoreError::Conflict(format!("organisation {}", org.name)),
                        false => e.into(),
                    })?;
                    tx.commit().await?;
                    Ok($crate::Organisation {
                        id: row.try_get(0)?,
                        name: org.name.clone(),
                        max_rooms_per_member: org.max_rooms_per_member,
                        max_participants: org.max_participants,
                        max_meeting_minutes: org.max_meeting_minutes,
                        created_at: org.created_at,
                    })
                })
            }

            fn list_orgs(&self) -> $crate::StoreFuture<'_, Vec<$crate::Organisation>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT id, name, max_rooms_per_member, max_participants, created_at, max_meeting_minutes FROM organisations ORDER BY name",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map($crate::model::org_from_row).collect()
                })
            }

            fn set_org_member(&self, org_id: i64, user_id: i64, is_admin: bool) -> $crate::StoreFuture<'_, ()> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO org_members (org_id, user_id, is_admin, source) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (org_id, user_id) DO UPDATE SET is_admin = excluded.is_admin, source = excluded.source",
                    )
                    .bind(org_id)
                    .bind(user_id)
                    .bind(i64::from(is_admin))
                    .bind($crate::SOURCE_MANUAL)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                })
            }

            fn orgs_of(&self, user_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Membership>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT o.id, o.name, o.max_rooms_per_member, o.max_participants, o.created_at, o.max_meeting_minutes, m.is_admin, m.source \
                         FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name",
                    )
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let admin: i64 = r.try_get(6)?;
                            Ok($crate::Membership {
                                org: $crate::model::org_from_row(r)?,
                                is_admin: admin != 0,
                                source: r.try_get(7)?,
                            })
                        })
                        .collect()
                })
            }

            fn org_by_id(&self, id: i64) -> $crate::StoreFuture<'_, Option<$crate::Organisation>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT id, name, max_rooms_per_member, max_participants, created_at, max_meeting_minutes FROM organisations WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map($crate::model::org_from_row).transpose()
                })
            }

            fn org_by_name<'a>(&'a self, name: &'a str) -> $crate::StoreFuture<'a, Option<$crate::Organisation>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT id, name, max_rooms_per_member, max_participants, created_at, max_meeting_minutes FROM organisations WHERE name = $1",
                    )
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map($crate::model::org_from_row).transpose()
                })
            }

            fn org_members(&self, org_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Member>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.status, u.created_at, m.is_admin, m.source \
                         FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY m.is_admin DESC, u.email",
                    )
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let admin: i64 = r.try_get(7)?;
                            Ok($crate::Member {
                                user: $crate::model::user_from_row(r)?,
                                is_admin: admin != 0,
                                source: r.try_get(8)?,
                            })
                        })
                        .collect()
                })
            }

            fn remove_org_member(&self, org_id: i64, user_id: i64) -> $crate::StoreFuture<'_, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2")
                        .bind(org_id)
                        .bind(user_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn rooms_of_org(&self, org_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Room>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT r.id, r.name, r.created_at, r.owner_id, r.settings FROM rooms r \
                         JOIN org_members m ON m.user_id = r.owner_id WHERE m.org_id = $1 ORDER BY r.created_at DESC, r.id",
                    )
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map($crate::model::room_from_row)
                        .collect()
                })
            }

            fn sync_memberships<'a>(
                &'a self,
                user_id: i64,
                source: &'a str,
                grants: &'a [(i64, bool)],
            ) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let mut tx = self.pool.begin().await?;
                    let rows = sqlx::query("SELECT org_id FROM org_members WHERE user_id = $1 AND source = $2")
                        .bind(user_id)
                        .bind(source)
                        .fetch_all(&mut *tx)
                        .await?;
                    for r in rows {
                        let org: i64 = r.try_get(0)?;
                        if !grants.iter().any(|(g, _)| *g == org) {
                            sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND source = $3")
                                .bind(org)
                                .bind(user_id)
                                .bind(source)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    for (org, admin) in grants {
                        sqlx::query(
                            "INSERT INTO org_members (org_id, user_id, is_admin, source) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (org_id, user_id) DO UPDATE SET is_admin = excluded.is_admin, source = excluded.source \
                             WHERE org_members.source NOT IN ($5, $6)",
                        )
                        .bind(org)
                        .bind(user_id)
                        .bind(i64::from(*admin))
                        .bind(source)
                        .bind($crate::SOURCE_MANUAL)
                        .bind($crate::SOURCE_ACCEPTED)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn identity_user<'a>(&'a self, provider: &'a str, subject: &'a str) -> $crate::StoreFuture<'a, Option<i64>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let row = sqlx::query("SELECT user_id FROM identities WHERE provider = $1 AND subject = $2")
                        .bind(provider)
                        .bind(subject)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match row {
                        Some(r) => Some(r.try_get(0)?),
                        None => None,
                    })
                })
            }

            fn site_settings(&self) -> $crate::StoreFuture<'_, Vec<(String, String)>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query("SELECT key, value FROM site_settings ORDER BY key")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
                })
            }

            fn set_site_setting<'a>(&'a self, key: &'a str, value: &'a str) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO site_settings (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(key)
                    .bind(value)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                })
            }

            fn create_invitation<'a>(&'a self, inv: &'a $crate::NewInvitation) -> $crate::StoreFuture<'a, $crate::Invitation> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    // Commit checked (see the module doc).
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(
                        "INSERT INTO invitations (token_hash, email, org_id, org_admin, invited_by, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(&inv.token_hash)
                    .bind(&inv.email)
                    .bind(inv.org_id)
                    .bind(i64::from(inv.org_admin))
                    .bind(inv.invited_by)
                    .bind(inv.created_at)
                    .bind(inv.expires_at)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok($crate::Invitation {
                        id: row.try_get(0)?,
                        email: inv.email.clone(),
                        org_id: inv.org_id,
                        org_admin: inv.org_admin,
                        invited_by: inv.invited_by,
                        created_at: inv.created_at,
                        expires_at: inv.expires_at,
                        used_by: None,
                        used_at: None,
                    })
                })
            }

            fn invitation<'a>(&'a self, token_hash: &'a str) -> $crate::StoreFuture<'a, Option<$crate::Invitation>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT id, email, org_id, org_admin, invited_by, created_at, expires_at, used_by, used_at \
                         FROM invitations WHERE token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map($crate::model::invitation_from_row).transpose()
                })
            }

            fn open_invitations(&self, org_id: Option<i64>) -> $crate::StoreFuture<'_, Vec<$crate::Invitation>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT id, email, org_id, org_admin, invited_by, created_at, expires_at, used_by, used_at \
                         FROM invitations WHERE used_at IS NULL AND ($1 IS NULL OR org_id = $1) ORDER BY created_at DESC, id DESC",
                    )
                    .bind(org_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map($crate::model::invitation_from_row).collect()
                })
            }

            fn delete_invitation(&self, id: i64) -> $crate::StoreFuture<'_, bool> {
                Box::pin(async move {
                    let done = sqlx::query("DELETE FROM invitations WHERE id = $1 AND used_at IS NULL")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn accept_invitation<'a>(
                &'a self,
                token_hash: &'a str,
                u: &'a $crate::NewUser,
                now: i64,
            ) -> $crate::StoreFuture<'a, $crate::User> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let mut tx = self.pool.begin().await?;
                    // Claimed first: of two submissions of the same link, the second waits on
                    // this row and then finds it used.
                    let inv = sqlx::query(
                        "UPDATE invitations SET used_at = $2 \
                         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                         RETURNING id, email, org_id, org_admin",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| $crate::StoreError::Gone("the invitation".into()))?;
                    let (inv_id, email, org_id, org_admin): (i64, String, Option<i64>, i64) =
                        (inv.try_get(0)?, inv.try_get(1)?, inv.try_get(2)?, inv.try_get(3)?);
                    let row = sqlx::query(
                        "INSERT INTO users (email, name, password_hash, is_admin, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(&email)
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(i64::from(u.is_admin))
                    .bind(u.status.as_str())
                    .bind(u.created_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match $crate::model::is_unique_violation(&e) {
                        true => $crate::StoreError::Conflict("an account with that email".into()),
                        false => e.into(),
                    })?;
                    let user_id: i64 = row.try_get(0)?;
                    sqlx::query("UPDATE invitations SET used_by = $1 WHERE id = $2")
                        .bind(user_id)
                        .bind(inv_id)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(org) = org_id {
                        sqlx::query("INSERT INTO org_members (org_id, user_id, is_admin, source) VALUES ($1, $2, $3, $4)")
                            .bind(org)
                            .bind(user_id)
                            .bind(org_admin)
                            .bind($crate::SOURCE_ACCEPTED)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok($crate::User {
                        id: user_id,
                        email,
                        name: u.name.clone(),
                        password_hash: u.password_hash.clone(),
                        is_admin: u.is_admin,
                        status: u.status,
                        created_at: u.created_at,
                    })
                })
            }

            fn search_rooms<'a>(&'a self, query: &'a str, limit: u32) -> $crate::StoreFuture<'a, Vec<$crate::Room>> {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "SELECT id, name, created_at, owner_id, settings FROM rooms \
                         WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(id) LIKE $1 ESCAPE '\\' \
                         ORDER BY created_at DESC, id LIMIT $2",
                    )
                    .bind($crate::model::contains_pattern(query))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map($crate::model::room_from_row)
                        .collect()
                })
            }

            fn save_identity<'a>(&'a self, i: &'a $crate::Identity) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO identities (provider, subject, user_id, explanation, last_signin_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (provider, subject) DO UPDATE SET user_id = excluded.user_id, \
                         explanation = excluded.explanation, last_signin_at = excluded.last_signin_at",
                    )
                    .bind(&i.provider)
                    .bind(&i.subject)
                    .bind(i.user_id)
                    .bind(&i.explanation)
                    .bind(i.last_signin_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                })
            }

            fn identities_of(&self, user_id: i64) -> $crate::StoreFuture<'_, Vec<$crate::Identity>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT provider, subject, user_id, explanation, last_signin_at FROM identities WHERE user_id = $1 ORDER BY provider, subject",
                    )
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok($crate::Identity {
                                provider: r.try_get(0)?,
                                subject: r.try_get(1)?,
                                user_id: r.try_get(2)?,
                                explanation: r.try_get(3)?,
                                last_signin_at: r.try_get(4)?,
                            })
                        })
                        .collect()
                })
            }

            fn create_session<'a>(
                &'a self,
                id_hash: &'a str,
                user_id: i64,
                csrf: &'a str,
                expires_at: i64,
            ) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)")
                        .bind(id_hash)
                        .bind(user_id)
                        .bind(csrf)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                })
            }

            fn session<'a>(&'a self, id_hash: &'a str, now: i64) -> $crate::StoreFuture<'a, Option<($crate::User, String)>> {
                Box::pin(async move {
                    use sqlx::Row as _;
                    let row = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.status, u.created_at, s.csrf \
                         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
                    )
                    .bind(id_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    match row {
                        Some(r) => Ok(Some(($crate::model::user_from_row(&r)?, r.try_get(7)?))),
                        None => Ok(None),
                    }
                })
            }

            fn delete_session<'a>(&'a self, id_hash: &'a str) -> $crate::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                        .bind(id_hash)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                })
            }

            fn close(&self) -> $crate::StoreFuture<'_, ()> {
                Box::pin(async move {
                    self.pool.close().await;
                    Ok(())
                })
            }

            $crate::sql_admission::admission_methods!();
            $crate::sql_sso::sso_methods!();
            $crate::sql_recordings::recording_methods!();
            $crate::sql_usage::usage_methods!();
            $crate::sql_status::status_methods!();
            $crate::sql_polls::poll_methods!();
            $crate::sql_minutes::minutes_methods!();
        }
    };
}

pub(crate) use impl_store;
