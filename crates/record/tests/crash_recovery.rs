//! A recording killed mid-way (no finish, a half-written cluster at the end of a file) is
//! brought back: every file cut to its last whole cluster, readable by ffprobe, holding all
//! but about the last second.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;
use std::time::{Duration, Instant};

use plenary_proto::{ParticipantId, TrackSource};
use plenary_record::files::{Folder, recover_all, recover_folder};
use plenary_record::recording::{Incoming, Recording, TrackKey};
use plenary_record::webm::{Codec, read_frames};

#[test]
fn a_killed_recording_is_recovered_to_its_last_whole_cluster() {
    let dir = std::env::temp_dir().join(format!("plenary-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let folder = Folder::create(&dir).unwrap();
    let t0 = Instant::now();
    let mut rec = Recording::new(folder, t0);
    let mic = TrackKey {
        participant: ParticipantId(7),
        source: TrackSource::Microphone,
    };
    for i in 0..400u64 {
        rec.frame(Incoming {
            track: mic,
            codec: Codec::Opus { channels: 2 },
            rtp_time: 5000 + i * 960,
            clock_rate: 48_000,
            arrived: t0 + Duration::from_millis(i * 20),
            sender_ms: None,
            keyframe: true,
            data: &[0xfc, (i % 256) as u8, 9, 9],
        })
        .unwrap();
    }
    // kill -9: the recording is never finished, and the disk holds half a cluster more.
    drop(rec);
    let path = dir.join(mic.file_name());
    let whole = std::fs::metadata(&path).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&[0x1F, 0x43, 0xB6, 0x75, 0x88, 0, 0, 0, 0, 0, 0, 0x10])
        .unwrap();
    drop(f);

    // At the next start the server recovers every recording folder
    // (<root>/<room>/<recording>/); done again, it changes nothing.
    let root = dir
        .parent()
        .unwrap()
        .join(format!("plenary-crash-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("abc-defg-hij")).unwrap();
    let moved = root.join("abc-defg-hij").join("1700000000000");
    std::fs::rename(&dir, &moved).unwrap();
    assert_eq!(recover_all(&root).unwrap(), 1);
    std::fs::rename(&moved, &dir).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    let kept = recover_folder(&dir).unwrap();
    assert_eq!(kept, vec![(mic.file_name(), whole)]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        whole,
        "the half cluster is cut"
    );
    let bytes = std::fs::read(&path).unwrap();
    let frames = read_frames(&bytes);
    // 8 s were sent; at most about a second (the open cluster) is lost.
    let last = frames.last().unwrap().at_ms;
    assert!(last >= 7980 - 1000 - 20, "only {last} ms survived");
    assert_eq!(
        frames.len() as u64,
        last / 20 + 1,
        "no frame missing before the cut"
    );
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe (Debian's ffmpeg; the test command installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        frames.len().to_string()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
