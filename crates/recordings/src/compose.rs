//! Composing a recording into one MP4 (H.264 + AAC, 1280×720, faststart) with Debian's
//! ffmpeg: while someone shares a screen, the screen large and the speaker's camera (and up to
//! two others) beside it; otherwise the active speaker's camera, or a grid of the cameras on;
//! every audio track mixed; chapters where the speaker changes.
//!
//! [`layout`] is pure (tested without ffmpeg); [`command`] turns it into ffmpeg's arguments.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::timeline::{Timeline, Track};

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;
const FPS: u32 = 25;
/// The stage follows a new speaker only after the current one has held it this long.
const STAGE_HOLD_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What is on screen from `from_ms` to `to_ms`: video tracks (by index in the timeline) and
/// where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub from_ms: u64,
    pub to_ms: u64,
    pub placed: Vec<(usize, Rect)>,
    /// Who has the stage (for chapters).
    pub speaker: Option<u64>,
}

fn on_at(spans: &[(u64, u64)], t: u64) -> bool {
    spans.iter().any(|&(a, b)| a <= t && t < b)
}

/// The grid for `n` cameras in a `w`×`h` area at (`x`, `y`).
fn grid(n: usize, x: u32, y: u32, w: u32, h: u32) -> Vec<Rect> {
    let cols = match n {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        _ => 4,
    };
    let rows = n.div_ceil(cols).max(1) as u32;
    let cols = cols as u32;
    let (cw, ch) = (w / cols, h / rows.max(if n == 2 { 2 } else { 1 }));
    let top = if n == 2 { y + h / 4 } else { y };
    (0..n as u32)
        .map(|i| Rect {
            x: x + (i % cols) * cw,
            y: top + (i / cols) * ch,
            w: cw & !1,
            h: ch & !1,
        })
        .collect()
}

/// When each video track is on: cameras by their frames; a screen by its share.
fn video_spans(t: &Timeline) -> Vec<(usize, Vec<(u64, u64)>)> {
    let shares = t.screen_shares();
    t.tracks
        .iter()
        .enumerate()
        .filter(|(_, tr)| tr.kind == "video")
        .map(|(i, tr)| {
            let spans = if tr.source == "screen" {
                let from_events: Vec<(u64, u64)> = shares
                    .iter()
                    .filter(|s| s.0 == tr.participant)
                    .map(|s| (s.1.max(tr.start_ms), s.2))
                    .filter(|s| s.0 < s.1)
                    .collect();
                if from_events.is_empty() {
                    tr.spans.iter().map(|s| (s.0, s.1 + 1)).collect()
                } else {
                    from_events
                }
            } else {
                tr.spans.iter().map(|s| (s.0, s.1 + 1)).collect()
            };
            (i, spans)
        })
        .collect()
}

