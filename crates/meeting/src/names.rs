//! Display names and room names as people type them: trimmed, bounded, printable.

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Trims a display name and checks it is 1–64 printable characters.
pub fn clean_display_name(raw: &str) -> Result<String, &'static str> {
    clean(raw, MAX_NAME_CHARS)
        .ok_or("a name must be 1 to 64 characters, without control characters")
}

/// Trims a room name and checks it is 1–100 printable characters.
pub fn clean_room_name(raw: &str) -> Result<String, &'static str> {
    clean(raw, 100).ok_or("a room name must be 1 to 100 characters, without control characters")
}

fn clean(raw: &str, max: usize) -> Option<String> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 || n > max || s.chars().any(char::is_control) {
        return None;
    }
    Some(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            clean_display_name("  Ada Lovelace ").unwrap(),
            "Ada Lovelace"
        );
        assert_eq!(clean_display_name("Zoë 🎻").unwrap(), "Zoë 🎻");
        assert!(clean_display_name("   ").is_err());
        assert!(clean_display_name("a\u{0}b").is_err());
        assert!(clean_display_name("line\nbreak").is_err());
        assert!(clean_display_name(&"é".repeat(64)).is_ok());
        assert!(clean_display_name(&"é".repeat(65)).is_err());
    }
}
