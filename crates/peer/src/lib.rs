//! A headless Plenary participant: joins a room through the real HTTP API, WebSocket
//! signalling and UDP media, exactly as a browser does, using str0m as its WebRTC stack.
//! It can publish synthetic Opus- and VP8-sized frames and counts what it receives.
//!
//! Used by the server's integration tests, and the base of the load generator.

pub mod accounting;
pub mod frame;
mod frames_in;
pub mod http;
mod peer;
pub mod rtp_out;

pub use accounting::Accounting;
pub use peer::{Peer, PeerOptions, Publish, Received, Signal, Signalling};
