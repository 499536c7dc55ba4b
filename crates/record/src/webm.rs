//! A live WebM writer for one track (Opus audio or VP8 video), and the reader that recovers a
//! file cut short.
//!
//! Layout: the EBML header, then a Segment of unknown size (RFC 9559 allows it for live
//! files) holding Info (1 ms timestamps), Tracks (the one track) and Clusters. Each Cluster is
//! kept in memory until it closes (after [`CLUSTER_MS`], or at a video keyframe) and then
//! written with its size in one write, and the output flushed: whatever is on disk is whole
//! clusters plus at most one partial one, which [`valid_length`] cuts away. No Cues or
//! Duration are written while recording; players that need them get a copy remuxed at the end.

use std::io::{self, Write};

use crate::ebml;

/// Element ids (Matroska, RFC 9559).
mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
}

/// A cluster closes after this long (so a crash loses at most about this much).
pub const CLUSTER_MS: u64 = 1000;
/// Block timestamps are signed 16-bit offsets from their cluster's.
const MAX_OFFSET_MS: u64 = 30_000;
/// Opus decoders need this much audio before a seek point to be exact (RFC 7845 §4.5).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;

/// What one file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Opus { channels: u8 },
    Vp8,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the recording: {0}")]
    Io(#[from] io::Error),
}

/// Writes one track's frames to `out` as they come.
#[derive(Debug)]
pub struct TrackWriter<W: Write> {
    out: W,
    codec: Codec,
    started: bool,
    /// The open cluster's timestamp and its blocks so far.
    cluster: Option<(u64, Vec<u8>)>,
    last_ms: u64,
    frames: u64,
}

impl<W: Write> TrackWriter<W> {
    pub fn new(out: W, codec: Codec) -> Self {
        Self {
            out,
            codec,
            started: false,
            cluster: None,
            last_ms: 0,
            frames: 0,
        }
    }

    /// What has been written out so far.
    pub fn output(&self) -> &W {
        &self.out
    }

    /// Frames written (taken) so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// One frame at `at_ms` since the recording's start. A video file starts at its first
    /// keyframe (the size is read from it): frames before are not taken (false). Times never
    /// go back: an earlier one is written at the last time.
    pub fn write_frame(
        &mut self,
        at_ms: u64,
        keyframe: bool,
        data: &[u8],
    ) -> Result<bool, WriteError> {
        if !self.started {
            let header = match self.codec {
                Codec::Opus { channels } => header(self.codec, opus_head(channels), None),
                Codec::Vp8 => match vp8_size(data).filter(|_| keyframe) {
                    Some(size) => header(self.codec, Vec::new(), Some(size)),
                    None => return Ok(false),
                },
            };
            self.out.write_all(&header)?;
            self.out.flush()?;
            self.started = true;
        }
        let at = at_ms.max(self.last_ms);
        self.last_ms = at;
        let video_key = keyframe && self.codec == Codec::Vp8;
        let close = match &self.cluster {
            None => false,
            Some((start, blocks)) => {
                at - start >= MAX_OFFSET_MS
                    || (at - start >= CLUSTER_MS)
                    || (video_key && !blocks.is_empty() && at > *start)
            }
        };
        if close {
            self.close_cluster()?;
        }
        let (start, blocks) = self.cluster.get_or_insert_with(|| (at, Vec::new()));
        let offset = (at - *start) as i16; // below MAX_OFFSET_MS: fits
        let mut body = Vec::with_capacity(data.len() + 4);
        body.push(0x81); // track number 1, as a 1-byte vint
        body.extend_from_slice(&offset.to_be_bytes());
        // Keyframe flag: every Opus frame can start decoding; VP8 as the frame says.
        body.push(if keyframe || self.codec != Codec::Vp8 {
            0x80
        } else {
            0
        });
        body.extend_from_slice(data);
        blocks.extend(ebml::element(id::SIMPLE_BLOCK, &body));
        self.frames += 1;
        Ok(true)
    }

    /// Writes the open cluster, whole, and flushes: everything taken so far is in `out`.
    pub fn close_cluster(&mut self) -> Result<(), WriteError> {
        if let Some((start, blocks)) = self.cluster.take() {
            let mut body = ebml::uint(id::TIMESTAMP, start);
            body.extend(blocks);
            self.out.write_all(&ebml::element(id::CLUSTER, &body))?;
            self.out.flush()?;
        }
        Ok(())
    }

    /// Writes what is left and gives the output back.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.close_cluster()?;
        Ok(self.out)
    }
}

