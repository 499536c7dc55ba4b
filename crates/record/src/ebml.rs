//! The bits of EBML (RFC 8794) a WebM writer needs: element ids, variable-size integers,
//! elements of every type, and a reader of top-level elements for recovery and tests.

/// An element of unknown size (a live Segment): all ones in an 8-byte size.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// `n` as an EBML variable-size integer in the fewest bytes (all-ones values are reserved
/// for "unknown", so a value that would be all ones takes one more byte).
pub fn vint(n: u64) -> Vec<u8> {
    let mut len = 1;
    while len < 8 && n >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = n | (1u64 << (7 * len));
    marked.to_be_bytes()[8 - len..].to_vec()
}

/// An element id as written (ids carry their own length marker already).
fn id_bytes(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(3);
    b[skip..].to_vec()
}

/// A whole element: id, size, body.
pub fn element(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend(vint(body.len() as u64));
    out.extend_from_slice(body);
    out
}

/// An unsigned integer element, in the fewest bytes.
pub fn uint(id: u32, v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(7);
    element(id, &b[skip..])
}

pub fn float(id: u32, v: f64) -> Vec<u8> {
    element(id, &v.to_be_bytes())
}

pub fn string(id: u32, v: &str) -> Vec<u8> {
    element(id, v.as_bytes())
}

/// The start of a master element whose size is not known (its children follow).
pub fn open_unknown(id: u32) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend_from_slice(&UNKNOWN_SIZE);
    out
}

/// Reads a variable-size integer at the start of `b`: (value, length, whether it is the
/// reserved "unknown"). None when `b` is too short or not a valid integer.
pub fn read_vint(b: &[u8]) -> Option<(u64, usize, bool)> {
    let first = *b.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    if b.len() < len {
        return None;
    }
    let mut v = u64::from(first) & ((1u64 << (8 - len)) - 1);
    for x in &b[1..len] {
        v = (v << 8) | u64::from(*x);
    }
    let unknown = v == (1u64 << (7 * len)) - 1;
    Some((v, len, unknown))
}

/// Reads an element id at the start of `b`: (id, length).
pub fn read_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || b.len() < len {
        return None;
    }
    let id = b[..len]
        .iter()
        .fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
    Some((id, len))
}

/// One element header read: its id, where its body starts, and its size (None: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u32,
    pub body: usize,
    pub size: Option<u64>,
}

/// Reads the header of the element starting at `at`.
pub fn read_header(b: &[u8], at: usize) -> Option<Header> {
    let (id, id_len) = read_id(b.get(at..)?)?;
    let (size, size_len, unknown) = read_vint(b.get(at + id_len..)?)?;
    Some(Header {
        id,
        body: at + id_len + size_len,
        size: (!unknown).then_some(size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_round_trip_in_the_fewest_bytes() {
        for (n, len) in [
            (0u64, 1),
            (126, 1),
            (127, 2),
            (300, 2),
            (16382, 2),
            (16383, 3),
        ] {
            let b = vint(n);
            assert_eq!(b.len(), len, "{n}");
            assert_eq!(read_vint(&b), Some((n, len, false)), "{n}");
        }
        assert_eq!(read_vint(&UNKNOWN_SIZE).map(|v| v.2), Some(true));
    }

    #[test]
    fn elements_have_their_id_size_and_body() {
        assert_eq!(uint(0xD7, 1), vec![0xD7, 0x81, 0x01]);
        assert_eq!(
            uint(0x2AD7B1, 1_000_000),
            vec![0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]
        );
        let e = string(0x4282, "webm");
        let h = read_header(&e, 0).unwrap();
        assert_eq!((h.id, h.body, h.size), (0x4282, 3, Some(4)));
    }
}
