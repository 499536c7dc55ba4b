//! The live WebM writer: frames read back as written, a file cut anywhere (a crash) is
//! readable up to its last whole cluster and loses at most about a second, and ffprobe (what
//! the composition job runs on) reads the files with every packet at its time.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use plenary_record::webm::{CLUSTER_MS, Codec, TrackWriter, read_frames, valid_length, vp8_size};

/// A frame to write: its time (ms), whether it is a keyframe, its bytes.
type Sent = (u64, bool, Vec<u8>);

/// A VP8 frame: a keyframe with the start code and a size, or a delta frame.
fn vp8(keyframe: bool, n: u32) -> Vec<u8> {
    let mut f = if keyframe {
        let mut k = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        k.extend_from_slice(&640u16.to_le_bytes());
        k.extend_from_slice(&360u16.to_le_bytes());
        k
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.extend_from_slice(&n.to_be_bytes());
    f.resize(f.len() + 200, (n % 251) as u8);
    f
}

/// Ten seconds of 30 fps video with a keyframe every 3 s, starting with two delta frames
/// (a recording that joins mid-stream) that the writer must skip.
fn video() -> Vec<Sent> {
    (0..300u32)
        .map(|i| {
            let at = 100 + u64::from(i) * 33;
            let key = i >= 2 && (i - 2) % 90 == 0;
            (at, key, vp8(key, i))
        })
        .collect()
}

fn write_video() -> (Vec<u8>, Vec<Sent>) {
    let mut w = TrackWriter::new(Vec::new(), Codec::Vp8);
    let mut taken = Vec::new();
    for (at, key, data) in video() {
        if w.write_frame(at, key, &data).unwrap() {
            taken.push((at, key, data));
        }
    }
    (w.finish().unwrap(), taken)
}

#[test]
fn frames_read_back_as_written_from_the_first_keyframe() {
    let (file, taken) = write_video();
    assert_eq!(
        taken.len(),
        298,
        "the two frames before the first keyframe are skipped"
    );
    assert!(taken[0].1);
    let back = read_frames(&file);
    assert_eq!(back.len(), taken.len());
    for (b, (at, key, data)) in back.iter().zip(&taken) {
        assert_eq!((b.at_ms, b.keyframe, &b.data), (*at, *key, data));
    }
    assert_eq!(valid_length(&file), file.len());
    assert_eq!(vp8_size(&taken[0].2), Some((640, 360)));
}

#[test]
fn a_file_cut_anywhere_reads_back_to_its_last_whole_cluster() {
    let (file, taken) = write_video();
    let mut last = 0;
    for cut in (0..file.len()).step_by(97) {
        let part = &file[..cut];
        let valid = valid_length(part);
        assert!(valid <= cut);
        let back = read_frames(part);
        // A prefix of what was written, never a garbled frame.
        for (b, (at, key, data)) in back.iter().zip(&taken) {
            assert_eq!(
                (b.at_ms, b.keyframe, &b.data),
                (*at, *key, data),
                "cut at {cut}"
            );
        }
        assert!(back.len() >= last, "more of the file never reads back less");
        last = back.len();
    }
    assert!(
        last + 31 >= taken.len(),
        "the last cut lost more than a cluster: {last}"
    );
}

#[test]
fn a_crash_loses_at_most_about_a_second() {
    // The writer is killed after each frame: what its output holds then reads back to within
    // CLUSTER_MS (plus one frame) of the last frame taken.
    let mut w = TrackWriter::new(Vec::new(), Codec::Opus { channels: 2 });
    for i in 0..500u64 {
        let at = i * 20;
        w.write_frame(at, true, &[0xfc, i as u8, 1, 2, 3]).unwrap();
        let on_disk = w_bytes(&w);
        let back = read_frames(&on_disk);
        let newest = back.last().map_or(0, |f| f.at_ms);
        assert!(
            at - newest <= CLUSTER_MS + 20 || back.is_empty() && at <= CLUSTER_MS + 20,
            "at {at} ms only {newest} ms was on disk"
        );
    }
}

/// What a writer over a Vec has put out so far (what a file would hold after a kill).
fn w_bytes(w: &TrackWriter<Vec<u8>>) -> Vec<u8> {
    w.output().clone()
}

#[test]
fn ffprobe_reads_every_packet_at_its_time() {
    let (file, taken) = write_video();
    let dir = std::env::temp_dir().join(format!("plenary-webm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("camera.webm");
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time,flags",
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
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), taken.len(), "{lines:?}");
    for (line, (at, key, _)) in lines.iter().zip(&taken) {
        let (time, flags) = line.split_once(',').unwrap();
        let time: f64 = time.parse().unwrap();
        assert!(
            (time - *at as f64 / 1000.0).abs() < 0.0015,
            "{line} vs {at}"
        );
        assert_eq!(flags.starts_with('K'), *key, "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_file_reads_without_panicking() {
    // Every single-byte change of a small valid file: reading stops, never panics.
    let mut w = plenary_record::webm::TrackWriter::new(
        Vec::new(),
        plenary_record::webm::Codec::Opus { channels: 2 },
    );
    for i in 0..120u64 {
        w.write_frame(i * 20, true, &[0xfc, i as u8, 1, 2, 3])
            .unwrap();
    }
    let file = w.finish().unwrap();
    let whole = plenary_record::webm::read_frames(&file).len();
    assert_eq!(whole, 120);
    for at in 0..file.len() {
        for v in [0x00, 0xff, 0x01, 0x80] {
            let mut bad = file.clone();
            bad[at] = v;
            let n = plenary_record::webm::read_frames(&bad).len();
            assert!(n <= 120 + 64, "at {at}: {n} frames");
        }
    }
}
