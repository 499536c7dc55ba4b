//! What the minutes take from a client: a Yjs update (v1 encoding) read here byte by byte
//! before `yrs` sees it, and taken only if it holds what a browser's plain-text editor makes —
//! text inserted into the root text `minutes`, text deleted, and the placeholders Yjs writes
//! for what was collected or skipped. Anything else (nested values, JSON, embeds, formatting,
//! sub-documents, other types, map keys, clocks near overflow) is refused: some of it crashes
//! or poisons `yrs`, some the browsers' Yjs cannot read back, and none of it is minutes.

use plenary_proto::NOTES_TEXT;

/// Clocks stay below this (Yjs counts them as JavaScript numbers; `yrs` adds without checks).
const MAX_CLOCK: u64 = 1 << 31;
/// Client ids are what Yjs makes: at most 53 bits.
const MAX_CLIENT: u64 = (1 << 53) - 1;

/// What an update that passed holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checked {
    /// It inserts text (an update that only deletes does not).
    pub inserts: bool,
    /// Per client: the clocks its structs here cover, from and to (exclusive).
    blocks: Vec<(u64, u64, u64)>,
    /// Ids it refers to (origins) and ends of ranges it deletes: (client, clock), each to be
    /// known before it (a clock below the document's or this update's).
    needs: Vec<(u64, u64)>,
}

impl Checked {
    /// The clients whose edits it carries.
    pub(crate) fn clients(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks.iter().map(|b| b.0)
    }

    /// Whether it applies whole to a document that has each client's clocks below
    /// `known(client)`: it continues each client's edits without a gap and refers to nothing
    /// the document and it lack. (One that does not would wait inside the document, unseen.)
    pub(crate) fn fits(&self, known: impl Fn(u64) -> u64) -> bool {
        let end = |client: u64| {
            self.blocks
                .iter()
                .filter(|b| b.0 == client)
                .map(|b| b.2)
                .max()
                .unwrap_or(0)
                .max(known(client))
        };
        self.blocks.iter().all(|&(c, from, _)| from <= known(c))
            && self.needs.iter().all(|&(c, clock)| clock <= end(c))
    }
}

/// Why an update was refused (for the log; the client hears `bad_message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused(pub &'static str);

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, Refused> {
        let b = *self.bytes.get(self.at).ok_or(Refused("ends early"))?;
        self.at += 1;
        Ok(b)
    }

    /// lib0's variable-length unsigned integer (7 bits a byte, at most 53 bits).
    fn var_uint(&mut self) -> Result<u64, Refused> {
        let mut n: u64 = 0;
        for shift in (0..56).step_by(7) {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return if n <= MAX_CLIENT {
                    Ok(n)
                } else {
                    Err(Refused("number too large"))
                };
            }
        }
        Err(Refused("number too long"))
    }

    fn string(&mut self) -> Result<&str, Refused> {
        let len = usize::try_from(self.var_uint()?).map_err(|_| Refused("string too long"))?;
        let end = self.at.checked_add(len).ok_or(Refused("string too long"))?;
        let s = self.bytes.get(self.at..end).ok_or(Refused("ends early"))?;
        self.at = end;
        std::str::from_utf8(s).map_err(|_| Refused("a string is not UTF-8"))
    }

    /// A clock advanced by `len`, kept below [`MAX_CLOCK`].
    fn advance(clock: u64, len: u64) -> Result<u64, Refused> {
        match clock.checked_add(len) {
            Some(c) if c < MAX_CLOCK => Ok(c),
            _ => Err(Refused("clock out of range")),
        }
    }

    fn id(&mut self) -> Result<(u64, u64), Refused> {
        let client = self.var_uint()?;
        let clock = self.var_uint()?;
        if client > MAX_CLIENT || clock >= MAX_CLOCK {
            return Err(Refused("id out of range"));
        }
        Ok((client, clock))
    }
}

/// Where an update comes from: a client sends text and deletions only; a stored state (written
/// by this node's `yrs`) may hold the placeholders Yjs writes for collected or skipped structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    Client,
    Store,
}