/// Who is on screen when, for the whole recording.
pub fn layout(t: &Timeline) -> Vec<Segment> {
    let spans = video_spans(t);
    let speaking = t.speaking();
    let mut cuts: Vec<u64> = vec![0, t.length_ms];
    for (_, s) in &spans {
        for &(a, b) in s {
            cuts.extend([a, b]);
        }
    }
    cuts.extend(speaking.iter().flat_map(|s| [s.1, s.2]));
    cuts.retain(|&c| c <= t.length_ms);
    cuts.sort_unstable();
    cuts.dedup();

    let mut segments: Vec<Segment> = Vec::new();
    let (mut stage, mut stage_since) = (None::<u64>, 0u64);
    for w in cuts.windows(2) {
        let (from, to) = (w[0], w[1]);
        if from >= to {
            continue;
        }
        // The stage goes to whoever started speaking last, once the holder had it long enough.
        if let Some(s) = speaking
            .iter()
            .filter(|s| s.1 <= from && from < s.2)
            .max_by_key(|s| s.1)
            && stage != Some(s.0)
            && (stage.is_none() || from.saturating_sub(stage_since) >= STAGE_HOLD_MS)
        {
            stage = Some(s.0);
            stage_since = from;
        }
        let cameras: Vec<usize> = spans
            .iter()
            .filter(|(i, s)| t.tracks[*i].source == "camera" && on_at(s, from))
            .map(|(i, _)| *i)
            .collect();
        let screen = spans
            .iter()
            .filter(|(i, s)| t.tracks[*i].source == "screen" && on_at(s, from))
            .max_by_key(|(i, _)| t.tracks[*i].start_ms)
            .map(|(i, _)| *i);
        let camera_of = |p: u64| {
            cameras
                .iter()
                .copied()
                .find(|&i| t.tracks[i].participant == p)
        };
        let speaker_camera = stage.and_then(camera_of);
        let mut placed = Vec::new();
        if let Some(s) = screen {
            placed.push((
                s,
                Rect {
                    x: 0,
                    y: 0,
                    w: 960,
                    h: HEIGHT,
                },
            ));
            let mut side: Vec<usize> = speaker_camera.into_iter().collect();
            side.extend(
                cameras
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != speaker_camera),
            );
            for (k, c) in side.into_iter().take(3).enumerate() {
                placed.push((
                    c,
                    Rect {
                        x: 960,
                        y: k as u32 * 240,
                        w: 320,
                        h: 240,
                    },
                ));
            }
        } else if let Some(c) = speaker_camera {
            placed.push((
                c,
                Rect {
                    x: 0,
                    y: 0,
                    w: WIDTH,
                    h: HEIGHT,
                },
            ));
        } else {
            let shown: Vec<usize> = cameras.iter().copied().take(16).collect();
            placed.extend(
                shown
                    .iter()
                    .copied()
                    .zip(grid(shown.len(), 0, 0, WIDTH, HEIGHT)),
            );
        }
        match segments.last_mut() {
            Some(last) if last.placed == placed && last.speaker == stage && last.to_ms == from => {
                last.to_ms = to
            }
            _ => segments.push(Segment {
                from_ms: from,
                to_ms: to,
                placed,
                speaker: stage,
            }),
        }
    }
    segments
}

/// Chapters: one per stage speaker, `(from, to, title)`.
pub fn chapters(t: &Timeline, segments: &[Segment]) -> Vec<(u64, u64, String)> {
    let mut out: Vec<(u64, u64, Option<u64>)> = Vec::new();
    for s in segments {
        match out.last_mut() {
            Some(last) if last.2 == s.speaker || s.speaker.is_none() => last.1 = s.to_ms,
            _ => out.push((s.from_ms, s.to_ms, s.speaker)),
        }
    }
    out.into_iter()
        .map(|(a, b, p)| {
            let title = match p {
                Some(p) if !t.name_of(p).is_empty() => t.name_of(p).to_owned(),
                _ => "Plenary".to_owned(),
            };
            (a, b, title)
        })
        .collect()
}

