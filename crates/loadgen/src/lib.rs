//! Plenary's load generator: rooms of headless str0m peers joining through the real HTTP API,
//! WebSocket signalling and UDP, publishing synthetic Opus- and VP8-sized media, and counting
//! what they receive (loss, one-way latency). The server's CPU time comes from /proc, its
//! forwarded packets from `/metrics`; the figure that matters is CPU-µs per forwarded packet.

pub mod janus;
pub mod limit;
pub mod measure;
pub mod netns;
pub mod scenario;
pub mod server;
