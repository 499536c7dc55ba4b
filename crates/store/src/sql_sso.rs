//! The queries of single sign-on (mapping rules added in the portal, sign-ins in progress,
//! platform admins from providers, claimed accounts, identity counts), written once for both
//! backends like `sql.rs` (expanded inside its `impl Store`).

macro_rules! sso_methods {
    () => {
        fn sso_rules<'a>(&'a self, provider: &'a str) -> $crate::StoreFuture<'a, Vec<$crate::SsoRule>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, provider, kind, value, org, is_admin, created_at FROM sso_rules \
                     WHERE provider = $1 ORDER BY id",
                )
                .bind(provider)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::SsoRule {
                            id: r.try_get(0)?,
                            provider: r.try_get(1)?,
                            kind: r.try_get(2)?,
                            value: r.try_get(3)?,
                            org: r.try_get(4)?,
                            is_admin: r.try_get::<i64, _>(5)? != 0,
                            created_at: r.try_get(6)?,
                        })
                    })
                    .collect()
            })
        }

        fn add_sso_rule<'a>(&'a self, rule: &'a $crate::SsoRule) -> $crate::StoreFuture<'a, $crate::SsoRule> {
            Box::pin(async move {
                use sqlx::Row as _;
                // Commit checked (see the module doc).
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "INSERT INTO sso_rules (provider, kind, value, org, is_admin, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&rule.provider)
                .bind(&rule.kind)
                .bind(&rule.value)
                .bind(&rule.org)
                .bind(i64::from(rule.is_admin))
                .bind(rule.created_at)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::SsoRule { id: row.try_get(0)?, ..rule.clone() })
            })
        }

        fn delete_sso_rule<'a>(&'a self, provider: &'a str, id: i64) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM sso_rules WHERE provider = $1 AND id = $2")
                    .bind(provider)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            })
        }

        fn save_sso_login<'a>(
            &'a self,
            state_hash: &'a str,
            pending: &'a str,
            now: i64,
            expires_at: i64,
        ) -> $crate::StoreFuture<'a, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                // Logins abandoned at the provider would otherwise stay for ever.
                sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO sso_logins (state_hash, pending, expires_at) VALUES ($1, $2, $3)")
                    .bind(state_hash)
                    .bind(pending)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn take_sso_login<'a>(&'a self, state_hash: &'a str, now: i64) -> $crate::StoreFuture<'a, Option<String>> {
            Box::pin(async move {
                use sqlx::Row as _;
                // Commit checked (see the module doc).
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query("DELETE FROM sso_logins WHERE state_hash = $1 RETURNING pending, expires_at")
                    .bind(state_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                match row {
                    Some(r) if r.try_get::<i64, _>(1)? > now => Ok(Some(r.try_get(0)?)),
                    _ => Ok(None),
                }
            })
        }

        fn sync_platform_admin<'a>(
            &'a self,
            user_id: i64,
            source: &'a str,
            granted: bool,
        ) -> $crate::StoreFuture<'a, bool> {
            Box::pin(async move {
                use sqlx::Row as _;
                if granted {
                    // Not admin yet, or admin through another provider: this one gives it
                    // now (and takes it back if it stops); a hand-set role stays.
                    sqlx::query(
                        "UPDATE users SET is_admin = 1, admin_source = $1 \
                         WHERE id = $2 AND (is_admin = 0 OR admin_source <> $3)",
                    )
                        .bind(source)
                        .bind(user_id)
                        .bind($crate::SOURCE_MANUAL)
                        .execute(&self.pool)
                        .await?;
                } else {
                    sqlx::query("UPDATE users SET is_admin = 0, admin_source = $1 WHERE id = $2 AND is_admin = 1 AND admin_source = $3")
                        .bind($crate::SOURCE_MANUAL)
                        .bind(user_id)
                        .bind(source)
                        .execute(&self.pool)
                        .await?;
                }
                let row = sqlx::query("SELECT is_admin FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => r.try_get::<i64, _>(0)? != 0,
                    None => false,
                })
            })
        }

        fn claim_account(&self, user_id: i64) -> $crate::StoreFuture<'_, ()> {
            Box::pin(async move {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE users SET password_hash = NULL WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
        }

        fn admin_source(&self, user_id: i64) -> $crate::StoreFuture<'_, Option<String>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT admin_source FROM users WHERE id = $1 AND is_admin = 1")
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
            })
        }

        fn identity_counts(&self) -> $crate::StoreFuture<'_, Vec<(String, i64)>> {
            Box::pin(async move {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT provider, COUNT(*) FROM identities GROUP BY provider ORDER BY provider")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
            })
        }
    };
}

pub(crate) use sso_methods;
