//! The standard scenarios: who is in which room, publishing what.

use anyhow::bail;
use plenary_peer::Publish;

/// Rooms, each a list of what its participants publish.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub rooms: Vec<Vec<Publish>>,
    /// How receivers show the others, where they say so (the `view` message); None: they
    /// say nothing and receive everything.
    pub view: Option<View>,
}

/// A large meeting as people see it: each receiver shows `hd` speakers large and the next
/// `thumbnails` others small (the rest off screen), and hears the `audible` speakers (the
/// first of the room, whose audio carries a speaking level; the rest are silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub hd: usize,
    pub thumbnails: usize,
    pub audible: usize,
}

/// The 25-person simulcast shape: 1 HD stream, 8 thumbnails, 3 speakers' audio.
pub const SIMULCAST_VIEW: View = View {
    hd: 1,
    thumbnails: 8,
    audible: 3,
};

/// A simulcast camera (1.2 Mbit/s at the top, as the browser client sends) with audio.
const SIMULCAST_AV: Publish = Publish {
    audio: true,
    video_tracks: 1,
    video_kbps: 1_200,
    simulcast: true,
    audio_level: Some(-127),
};

/// Video at the bitrate of a typical 640×360 webcam stream.
pub const VIDEO_KBPS: u32 = 500;

const AV: Publish = Publish {
    audio: true,
    video_tracks: 1,
    video_kbps: VIDEO_KBPS,
    simulcast: false,
    audio_level: None,
};
/// A presenter: camera and screen, with audio.
const PRESENTER: Publish = Publish {
    audio: true,
    video_tracks: 2,
    video_kbps: VIDEO_KBPS,
    simulcast: false,
    audio_level: None,
};

impl Scenario {
    /// Builds a scenario by name; `n` sizes it (see each case).
    pub fn named(name: &str, n: usize) -> anyhow::Result<Scenario> {
        let rooms = match name {
            // 10 audio publishers, n listeners.
            "audio" => vec![[vec![Publish::AUDIO; 10], vec![Publish::NOTHING; n]].concat()],
            // n people, all with audio and video.
            "nxn" => vec![vec![AV; n]],
            // 1 publisher, n receivers.
            "broadcast" => vec![[vec![AV], vec![Publish::NOTHING; n]].concat()],
            // 1 presenter (camera + screen), 5 webcams, n listeners (40 in the standard set).
            "classroom" => vec![[vec![PRESENTER], vec![AV; 5], vec![Publish::NOTHING; n]].concat()],
            // n meetings of 4.
            "small" => vec![vec![AV; 4]; n],
            // n meetings of 25, simulcast, seen as SIMULCAST_VIEW says.
            "simulcast" => return Ok(Scenario::simulcast(n, 25)),
            other => {
                bail!(
                    "unknown scenario {other:?}: use audio, nxn, broadcast, classroom, small or simulcast"
                )
            }
        };
        Ok(Scenario {
            name: format!("{name}-{n}"),
            rooms,
            view: None,
        })
    }

    /// What receiver `i` of `room` shows: (publisher index, large) for each tile on screen.
    pub fn tiles_of(&self, room: usize, i: usize) -> Vec<(usize, bool)> {
        let Some(v) = self.view else {
            return Vec::new();
        };
        let others: Vec<usize> = (0..self.rooms[room].len()).filter(|j| *j != i).collect();
        others
            .iter()
            .take(v.hd + v.thumbnails)
            .enumerate()
            .map(|(k, j)| (*j, k < v.hd))
            .collect()
    }

    /// Tracks receiver `i` of `room` gets: everyone's but its own, or what its view shows
    /// and the speakers' audio.
    pub fn tracks_for(&self, room: usize, i: usize) -> usize {
        let plan = &self.rooms[room];
        match self.view {
            None => plan
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| usize::from(p.audio) + usize::from(p.video_tracks))
                .sum(),
            Some(v) => {
                let speakers = v.audible.min(plan.len());
                let audio = speakers - usize::from(i < speakers);
                self.tiles_of(room, i).len() + audio
            }
        }
    }

    /// `meetings` simulcast meetings of `size`, seen as [`SIMULCAST_VIEW`] says (the first
    /// three of each speak).
    pub fn simulcast(meetings: usize, size: usize) -> Scenario {
        let mut room = vec![SIMULCAST_AV; size];
        for p in room.iter_mut().take(SIMULCAST_VIEW.audible) {
            p.audio_level = Some(-20);
        }
        Scenario {
            name: format!("simulcast{size}-{meetings}"),
            rooms: vec![room; meetings],
            view: Some(SIMULCAST_VIEW),
        }
    }

    /// Server settings the scenario is meant for: the simulcast meetings forward the 3
    /// loudest microphones of rooms above 10 (the others forward everything, as the
    /// generator's servers do by default).
    pub fn server_env(&self) -> Vec<(&'static str, &'static str)> {
        match self.view {
            Some(_) => vec![
                ("PLENARY_LOUDEST_AUDIO", "3"),
                ("PLENARY_LOUDEST_ABOVE", "10"),
            ],
            None => Vec::new(),
        }
    }

    pub fn participants(&self) -> usize {
        self.rooms.iter().map(Vec::len).sum()
    }

    /// Frames per second every receiver should get, summed: the load the SFU must forward.
    pub fn expected_frames_per_second(&self) -> f64 {
        if let Some(v) = self.view {
            let mut total = 0.0;
            for (r, room) in self.rooms.iter().enumerate() {
                let speakers = v.audible.min(room.len());
                for i in 0..room.len() {
                    let audio = (speakers - usize::from(i < speakers)) as f64;
                    total += 30.0 * self.tiles_of(r, i).len() as f64 + 50.0 * audio;
                }
            }
            return total;
        }
        self.rooms
            .iter()
            .map(|room| {
                let per_publisher: Vec<f64> = room
                    .iter()
                    .map(|p| if p.audio { 50.0 } else { 0.0 } + 30.0 * f64::from(p.video_tracks))
                    .collect();
                let total: f64 = per_publisher.iter().sum();
                // Everyone receives everyone else.
                per_publisher.iter().map(|mine| total - mine).sum::<f64>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(Scenario::named("audio", 20).unwrap().participants(), 30);
        assert_eq!(Scenario::named("classroom", 40).unwrap().participants(), 46);
        assert_eq!(Scenario::named("small", 5).unwrap().rooms.len(), 5);
        // 3 people with audio and video: each receives 2 × (50 + 30) frames/s.
        assert_eq!(
            Scenario::named("nxn", 3)
                .unwrap()
                .expected_frames_per_second(),
            480.0
        );
        assert!(Scenario::named("gala", 1).is_err());
        // The simulcast shape: 9 videos and 3 speakers' audio (2 for a speaker).
        let s = Scenario::named("simulcast", 1).unwrap();
        assert_eq!(s.participants(), 25);
        assert_eq!(s.tracks_for(0, 10), 12);
        assert_eq!(s.tracks_for(0, 0), 11);
        assert_eq!(s.tiles_of(0, 0)[0], (1, true));
        assert_eq!(
            s.expected_frames_per_second(),
            25.0 * 9.0 * 30.0 + (22.0 * 3.0 + 3.0 * 2.0) * 50.0
        );
    }
}
