//! The queries of admission (seats, room creation within limits, unused anonymous rooms), API
//! tokens, organisations' membership requests and the health check, written once for both
//! backends like `sql.rs` (expanded inside its `impl Store`).
//!
//! Limits are checked and written in one transaction whose first statement writes the row the
//! limit belongs to (the room for seats, the owner for rooms): PostgreSQL then holds that row's
//! lock and SQLite its write lock until the commit, so two concurrent writers cannot both pass
//! a limit of one.

macro_rules! admission_methods {
    () => {
        fn create_room_within<'a>(
            &'a self,
            room: &'a $crate::NewRoom,
            max_rooms: Option<i64>,
        ) -> $crate::StoreFuture<'a, $crate::Room> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                if let (Some(owner), Some(max)) = (room.owner_id, max_rooms) {
                    sqlx::query("UPDATE users SET name = name WHERE id = $1")
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?;
                    let have: i64 = sqlx::query("SELECT COUNT(*) FROM rooms WHERE owner_id = $1")
                        .bind(owner)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                    if have >= max {
                        return Err($crate::StoreError::LimitReached(format!("{max} rooms")));
                    }
                }
                sqlx::query(
                    "INSERT INTO rooms (id, name, created_at, owner_id, settings, anonymous, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $3)",
                )
                .bind(room.id.as_str())
                .bind(&room.name)
                .bind(room.created_at)
                .bind(room.owner_id)
                .bind(&room.settings)
                .bind(i64::from(room.anonymous))
                .execute(&mut *tx)
                .await
                .map_err(|e| match $crate::model::is_unique_violation(&e) {
                    true => $crate::StoreError::Conflict(format!("room {}", room.id)),
                    false => e.into(),
                })?;
                tx.commit().await?;
                Ok($crate::Room {
                    id: room.id.clone(),
                    name: room.name.clone(),
                    created_at: room.created_at,
                    owner_id: room.owner_id,
                    settings: room.settings.clone(),
                })
            })
        }

        fn touch_room<'a>(
            &'a self,
            id: &'a plenary_proto::RoomId,
            now: i64,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query("UPDATE rooms SET last_used_at = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            })
        }

        fn delete_unused_anonymous_rooms(
            &self,
            unused_since: i64,
        ) -> $crate::StoreFuture<'_, Vec<plenary_proto::RoomId>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let rows = sqlx::query(
                    "DELETE FROM rooms WHERE anonymous = 1 AND COALESCE(last_used_at, created_at) < $1 RETURNING id",
                )
                .bind(unused_since)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get(0)?;
                        plenary_proto::RoomId::parse(&id)
                            .map_err(|e| $crate::StoreError::Corrupt(format!("room id {id:?}: {e}")))
                    })
                    .collect()
            })
        }

        fn add_seat<'a>(
            &'a self,
            seat: &'a str,
            room: &'a plenary_proto::RoomId,
            expires_at: i64,
            now: i64,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // Free seats of expired tokens are forgotten (held ones stay until released).
                sqlx::query("DELETE FROM seats WHERE expires_at <= $1 AND holder IS NULL")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                // The same seat again (an integration's rejoin of the same user) keeps the
                // later expiry.
                sqlx::query(
                    "INSERT INTO seats (id, room_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET expires_at = CASE WHEN seats.expires_at > excluded.expires_at \
                     THEN seats.expires_at ELSE excluded.expires_at END",
                )
                .bind(seat)
                .bind(room.as_str())
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn extend_seat<'a>(
            &'a self,
            seat: &'a str,
            room: &'a plenary_proto::RoomId,
            until: i64,
            now: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE seats SET expires_at = $3 WHERE id = $1 AND room_id = $2 AND expires_at > $4 AND expires_at < $3",
                )
                .bind(seat)
                .bind(room.as_str())
                .bind(until)
                .bind(now)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() > 0 {
                    return Ok(true);
                }
                // Already lasting that long, or unknown / expired.
                let still = sqlx::query("SELECT 1 FROM seats WHERE id = $1 AND room_id = $2 AND expires_at > $3")
                    .bind(seat)
                    .bind(room.as_str())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(still.is_some())
            })
        }

        fn take_seat<'a>(
            &'a self,
            seat: &'a str,
            room: &'a plenary_proto::RoomId,
            holder: &'a str,
            max: Option<i64>,
            now: i64,
        ) -> $crate::StoreFuture<'a, $crate::SeatTaken> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let locked = sqlx::query("UPDATE rooms SET name = name WHERE id = $1")
                    .bind(room.as_str())
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Ok($crate::SeatTaken::Unknown);
                }
                let row = sqlx::query("SELECT room_id, holder, expires_at FROM seats WHERE id = $1")
                    .bind(seat)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Ok($crate::SeatTaken::Unknown);
                };
                let (seat_room, previous, expires_at): (String, Option<String>, i64) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                if seat_room != room.as_str() || expires_at <= now {
                    return Ok($crate::SeatTaken::Unknown);
                }
                if previous.is_none() && let Some(max) = max {
                    let held: i64 = sqlx::query(
                        "SELECT COUNT(*) FROM seats WHERE room_id = $1 AND holder IS NOT NULL",
                    )
                    .bind(room.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                    if held >= max {
                        return Ok($crate::SeatTaken::Full);
                    }
                }
                sqlx::query("UPDATE seats SET holder = $2, held_since = $3 WHERE id = $1")
                    .bind(seat)
                    .bind(holder)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE rooms SET last_used_at = $2 WHERE id = $1")
                    .bind(room.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok($crate::SeatTaken::Taken { previous })
            })
        }

        fn release_seat<'a>(&'a self, seat: &'a str, holder: &'a str) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query("UPDATE seats SET holder = NULL, held_since = NULL WHERE id = $1 AND holder = $2")
                    .bind(seat)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn release_node_seats<'a>(&'a self, prefix: &'a str) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                // A plain prefix comparison (LIKE would read `_` and `%` in names as wildcards,
                // and ignores case on SQLite).
                let done = sqlx::query(
                    "UPDATE seats SET holder = NULL, held_since = NULL WHERE substr(holder, 1, length($1)) = $1",
                )
                .bind(prefix)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            })
        }

        fn node_seats<'a>(&'a self, prefix: &'a str) -> $crate::StoreFuture<'a, Vec<(String, String)>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, holder FROM seats WHERE substr(holder, 1, length($1)) = $1 ORDER BY id",
                )
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
        }

        fn renew_seats<'a>(&'a self, prefix: &'a str, now: i64) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE seats SET held_since = $2 WHERE substr(holder, 1, length($1)) = $1",
                )
                .bind(prefix)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            })
        }

        fn free_stale_seats(&self, before: i64) -> $crate::StoreFuture<'_, u64> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE seats SET holder = NULL, held_since = NULL WHERE holder IS NOT NULL AND held_since < $1",
                )
                .bind(before)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            })
        }

        fn held_seats<'a>(&'a self, room: &'a plenary_proto::RoomId) -> $crate::StoreFuture<'a, i64> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT COUNT(*) FROM seats WHERE room_id = $1 AND holder IS NOT NULL")
                    .bind(room.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get(0)?)
            })
        }

        fn create_api_token<'a>(&'a self, t: &'a $crate::NewApiToken) -> $crate::StoreFuture<'a, $crate::ApiToken> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "INSERT INTO api_tokens (token_hash, name, user_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(&t.token_hash)
                .bind(&t.name)
                .bind(t.user_id)
                .bind(t.created_at)
                .fetch_one(&mut *tx)
                .await?;
                let email: String = sqlx::query("SELECT email FROM users WHERE id = $1")
                    .bind(t.user_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                tx.commit().await?;
                Ok($crate::ApiToken {
                    id: row.try_get(0)?,
                    name: t.name.clone(),
                    user_id: t.user_id,
                    user_email: email,
                    created_at: t.created_at,
                    last_used_at: None,
                })
            })
        }

        fn api_token_user<'a>(&'a self, token_hash: &'a str, now: i64) -> $crate::StoreFuture<'a, Option<$crate::User>> {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.status, u.created_at \
                     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let user = $crate::model::user_from_row(&row)?;
                sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1")
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(Some(user))
            })
        }

        fn api_tokens(&self) -> $crate::StoreFuture<'_, Vec<$crate::ApiToken>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT t.id, t.name, t.user_id, u.email, t.created_at, t.last_used_at \
                     FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at DESC, t.id DESC",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::ApiToken {
                            id: r.try_get(0)?,
                            name: r.try_get(1)?,
                            user_id: r.try_get(2)?,
                            user_email: r.try_get(3)?,
                            created_at: r.try_get(4)?,
                            last_used_at: r.try_get(5)?,
                        })
                    })
                    .collect()
            })
        }

        fn delete_api_token(&self, id: i64) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn request_membership(
            &self,
            org_id: i64,
            user_id: i64,
            is_admin: bool,
            invited_by: Option<i64>,
            now: i64,
        ) -> $crate::StoreFuture<'_, ()> {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO org_requests (org_id, user_id, is_admin, invited_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, user_id) DO UPDATE SET \
                     is_admin = excluded.is_admin, invited_by = excluded.invited_by, created_at = excluded.created_at",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(i64::from(is_admin))
                .bind(invited_by)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            })
        }

        fn membership_requests(
            &self,
            org_id: Option<i64>,
            user_id: Option<i64>,
        ) -> $crate::StoreFuture<'_, Vec<$crate::MembershipRequest>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT o.id, o.name, o.max_rooms_per_member, o.max_participants, o.created_at, o.max_meeting_minutes, \
                     u.id, u.email, u.name, u.password_hash, u.is_admin, u.status, u.created_at, \
                     r.is_admin, b.name, r.created_at \
                     FROM org_requests r JOIN organisations o ON o.id = r.org_id JOIN users u ON u.id = r.user_id \
                     LEFT JOIN users b ON b.id = r.invited_by \
                     WHERE ($1 IS NULL OR r.org_id = $1) AND ($2 IS NULL OR r.user_id = $2) \
                     ORDER BY r.created_at, o.name, u.email",
                )
                .bind(org_id)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let admin: i64 = r.try_get(13)?;
                        Ok($crate::MembershipRequest {
                            org: $crate::model::org_from_row(r)?,
                            user: $crate::model::user_from_row_at(r, 6)?,
                            is_admin: admin != 0,
                            invited_by: r.try_get(14)?,
                            created_at: r.try_get(15)?,
                        })
                    })
                    .collect()
            })
        }

        fn answer_membership_request(
            &self,
            org_id: i64,
            user_id: i64,
            accept: bool,
        ) -> $crate::StoreFuture<'_, bool> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query("DELETE FROM org_requests WHERE org_id = $1 AND user_id = $2 RETURNING is_admin")
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(false) };
                if accept {
                    let admin: i64 = row.try_get(0)?;
                    sqlx::query(
                        "INSERT INTO org_members (org_id, user_id, is_admin, source) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (org_id, user_id) DO UPDATE SET is_admin = excluded.is_admin, source = excluded.source",
                    )
                    .bind(org_id)
                    .bind(user_id)
                    .bind(admin)
                    .bind($crate::SOURCE_ACCEPTED)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            })
        }

        fn join_by_invitation<'a>(
            &'a self,
            token_hash: &'a str,
            user: &'a $crate::User,
            now: i64,
        ) -> $crate::StoreFuture<'a, Option<i64>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let mut tx = self.pool.begin().await?;
                let inv = sqlx::query(
                    "UPDATE invitations SET used_at = $2, used_by = $4 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND email = $3 \
                     RETURNING org_id, org_admin",
                )
                .bind(token_hash)
                .bind(now)
                .bind(&user.email)
                .bind(user.id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| $crate::StoreError::Gone("the invitation".into()))?;
                let (org_id, org_admin): (Option<i64>, i64) = (inv.try_get(0)?, inv.try_get(1)?);
                if let Some(org) = org_id {
                    sqlx::query(
                        "INSERT INTO org_members (org_id, user_id, is_admin, source) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (org_id, user_id) DO UPDATE SET is_admin = excluded.is_admin, source = excluded.source",
                    )
                    .bind(org)
                    .bind(user.id)
                    .bind(org_admin)
                    .bind($crate::SOURCE_ACCEPTED)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(org_id)
            })
        }

        fn save_chat<'a>(&'a self, c: &'a $crate::ChatRow) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO chat_messages (room_id, meeting_ms, id, sender, name, to_kind, to_participant, body, at_ms, deleted_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(c.room.as_str())
                .bind(c.meeting_ms)
                .bind(c.id)
                .bind(c.sender)
                .bind(&c.name)
                .bind(&c.to_kind)
                .bind(c.to_participant)
                .bind(&c.body)
                .bind(c.at_ms)
                .bind(c.deleted_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            })
        }

        fn delete_chat<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
            id: i64,
            now_ms: i64,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE chat_messages SET deleted_ms = $4, body = '' WHERE room_id = $1 AND meeting_ms = $2 AND id = $3 AND deleted_ms IS NULL",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .bind(id)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn chat_of<'a>(
            &'a self,
            room: &'a plenary_proto::RoomId,
            meeting_ms: i64,
        ) -> $crate::StoreFuture<'a, Vec<$crate::ChatRow>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, sender, name, to_kind, to_participant, body, at_ms, deleted_ms FROM chat_messages \
                     WHERE room_id = $1 AND meeting_ms = $2 ORDER BY id",
                )
                .bind(room.as_str())
                .bind(meeting_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::ChatRow {
                            room: room.clone(),
                            meeting_ms,
                            id: r.try_get(0)?,
                            sender: r.try_get(1)?,
                            name: r.try_get(2)?,
                            to_kind: r.try_get(3)?,
                            to_participant: r.try_get(4)?,
                            body: r.try_get(5)?,
                            at_ms: r.try_get(6)?,
                            deleted_ms: r.try_get(7)?,
                        })
                    })
                    .collect()
            })
        }

        fn delete_room_seats<'a>(&'a self, room: &'a plenary_proto::RoomId) -> $crate::StoreFuture<'a, u64> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM seats WHERE room_id = $1")
                    .bind(room.as_str())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            })
        }

        fn ping(&self) -> $crate::StoreFuture<'_, ()> {
            Box::pin(async move {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            })
        }
    };
}

pub(crate) use admission_methods;