fn header(codec: Codec, codec_private: Vec<u8>, size: Option<(u16, u16)>) -> Vec<u8> {
    let mut ebml_body = ebml::uint(id::EBML_VERSION, 1);
    ebml_body.extend(ebml::uint(id::EBML_READ_VERSION, 1));
    ebml_body.extend(ebml::uint(id::EBML_MAX_ID_LENGTH, 4));
    ebml_body.extend(ebml::uint(id::EBML_MAX_SIZE_LENGTH, 8));
    ebml_body.extend(ebml::string(id::DOC_TYPE, "webm"));
    ebml_body.extend(ebml::uint(id::DOC_TYPE_VERSION, 4));
    ebml_body.extend(ebml::uint(id::DOC_TYPE_READ_VERSION, 2));
    let mut out = ebml::element(id::EBML, &ebml_body);
    out.extend(ebml::open_unknown(id::SEGMENT));

    let mut info = ebml::uint(id::TIMESTAMP_SCALE, 1_000_000);
    info.extend(ebml::string(id::MUXING_APP, "plenary"));
    info.extend(ebml::string(id::WRITING_APP, "plenary"));
    out.extend(ebml::element(id::INFO, &info));

    let mut track = ebml::uint(id::TRACK_NUMBER, 1);
    track.extend(ebml::uint(id::TRACK_UID, 1));
    match codec {
        Codec::Opus { channels } => {
            track.extend(ebml::uint(id::TRACK_TYPE, 2));
            track.extend(ebml::string(id::CODEC_ID, "A_OPUS"));
            track.extend(ebml::element(id::CODEC_PRIVATE, &codec_private));
            track.extend(ebml::uint(id::CODEC_DELAY, 0));
            track.extend(ebml::uint(id::SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS));
            let mut audio = ebml::float(id::SAMPLING_FREQUENCY, 48_000.0);
            audio.extend(ebml::uint(id::CHANNELS, u64::from(channels)));
            track.extend(ebml::element(id::AUDIO, &audio));
        }
        Codec::Vp8 => {
            track.extend(ebml::uint(id::TRACK_TYPE, 1));
            track.extend(ebml::string(id::CODEC_ID, "V_VP8"));
            let (w, h) = size.unwrap_or((0, 0));
            let mut video = ebml::uint(id::PIXEL_WIDTH, u64::from(w));
            video.extend(ebml::uint(id::PIXEL_HEIGHT, u64::from(h)));
            track.extend(ebml::element(id::VIDEO, &video));
        }
    }
    out.extend(ebml::element(
        id::TRACKS,
        &ebml::element(id::TRACK_ENTRY, &track),
    ));
    out
}

/// The Opus identification header (RFC 7845 §5.1), which WebM carries as CodecPrivate: RTP
/// never sends one. Pre-skip 0: WebRTC streams start without encoder delay to drop.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1); // version
    h.push(channels.max(1));
    h.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    h.extend_from_slice(&48_000u32.to_le_bytes()); // the input's rate, for information
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // mapping family 0: mono or stereo
    h
}

/// A VP8 keyframe's width and height (RFC 6386 §9.1): a 3-byte frame tag whose lowest bit is
/// 0 for a keyframe, the start code 9d 01 2a, then 14-bit width and height.
pub fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// How much of a recording file is whole: the headers and every complete cluster. A file
/// cut by a crash is readable again once truncated to this length (0: not even the headers).
pub fn valid_length(file: &[u8]) -> usize {
    let Some(head) = ebml::read_header(file, 0).filter(|h| h.id == id::EBML) else {
        return 0;
    };
    let Some(after_ebml) = head.size.map(|s| head.body + s as usize) else {
        return 0;
    };
    let Some(segment) = ebml::read_header(file, after_ebml).filter(|h| h.id == id::SEGMENT) else {
        return 0;
    };
    let mut at = segment.body;
    let mut valid = 0;
    while let Some(h) = ebml::read_header(file, at) {
        let Some(end) = h.size.map(|s| h.body + s as usize) else {
            break;
        };
        if end > file.len() {
            break;
        }
        at = end;
        // Until Tracks are whole there is nothing a player can use.
        if h.id == id::TRACKS || (valid > 0) {
            valid = end;
        }
    }
    valid
}

/// One frame as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub at_ms: u64,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// The frames of a file this module wrote (its valid part), in order; a damaged file gives
/// the frames before the damage, never a panic.
pub fn read_frames(file: &[u8]) -> Vec<Frame> {
    let valid = valid_length(file);
    let file = &file[..valid];
    let mut frames = Vec::new();
    let Some(head) = ebml::read_header(file, 0) else {
        return frames;
    };
    let Some(segment) = head
        .size
        .and_then(|s| ebml::read_header(file, head.body + s as usize))
    else {
        return frames;
    };
    let mut at = segment.body;
    while let Some(h) = ebml::read_header(file, at) {
        let Some(end) = h.size.map(|s| h.body + s as usize) else {
            break;
        };
        if h.id == id::CLUSTER {
            let mut cluster_ms = 0;
            let mut inner = h.body;
            while inner < end {
                let Some(c) = ebml::read_header(file, inner) else {
                    break;
                };
                // A size that points past its cluster (a damaged file) ends the reading.
                let Some(c_end) = c
                    .size
                    .and_then(|s| c.body.checked_add(usize::try_from(s).ok()?))
                else {
                    break;
                };
                let Some(body) = file.get(c.body..c_end).filter(|_| c_end <= end) else {
                    break;
                };
                if c.id == id::TIMESTAMP {
                    cluster_ms = body.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                } else if c.id == id::SIMPLE_BLOCK && body.len() >= 4 {
                    let offset = i16::from_be_bytes([body[1], body[2]]);
                    frames.push(Frame {
                        at_ms: cluster_ms.saturating_add_signed(i64::from(offset)),
                        keyframe: body[3] & 0x80 != 0,
                        data: body[4..].to_vec(),
                    });
                }
                inner = c_end;
            }
        }
        at = end;
    }
    frames
}