/// The ffmetadata text of `chapters`.
pub fn ffmetadata(chapters: &[(u64, u64, String)]) -> String {
    let mut out = String::from(";FFMETADATA1\n");
    for (a, b, title) in chapters {
        // ffmetadata escapes '=', ';', '#', '\\' and newlines with a backslash.
        let mut esc = String::new();
        for ch in title.chars() {
            match ch {
                '=' | ';' | '#' | '\\' => {
                    esc.push('\\');
                    esc.push(ch)
                }
                '\n' | '\r' => esc.push(' '),
                c => esc.push(c),
            }
        }
        let _ = write!(
            out,
            "[CHAPTER]\nTIMEBASE=1/1000\nSTART={a}\nEND={b}\ntitle={esc}\n"
        );
    }
    out
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// ffmpeg's arguments to compose `t` (its track files in `dir`) into `out`, with the chapters
/// in the ffmetadata file `chapters`; progress goes to stdout (`-progress pipe:1`).
pub fn command(t: &Timeline, dir: &str, chapters: &str, out: &str) -> Vec<String> {
    let segments = layout(t);
    let len = secs(t.length_ms.max(1));
    let mut args: Vec<String> = [
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-progress",
        "pipe:1",
        "-nostats",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["-f", "lavfi", "-i"].map(String::from));
    args.push(format!(
        "color=c=0x1e1e23:s={WIDTH}x{HEIGHT}:r={FPS}:d={len}"
    ));

    // Each used track is an input, delayed to where it starts.
    let mut input_of: BTreeMap<usize, usize> = BTreeMap::new();
    let audio: Vec<usize> = (0..t.tracks.len())
        .filter(|&i| t.tracks[i].kind == "audio")
        .collect();
    let mut uses: BTreeMap<usize, BTreeMap<Rect, Vec<(u64, u64)>>> = BTreeMap::new();
    for s in &segments {
        for &(i, r) in &s.placed {
            uses.entry(i)
                .or_default()
                .entry(r)
                .or_default()
                .push((s.from_ms, s.to_ms));
        }
    }
    let mut add_input = |args: &mut Vec<String>, i: usize, track: &Track| {
        let n = input_of.len() + 1;
        input_of.insert(i, n);
        args.extend([
            "-itsoffset".into(),
            secs(track.start_ms),
            "-i".into(),
            format!("{dir}/{}", track.file),
        ]);
        n
    };
    let mut graph = String::new();
    let mut base = "0:v".to_owned();
    let mut k = 0;
    for (i, rects) in &uses {
        let n = add_input(&mut args, *i, &t.tracks[*i]);
        let labels: Vec<String> = (0..rects.len()).map(|j| format!("s{n}_{j}")).collect();
        if rects.len() == 1 {
            let _ = write!(graph, "[{n}:v]null[{}];", labels[0]);
        } else {
            let _ = write!(graph, "[{n}:v]split={}", rects.len());
            for l in &labels {
                let _ = write!(graph, "[{l}]");
            }
            graph.push(';');
        }
        for ((r, spans), l) in rects.iter().zip(&labels) {
            let enable: Vec<String> = spans
                .iter()
                .map(|(a, b)| format!("between(t,{},{})", secs(*a), secs(b.saturating_sub(1))))
                .collect();
            let _ = write!(
                graph,
                "[{l}]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=0x1e1e23,setsar=1[p{k}];\
                 [{base}][p{k}]overlay=x={x}:y={y}:eof_action=pass:enable='{e}'[b{k}];",
                w = r.w,
                h = r.h,
                x = r.x,
                y = r.y,
                e = enable.join("+"),
            );
            base = format!("b{k}");
            k += 1;
        }
    }
    let _ = write!(graph, "[{base}]format=yuv420p[v];");
    if audio.is_empty() {
        args.extend(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"].map(String::from));
        let n = input_of.len() + 1;
        let _ = write!(graph, "[{n}:a]anull[a]");
    } else {
        let mut mix = String::new();
        for (j, &i) in audio.iter().enumerate() {
            let n = add_input(&mut args, i, &t.tracks[i]);
            let _ = write!(graph, "[{n}:a]aresample=48000:async=1:first_pts=0[a{j}];");
            let _ = write!(mix, "[a{j}]");
        }
        let _ = write!(
            graph,
            "{mix}amix=inputs={}:normalize=0:dropout_transition=0,apad[a]",
            audio.len()
        );
    }
    let meta = input_of.len() + 1 + usize::from(audio.is_empty());
    args.extend([
        "-f".into(),
        "ffmetadata".into(),
        "-i".into(),
        chapters.into(),
    ]);
    args.extend(["-filter_complex".into(), graph]);
    args.extend(
        [
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "superfast",
            "-crf",
            "26",
            "-r",
            "25",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ac",
            "2",
            "-movflags",
            "+faststart",
        ]
        .map(String::from),
    );
    args.extend([
        "-map_chapters".into(),
        meta.to_string(),
        "-t".into(),
        len,
        "-f".into(),
        "mp4".into(),
        out.into(),
    ]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Event, Person};

    fn track(file: &str, p: u64, source: &str, spans: Vec<(u64, u64)>) -> Track {
        Track {
            file: file.into(),
            participant: p,
            source: source.into(),
            kind: if source == "microphone" {
                "audio"
            } else {
                "video"
            }
            .into(),
            start_ms: spans[0].0,
            end_ms: spans.last().map_or(0, |s| s.1),
            spans,
        }
    }

    fn meeting() -> Timeline {
        Timeline {
            version: 1,
            started_ms: 0,
            length_ms: 60_000,
            tracks: vec![
                track("p1-camera.webm", 1, "camera", vec![(0, 60_000)]),
                track("p2-camera.webm", 2, "camera", vec![(5_000, 60_000)]),
                track("p1-screen.webm", 1, "screen", vec![(30_000, 40_000)]),
                track("p1-microphone.webm", 1, "microphone", vec![(0, 60_000)]),
            ],
            people: vec![
                Person {
                    participant: 1,
                    name: "Ada".into(),
                },
                Person {
                    participant: 2,
                    name: "Bo = B".into(),
                },
            ],
            events: vec![
                Event::Speaking {
                    at_ms: 10_000,
                    participant: 2,
                    speaking: true,
                },
                Event::Speaking {
                    at_ms: 20_000,
                    participant: 2,
                    speaking: false,
                },
                Event::Speaking {
                    at_ms: 20_500,
                    participant: 1,
                    speaking: true,
                },
                Event::Screen {
                    at_ms: 30_000,
                    participant: 1,
                    on: true,
                },
                Event::Screen {
                    at_ms: 45_000,
                    participant: 1,
                    on: false,
                },
            ],
        }
    }

    #[test]
    fn the_stage_follows_the_speaker_and_a_share_takes_it() {
        let t = meeting();
        let s = layout(&t);
        let at = |ms: u64| s.iter().find(|g| g.from_ms <= ms && ms < g.to_ms).unwrap();
        // Alone, then two in a grid until someone speaks.
        assert_eq!(
            at(1_000).placed,
            [(
                0,
                Rect {
                    x: 0,
                    y: 0,
                    w: 1280,
                    h: 720
                }
            )]
        );
        assert_eq!(at(6_000).placed.len(), 2);
        // Bo speaks: Bo's camera full.
        assert_eq!(
            at(12_000).placed,
            [(
                1,
                Rect {
                    x: 0,
                    y: 0,
                    w: 1280,
                    h: 720
                }
            )]
        );
        // Ada takes over (Bo had the stage for more than the hold).
        assert_eq!(
            at(25_000).placed,
            [(
                0,
                Rect {
                    x: 0,
                    y: 0,
                    w: 1280,
                    h: 720
                }
            )]
        );
        // Ada shares: the screen large, Ada (the speaker) first beside it, Bo below.
        assert_eq!(
            at(35_000).placed,
            [
                (
                    2,
                    Rect {
                        x: 0,
                        y: 0,
                        w: 960,
                        h: 720
                    }
                ),
                (
                    0,
                    Rect {
                        x: 960,
                        y: 0,
                        w: 320,
                        h: 240
                    }
                ),
                (
                    1,
                    Rect {
                        x: 960,
                        y: 240,
                        w: 320,
                        h: 240
                    }
                )
            ]
        );
        // The share's end comes from the events (45 s), not the track's last frame (40 s).
        assert_eq!(at(42_000).placed[0].0, 2);
        assert_eq!(
            at(50_000).placed,
            [(
                0,
                Rect {
                    x: 0,
                    y: 0,
                    w: 1280,
                    h: 720
                }
            )]
        );
        assert_eq!(s.last().unwrap().to_ms, 60_000);
    }

    #[test]
    fn chapters_name_the_speakers_escaped() {
        let t = meeting();
        let c = chapters(&t, &layout(&t));
        let titles: Vec<&str> = c.iter().map(|c| c.2.as_str()).collect();
        assert_eq!(titles, ["Plenary", "Bo = B", "Ada"]);
        assert_eq!((c[1].0, c[2].0, c[2].1), (10_000, 20_500, 60_000));
        assert!(ffmetadata(&c).contains("title=Bo \\= B\n"));
    }

    #[test]
    fn every_track_used_is_an_input_at_its_offset_and_audio_is_mixed() {
        let t = meeting();
        let args = command(&t, "/r", "/r/ch.txt", "/r/out.mp4");
        let joined = args.join(" ");
        assert!(joined.contains("-itsoffset 5.000 -i /r/p2-camera.webm"));
        assert!(joined.contains("-itsoffset 30.000 -i /r/p1-screen.webm"));
        assert!(joined.contains("amix=inputs=1"));
        assert!(joined.contains("-map_chapters 5"), "{joined}");
        assert!(joined.ends_with("-t 60.000 -f mp4 /r/out.mp4"));
    }
}
