//! Recording files in a folder on this machine: one file per track, created new (an existing
//! file is never overwritten), written whole clusters at a time; after a crash,
//! [`recover_folder`] cuts every file back to its last whole cluster.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::recording::Storage;
use crate::webm::valid_length;

/// A recording's folder.
#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    /// A second handle on every file made, to make what was written durable.
    opened: Vec<File>,
}

impl Folder {
    /// The folder `dir`, made if missing.
    pub fn create(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            opened: Vec::new(),
        })
    }

    /// Makes everything written so far durable (survives a power cut, not only a crash):
    /// every file's data, and the folder's entries for the files made in it.
    pub fn sync(&self) -> io::Result<()> {
        for f in &self.opened {
            f.sync_data()?;
        }
        File::open(&self.dir)?.sync_all()
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Storage for Folder {
    type Out = File;

    fn create(&mut self, name: &str) -> io::Result<File> {
        // Names are made by the recorder (`p<id>-<source>.webm`); never a path.
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file name",
            ));
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.dir.join(name))?;
        self.opened.push(file.try_clone()?);
        Ok(file)
    }

    fn remove(&mut self, name: &str) -> io::Result<()> {
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file name",
            ));
        }
        fs::remove_file(self.dir.join(name))
    }
}

/// Recovers every recording folder under `root` (`<room>/<recording>/`, as the server keeps
/// them) with [`recover_folder`]; returns how many files it looked at.
pub fn recover_all(root: &Path) -> io::Result<usize> {
    let mut files = 0;
    let Ok(rooms) = fs::read_dir(root) else {
        return Ok(0); // nothing recorded yet
    };
    for room in rooms {
        let room = room?.path();
        if !room.is_dir() {
            continue;
        }
        for rec in fs::read_dir(&room)? {
            let rec = rec?.path();
            if rec.is_dir() {
                files += recover_folder(&rec)?.len();
            }
        }
    }
    Ok(files)
}

/// Cuts every `.webm` file in `dir` back to its whole part (what a crash left half-written)
/// and makes it durable. Returns each file's name and the length kept, in name order.
pub fn recover_folder(dir: &Path) -> io::Result<Vec<(String, u64)>> {
    let mut kept = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("webm") {
            continue;
        }
        let bytes = fs::read(&path)?;
        let valid = valid_length(&bytes) as u64;
        if valid < bytes.len() as u64 {
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(valid)?;
            f.sync_all()?;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        kept.push((name, valid));
    }
    kept.sort();
    Ok(kept)
}

/// What a folder of a recording a crash (or a write error) interrupted holds: every file
/// cut back to its whole part ([`recover_folder`]) and read back as a track ([`track_file`]).
pub fn recovered_tracks(dir: &Path) -> Vec<crate::recording::TrackFile> {
    recover_folder(dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, _)| track_file(dir, &name).ok().flatten())
        .collect()
}

/// Makes a folder's entries (files made, renamed or removed in it) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What a track file that this crate wrote holds, read back (a recording a crash interrupted
/// has no other account of its tracks): `None` for a name the recorder does not make or a
/// file without a frame.
pub fn track_file(dir: &Path, name: &str) -> io::Result<Option<crate::recording::TrackFile>> {
    use crate::recording::{SPAN_GAP_MS, TrackFile, TrackKey};
    use plenary_proto::{ParticipantId, TrackSource};
    let Some((id, source)) = name
        .strip_suffix(".webm")
        .and_then(|n| n.strip_prefix('p'))
        .and_then(|n| n.split_once('-'))
    else {
        return Ok(None);
    };
    let (Ok(id), Some(source)) = (
        id.parse::<u64>(),
        [
            TrackSource::Microphone,
            TrackSource::Camera,
            TrackSource::Screen,
            TrackSource::ScreenAudio,
        ]
        .into_iter()
        .find(|s| s.name() == source),
    ) else {
        return Ok(None);
    };
    let frames = crate::webm::read_frames(&fs::read(dir.join(name))?);
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for f in &frames {
        match spans.last_mut() {
            Some(last) if f.at_ms.saturating_sub(last.1) <= SPAN_GAP_MS => last.1 = f.at_ms,
            _ => spans.push((f.at_ms, f.at_ms)),
        }
    }
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Ok(None);
    };
    let codec = match source {
        TrackSource::Microphone | TrackSource::ScreenAudio => {
            crate::webm::Codec::Opus { channels: 2 }
        }
        TrackSource::Camera | TrackSource::Screen => crate::webm::Codec::Vp8,
    };
    Ok(Some(TrackFile {
        track: TrackKey {
            participant: ParticipantId(id),
            source,
        },
        file: name.to_owned(),
        codec,
        start_ms: first.0,
        end_ms: last.1,
        spans: spans.clone(),
        frames: frames.len() as u64,
    }))
}
