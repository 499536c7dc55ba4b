//! Fresh databases for the storage tests: a SQLite file in a new folder, or a new PostgreSQL
//! schema at `PLENARY_TEST_POSTGRES_URL` (default: the machine's local server, database
//! `test`; the test command starts it). A missing server fails the test: it is never skipped.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use plenary_store::Store;

/// A fresh database; dropped with [`Fresh::finish`].
pub struct Fresh {
    pub store: Arc<dyn Store>,
    /// The URL it was opened with (to open a second connection, say).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Schema(plenary_store::PostgresStore, String),
}

impl Fresh {
    pub async fn sqlite(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("plenary-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("p.db").display());
        let store = plenary_store::open(&url).await.unwrap();
        Self {
            store,
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres(name: &str) -> Self {
        let base = std::env::var("PLENARY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("plenary_{name}_{}", std::process::id());
        let admin = plenary_store::PostgresStore::connect(&base)
            .await
            .expect("PostgreSQL must be running (the test command starts it)");
        admin
            .execute_raw(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = plenary_store::open(&url).await.unwrap();
        Self {
            store,
            url,
            cleanup: Cleanup::Schema(admin, schema),
        }
    }

    pub async fn finish(self) {
        self.store.close().await.unwrap();
        match self.cleanup {
            Cleanup::Dir(dir) => std::fs::remove_dir_all(&dir).unwrap(),
            Cleanup::Schema(admin, schema) => admin
                .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap(),
        }
    }
}
