//! Recordings in object storage (`PLENARY_RECORDINGS_URL=s3://bucket/prefix`, through the
//! `object_store` crate; credentials, region and endpoint from the usual `AWS_*` variables).
//! A recording is written and composed in the local folder; once ready its files move to the
//! bucket (each checked there, then the local copy removed) and are served from it, ranges
//! and all. The bucket's URL is kept out of logs beyond its scheme and bucket.

use std::path::Path;
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart};

/// Files above this go to the object storage in parts of this size (S3 wants at least 5 MiB
/// per part but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// An object storage for recordings.
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// `s3://bucket` (for logs and the status page).
    pub name: String,
}

/// What can go wrong with the object storage.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("PLENARY_RECORDINGS_URL {0:?} is not an s3:// URL")]
    Url(String),
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("object storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("object storage: {0} was not stored whole")]
    Incomplete(String),
}

impl Remote {
    /// `s3://bucket[/prefix][?option=value&…]`: the configuration from the `AWS_*` variables
    /// (credentials belong there), then the URL's options, named as `object_store` names them
    /// (`endpoint`, `region`, `allow_http`, …: an S3-compatible server's address, say).
    pub fn from_url(url: &str) -> Result<Self, RemoteError> {
        let Some(rest) = url.strip_prefix("s3://") else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(RemoteError::Url(format!("{scheme}:…")));
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(RemoteError::Url("s3://".into()));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (k, v) in query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
        {
            let key: object_store::aws::AmazonS3ConfigKey = k
                .parse()
                .map_err(|_| RemoteError::Url(format!("s3://{bucket}?{k}=…: unknown option")))?;
            builder = builder.with_config(key, v);
        }
        let store = builder.build()?;
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
            name: format!("s3://{bucket}"),
        })
    }

    fn key(&self, folder: &str, name: &str) -> Key {
        let mut parts: Vec<&str> = Vec::new();
        if !self.prefix.is_empty() {
            parts.push(&self.prefix);
        }
        parts.push(folder);
        parts.push(name);
        Key::from(parts.join("/"))
    }

    /// Copies `names` (relative to `dir`) under `folder`, each checked to be there whole. A
    /// large file goes in parts, read as it is sent: a long meeting's MP4 is never held in
    /// memory, nor limited by what one PUT may carry.
    pub async fn upload(
        &self,
        dir: &Path,
        folder: &str,
        names: &[String],
    ) -> Result<(), RemoteError> {
        for name in names {
            let path = dir.join(name);
            let len = tokio::fs::metadata(&path).await?.len();
            let key = self.key(folder, name);
            if len <= PART_BYTES as u64 {
                let data = tokio::fs::read(&path).await?;
                self.store.put(&key, PutPayload::from(data)).await?;
            } else {
                self.upload_in_parts(&path, &key).await?;
            }
            let stored = self.store.head(&key).await?;
            if stored.size != len {
                return Err(RemoteError::Incomplete(name.clone()));
            }
        }
        Ok(())
    }

    async fn upload_in_parts(&self, path: &Path, key: &Key) -> Result<(), RemoteError> {
        use tokio::io::AsyncReadExt as _;
        let mut file = tokio::fs::File::open(path).await?;
        let mut upload =
            WriteMultipart::new_with_chunk_size(self.store.put_multipart(key).await?, PART_BYTES);
        let mut buf = vec![0u8; 1024 * 1024];
        let sent: Result<(), RemoteError> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                // At most two parts in flight: memory stays a few parts, whatever the size.
                upload.wait_for_capacity(2).await?;
                upload.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => {
                upload.finish().await?;
                Ok(())
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// The size of a file of `folder`.
    pub async fn size(&self, folder: &str, name: &str) -> Result<u64, RemoteError> {
        Ok(self.store.head(&self.key(folder, name)).await?.size)
    }

    /// A whole (small) file of `folder`.
    pub async fn read(&self, folder: &str, name: &str) -> Result<Vec<u8>, RemoteError> {
        Ok(self
            .store
            .get(&self.key(folder, name))
            .await?
            .bytes()
            .await?
            .to_vec())
    }

    /// `count` bytes from `start` of a file of `folder`, as they arrive.
    pub async fn read_range(
        &self,
        folder: &str,
        name: &str,
        start: u64,
        count: u64,
    ) -> Result<
        impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static + use<>,
        RemoteError,
    > {
        let opts = object_store::GetOptions {
            range: (count > 0).then(|| object_store::GetRange::Bounded(start..start + count)),
            ..Default::default()
        };
        let got = self.store.get_opts(&self.key(folder, name), opts).await?;
        Ok(got.into_stream().map_err(std::io::Error::other))
    }

    /// Every file of `folder` (their names within it).
    pub async fn list(&self, folder: &str) -> Result<Vec<String>, RemoteError> {
        let base = self.key(folder, "");
        let base = base.as_ref().trim_end_matches('/').to_owned();
        let mut out: Vec<String> = self
            .store
            .list(Some(&Key::from(base.clone())))
            .map_ok(|m| {
                m.location
                    .as_ref()
                    .trim_start_matches(&base)
                    .trim_start_matches('/')
                    .to_owned()
            })
            .try_collect()
            .await?;
        out.sort();
        Ok(out)
    }

    /// Deletes every file of `folder`.
    pub async fn delete(&self, folder: &str) -> Result<(), RemoteError> {
        for name in self.list(folder).await? {
            self.store.delete(&self.key(folder, &name)).await?;
        }
        Ok(())
    }
}
