//! The composition queue's workers: each takes the oldest queued recording from the store
//! (a lease, extended while it works; a worker that dies loses it and another takes the job),
//! runs ffmpeg at the lowest CPU priority so that live meetings keep the machine, reports
//! progress, and marks the recording ready — or queued again, failed for good after
//! [`ATTEMPTS`], with ffmpeg's own words.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plenary_proto::clock::unix_millis;
use plenary_store::RecordingRow;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::Command;

use crate::{MP4, PLAY, RecordingError, Recordings, compose};

/// Tries before a composition is failed for good.
pub const ATTEMPTS: i64 = 3;
/// How long a worker holds a job without reporting.
const LEASE_MS: i64 = 60_000;
/// How often idle workers look at the queue (another node's job, a lease that ran out).
const POLL: Duration = Duration::from_secs(5);

/// Copies a track file into one a player can seek in (cues, a duration; times from 0).
pub async fn remux(ffmpeg: &Path, from: &Path, to: &Path) -> Result<(), RecordingError> {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i"])
        .arg(from)
        .args(["-map", "0", "-c", "copy", "-f", "webm"])
        .arg(to)
        .kill_on_drop(true)
        .output()
        .await?;
    if !out.status.success() {
        return Err(RecordingError::Ffmpeg(format!(
            "remuxing {}: {}",
            from.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok(())
}

/// Starts `n` workers for as long as the runtime runs.
pub fn spawn(recordings: Arc<Recordings>, n: usize) {
    for _ in 0..n {
        let r = recordings.clone();
        tokio::spawn(async move {
            loop {
                match r
                    .store()
                    .claim_recording_job(unix_millis() as i64, LEASE_MS)
                    .await
                {
                    Ok(Some(job)) => r.run(job).await,
                    Ok(None) => {
                        let _ = tokio::time::timeout(POLL, r.queued.notified()).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the composition queue");
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        });
    }
}

impl Recordings {
    /// Runs one claimed composition to its end, whatever the end is.
    async fn run(&self, job: RecordingRow) {
        let started = std::time::Instant::now();
        let mut bytes = 0;
        // Composed and moved before a crash: only its state is left to set.
        let composed = if job.remote {
            bytes = job.bytes;
            Ok(())
        } else {
            match self.compose(&job).await {
                Ok(()) => {
                    bytes = crate::folder_bytes(&self.dir(&job)) as i64;
                    self.move_to_remote(&job).await
                }
                Err(e) => Err(e),
            }
        };
        match composed {
            Ok(()) => match self
                .store()
                .recording_composed(&job.id, job.attempts, bytes)
                .await
            {
                Ok(true) => {
                    self.record_usage(plenary_store::UsageKind::RecordingStored, &job, bytes)
                        .await;
                    let _ = self.ready.send(job.id.clone());
                    tracing::info!(
                        id = %job.id,
                        length_s = job.length_ms / 1000,
                        took_ms = started.elapsed().as_millis() as u64,
                        "recording composed"
                    )
                }
                Ok(false) => {
                    tracing::warn!(id = %job.id, "a composed recording was deleted or taken meanwhile")
                }
                Err(e) => {
                    tracing::error!(id = %job.id, error = %e, "cannot mark a recording ready")
                }
            },
            Err(e) => {
                let for_good = job.attempts >= ATTEMPTS;
                tracing::error!(id = %job.id, attempt = job.attempts, for_good, error = %e, "composition failed");
                let reason = e.to_string();
                if let Err(e) = self
                    .store()
                    .recording_failed(&job.id, job.attempts, &reason, for_good)
                    .await
                {
                    tracing::error!(id = %job.id, error = %e, "cannot record a failed composition");
                }
            }
        }
    }

    /// Composes `job`'s MP4 (written aside, made durable, then put in place).
    pub async fn compose(&self, job: &RecordingRow) -> Result<(), RecordingError> {
        let dir = self.dir(job);
        let timeline = self.timeline(job).await?;
        // Per attempt: a worker that lost its lease never writes over the next one's files.
        let chapters = dir.join(format!("chapters-{}.txt", job.attempts));
        let segments = compose::layout(&timeline);
        crate::write_durably(
            &chapters,
            compose::ffmetadata(&compose::chapters(&timeline, &segments)).as_bytes(),
        )?;
        let part = dir.join(format!("recording-{}.mp4.part", job.attempts));
        let args = compose::command(
            &timeline,
            &dir.join(PLAY).to_string_lossy(),
            &chapters.to_string_lossy(),
            &part.to_string_lossy(),
        );
        // The lowest CPU priority: a live meeting on this machine comes first.
        let mut child = Command::new("nice")
            .args(["-n", "19"])
            .arg(&self.ffmpeg)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stderr = child.stderr.take();
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            if let Some(mut e) = stderr {
                let _ = tokio::io::AsyncReadExt::read_to_string(&mut e, &mut text).await;
            }
            text
        });
        if let Some(out) = child.stdout.take() {
            let mut lines = tokio::io::BufReader::new(out).lines();
            let mut reported = std::time::Instant::now();
            let length_us = (timeline.length_ms.max(1) * 1000) as i64;
            while let Ok(Some(line)) = lines.next_line().await {
                let Some(us) = line
                    .strip_prefix("out_time_us=")
                    .and_then(|v| v.parse::<i64>().ok())
                else {
                    continue;
                };
                if reported.elapsed() >= Duration::from_secs(1) {
                    reported = std::time::Instant::now();
                    let permille = (us * 1000 / length_us).clamp(0, 999);
                    let lease = unix_millis() as i64 + LEASE_MS;
                    if let Ok(false) = self
                        .store()
                        .recording_progress(&job.id, job.attempts, permille, lease)
                        .await
                    {
                        // Deleted, or taken by another worker after our lease ran out: stop.
                        let _ = child.kill().await;
                        return Err(RecordingError::Ffmpeg("the job was taken away".into()));
                    }
                }
            }
        }
        let status = child.wait().await?;
        let errors = errors.await.unwrap_or_default();
        if !status.success() {
            let _ = std::fs::remove_file(&part);
            // ffmpeg's last words say most.
            let errors = errors.trim();
            let skip = errors.chars().count().saturating_sub(400);
            let tail: String = errors.chars().skip(skip).collect();
            return Err(RecordingError::Ffmpeg(format!("ffmpeg {status}: {tail}")));
        }
        std::fs::File::open(&part)?.sync_all()?;
        std::fs::rename(&part, dir.join(MP4))?;
        plenary_record::files::sync_dir(&dir)?;
        Ok(())
    }
}