/// Reads `update` (Yjs v1) whole; refuses anything but plain text in `minutes`.
pub(crate) fn check_update(update: &[u8], from: From) -> Result<Checked, Refused> {
    let mut r = Reader {
        bytes: update,
        at: 0,
    };
    let mut out = Checked::default();
    let clients = r.var_uint()?;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..clients {
        let structs = r.var_uint()?;
        let client = r.var_uint()?;
        let mut clock = r.var_uint()?;
        if client > MAX_CLIENT || clock >= MAX_CLOCK {
            return Err(Refused("id out of range"));
        }
        // yrs integrates a client listed twice wrongly (and unsafely).
        if !seen.insert(client) {
            return Err(Refused("a client twice"));
        }
        let start = clock;
        for _ in 0..structs {
            let info = r.u8()?;
            let len = match info {
                // GC and Skip: placeholders of a length, only in what this node stored (from a
                // client, they would hide text from browsers or skip the no-gap rule).
                0 | 10 if from == From::Store => r.var_uint()?,
                0 | 10 => return Err(Refused("a placeholder from a client")),
                _ if info & 0x1f == 0 || info & 0x1f == 10 => {
                    return Err(Refused("a placeholder with flags"));
                }
                _ => {
                    let content = info & 0x1f;
                    let has_origin = info & 0x80 != 0;
                    let has_right = info & 0x40 != 0;
                    // An origin must be there before the item: the id's own clock, plus one.
                    if has_origin {
                        let (c, k) = r.id()?;
                        out.needs.push((c, k + 1));
                    }
                    if has_right {
                        let (c, k) = r.id()?;
                        out.needs.push((c, k + 1));
                    }
                    if !has_origin && !has_right {
                        // Its parent: the root text by name, never an item or a map key.
                        if r.var_uint()? != 1 {
                            return Err(Refused("a parent other than the minutes"));
                        }
                        if r.string()? != NOTES_TEXT {
                            return Err(Refused("a root other than the minutes"));
                        }
                        if info & 0x20 != 0 {
                            return Err(Refused("a map key"));
                        }
                    }
                    match content {
                        // Deleted text: a length.
                        1 => r.var_uint()?,
                        // Text: its length in UTF-16 units, as Yjs counts it.
                        4 => {
                            out.inserts = true;
                            r.string()?.encode_utf16().count() as u64
                        }
                        _ => return Err(Refused("content other than text")),
                    }
                }
            };
            if len == 0 {
                return Err(Refused("an empty struct"));
            }
            clock = Reader::advance(clock, len)?;
        }
        out.blocks.push((client, start, clock));
    }
    // The delete set: ranges of clocks per client.
    let clients = r.var_uint()?;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..clients {
        let client = r.var_uint()?;
        if client > MAX_CLIENT {
            return Err(Refused("id out of range"));
        }
        if !seen.insert(client) {
            return Err(Refused("a client twice"));
        }
        let ranges = r.var_uint()?;
        for _ in 0..ranges {
            let clock = r.var_uint()?;
            let len = r.var_uint()?;
            out.needs.push((client, Reader::advance(clock, len)?));
        }
    }
    if r.at != update.len() {
        return Err(Refused("bytes after the update"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

    fn var_uint(out: &mut Vec<u8>, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        var_uint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    /// One item under the root `root` at `clock` with content `ref_` and `body`, no deletes.
    fn one_item(clock: u64, root: &str, ref_: u8, body: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        var_uint(&mut u, 1); // one client
        var_uint(&mut u, 1); // one struct
        var_uint(&mut u, 7); // client 7
        var_uint(&mut u, clock);
        u.push(ref_);
        var_uint(&mut u, 1); // parent by name
        string(&mut u, root);
        u.extend_from_slice(body);
        var_uint(&mut u, 0); // no deletes
        u
    }

    fn check_update_c(u: &[u8]) -> Result<Checked, Refused> {
        check_update(u, From::Client)
    }

    #[test]
    fn what_a_text_editor_makes_passes() {
        let doc = Doc::with_client_id(5);
        let t = doc.get_or_insert_text(NOTES_TEXT);
        let before = doc.transact().state_vector();
        t.insert(&mut doc.transact_mut(), 0, "Grüße 😀 and more");
        let insert = doc.transact().encode_state_as_update_v1(&before);
        assert!(check_update_c(&insert).unwrap().inserts);
        let before = doc.transact().state_vector();
        t.remove_range(&mut doc.transact_mut(), 2, 5);
        t.insert(&mut doc.transact_mut(), 1, "x");
        let edit = doc.transact().encode_state_as_update_v1(&before);
        assert!(check_update_c(&edit).unwrap().inserts);
        let before = doc.transact().state_vector();
        t.remove_range(&mut doc.transact_mut(), 0, 3);
        let delete = doc.transact().encode_state_as_update_v1(&before);
        assert!(!check_update_c(&delete).unwrap().inserts);
        // The whole document, deleted parts and all.
        let whole = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert!(check_update_c(&whole).is_ok());
        let mut s = Vec::new();
        string(&mut s, "plain");
        assert!(check_update_c(&one_item(0, NOTES_TEXT, 4, &s)).is_ok());
        // Each edit fits once those before it are in, not before.
        let known = |sv: &StateVector| {
            let sv = sv.clone();
            move |c: u64| u64::from(sv.get(&yrs::block::ClientID::new(c)))
        };
        let start = StateVector::default();
        assert!(check_update_c(&insert).unwrap().fits(known(&start)));
        assert!(!check_update_c(&edit).unwrap().fits(known(&start)));
        assert!(!check_update_c(&delete).unwrap().fits(known(&start)));
        let after_insert = {
            let d = Doc::new();
            d.transact_mut()
                .apply_update(yrs::Update::decode_v1(&insert).unwrap())
                .unwrap();
            d.transact().state_vector()
        };
        assert!(check_update_c(&edit).unwrap().fits(known(&after_insert)));
        assert!(check_update_c(&whole).unwrap().fits(known(&start)));
        // A first edit at clock 5: four are missing.
        assert!(
            !check_update_c(&one_item(5, NOTES_TEXT, 4, &s))
                .unwrap()
                .fits(|_| 0)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let mut s = Vec::new();
        string(&mut s, "x");
        // Nested values (a stack overflow in yrs), JSON (not re-encoded faithfully), types.
        let mut nested = Vec::new();
        var_uint(&mut nested, 1);
        nested.extend(std::iter::repeat_n(117u8, 20_000)); // Any: arrays within arrays
        for (ref_, body, why) in [
            (8u8, nested, "content other than text"),
            (
                2,
                {
                    let mut b = vec![0];
                    b.extend(&s);
                    b
                },
                "content other than text",
            ),
            (7, vec![15], "content other than text"),
            (9, s.clone(), "content other than text"),
            (6, s.clone(), "content other than text"),
        ] {
            assert_eq!(
                check_update_c(&one_item(0, NOTES_TEXT, ref_, &body)),
                Err(Refused(why))
            );
        }
        assert_eq!(
            check_update_c(&one_item(0, "other", 4, &s)),
            Err(Refused("a root other than the minutes"))
        );
        assert_eq!(
            check_update_c(&one_item(0xFFFF_FFFE, NOTES_TEXT, 4, &s)),
            Err(Refused("id out of range"))
        );
        assert_eq!(
            check_update_c(&one_item((1 << 31) - 1, NOTES_TEXT, 4, &s)),
            Err(Refused("clock out of range"))
        );
        // A map key on the root.
        assert_eq!(
            check_update_c(&one_item(0, NOTES_TEXT, 4 | 0x20, &s)),
            Err(Refused("a map key"))
        );
        let mut trailing = one_item(0, NOTES_TEXT, 4, &s);
        trailing.push(0);
        assert_eq!(
            check_update_c(&trailing),
            Err(Refused("bytes after the update"))
        );
        assert_eq!(check_update_c(&[]), Err(Refused("ends early")));
        // Placeholders from a client; a client twice in one update.
        let mut gc = Vec::new();
        for n in [1, 1, 7, 0, 0, 3, 0] {
            var_uint(&mut gc, n);
        }
        assert_eq!(
            check_update_c(&gc),
            Err(Refused("a placeholder from a client"))
        );
        assert!(check_update(&gc, From::Store).is_ok());
        gc[4] = 10;
        assert_eq!(
            check_update_c(&gc),
            Err(Refused("a placeholder from a client"))
        );
        let item = one_item(0, NOTES_TEXT, 4, &s);
        let body = &item[1..item.len() - 1]; // one client's structs, without the counts
        let mut twice = vec![2];
        twice.extend_from_slice(body);
        twice.extend_from_slice(body);
        twice.push(0);
        assert_eq!(check_update_c(&twice), Err(Refused("a client twice")));
        assert_eq!(check_update_c(&[0xff; 12]), Err(Refused("number too long")));
    }
}
