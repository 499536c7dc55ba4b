//! The shared minutes' limits (the document itself is a Yjs CRDT: see docs/protocol.md).

/// The largest single edit of the minutes, in bytes (decoded): a long paste fits.
pub const MAX_NOTES_EDIT_BYTES: usize = 96 * 1024;
/// The largest the minutes' document may grow, in bytes of its encoded state.
pub const MAX_NOTES_BYTES: usize = 2 * 1024 * 1024;
/// The name of the minutes' text in the Yjs document (the client and the server agree on it).
pub const NOTES_TEXT: &str = "minutes";
