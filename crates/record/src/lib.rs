//! Recording, the parts that need no server: each recorded track is written as it arrives to
//! its own WebM file ([`webm::TrackWriter`]), append-only and readable at every cluster
//! boundary, so that a crash or `kill -9` loses at most the last second; a file cut short is
//! brought back to its last whole cluster by [`webm::valid_length`]. A [`recording::Recording`]
//! puts every track of a meeting on one clock.

pub mod ebml;
pub mod files;
pub mod recording;
pub mod webm;
