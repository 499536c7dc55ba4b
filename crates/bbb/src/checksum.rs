//! BigBlueButton's request checksum (bbb-api.md §1.3): `hex(H(call + query + secret))` over the
//! raw query string as received, the `checksum` parameter removed textually, the hash chosen by
//! the checksum's length and restricted to the configured set, compared in constant time.

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;

/// A hash a client may sign with. Which ones are accepted is a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    /// The algorithm a hex checksum of this length was made with (40/64/96/128 digits).
    pub fn from_hex_len(len: usize) -> Option<Self> {
        match len {
            40 => Some(Self::Sha1),
            64 => Some(Self::Sha256),
            96 => Some(Self::Sha384),
            128 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Lower-case hex of `H(parts…)`.
    pub fn hex(self, parts: &[&[u8]]) -> String {
        fn run<D: Digest>(parts: &[&[u8]]) -> String {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            hex(&d.finalize())
        }
        match self {
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha384 => run::<Sha384>(parts),
            Self::Sha512 => run::<Sha512>(parts),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Why a request's checksum was refused. All of them answer `checksumError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    #[error("You must provide the checksum")]
    Missing,
    #[error("the checksum has a length no supported hash produces")]
    BadLength,
    #[error("the checksum's hash algorithm is not enabled on this server")]
    Disallowed,
    #[error("Checksums do not match")]
    Mismatch,
}

/// The value of the first `checksum` parameter in a raw query string, as sent.
pub fn find_checksum(raw_query: &str) -> Option<&str> {
    raw_query
        .split('&')
        .find_map(|pair| pair.strip_prefix("checksum="))
        .filter(|c| !c.is_empty())
}

/// The query without its checksum parameter, removed the way bbb-web and Scalelite do it:
/// `&checksum=C`, then `checksum=C&`, then `checksum=C` (so a checksum anywhere and a leading
/// `&` both still verify).
pub fn strip_checksum(raw_query: &str, checksum: &str) -> String {
    let a = format!("&checksum={checksum}");
    let b = format!("checksum={checksum}&");
    let c = format!("checksum={checksum}");
    raw_query
        .replacen(&a, "", 1)
        .replacen(&b, "", 1)
        .replacen(&c, "", 1)
}

/// Checks `checksum` for `call` over `signed_query` (the query without the checksum) against
/// every secret; succeeds if any matches.
pub fn verify(
    call: &str,
    signed_query: &str,
    checksum: &str,
    secrets: &[String],
    allowed: &[Algorithm],
) -> Result<(), ChecksumError> {
    if checksum.is_empty() {
        return Err(ChecksumError::Missing);
    }
    let alg = Algorithm::from_hex_len(checksum.len()).ok_or(ChecksumError::BadLength)?;
    if !allowed.contains(&alg) {
        return Err(ChecksumError::Disallowed);
    }
    // bbb-web compares ignoring case; hex digits only differ by case, so lower-casing first
    // accepts the same checksums.
    let given = checksum.to_ascii_lowercase();
    let mut ok = false;
    for secret in secrets {
        let want = alg.hex(&[call.as_bytes(), signed_query.as_bytes(), secret.as_bytes()]);
        // Every secret is tried, so the time taken does not tell which one matched.
        ok |= bool::from(want.as_bytes().ct_eq(given.as_bytes()));
    }
    if ok {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch)
    }
}

/// Checks a request whose checksum is in its raw query string.
pub fn verify_query(
    call: &str,
    raw_query: &str,
    secrets: &[String],
    allowed: &[Algorithm],
) -> Result<(), ChecksumError> {
    let checksum = find_checksum(raw_query).ok_or(ChecksumError::Missing)?;
    verify(
        call,
        &strip_checksum(raw_query, checksum),
        checksum,
        secrets,
        allowed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_SECRET: &str = "8cd8ef52e8e101574e400365b55e11a6";
    const JOIN_QS: &str =
        "meetingID=coop-room-1&fullName=J%C3%BCrgen+M%C3%BCller&role=MODERATOR&redirect=false";

    fn secrets(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    /// bbb-api.md §1.3.4, every row.
    #[test]
    fn reference_vectors() {
        let rows: &[(&str, &str, &str, Algorithm, &str)] = &[
            (
                "create",
                "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444",
                "639259d4-9dd8-4b25-bf01-95f9567eaf4b",
                Algorithm::Sha1,
                "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17",
            ),
            (
                "join",
                JOIN_QS,
                TEST_SECRET,
                Algorithm::Sha1,
                "681d1da9748f05563e83fd36b55fa7708134eac3",
            ),
            (
                "join",
                JOIN_QS,
                TEST_SECRET,
                Algorithm::Sha256,
                "ef482231704add36da972a5662edb7c298150e9221a9a1811e2b9b773cfdf782",
            ),
            (
                "join",
                JOIN_QS,
                TEST_SECRET,
                Algorithm::Sha384,
                "7d85694eee9f87db74c97a48cc5a3016f1079d4c8c3ffec886c6db49b46517d95a43a320d09310756b31d99c87bb370f",
            ),
            (
                "join",
                JOIN_QS,
                TEST_SECRET,
                Algorithm::Sha512,
                "f2bf89e376c94fca9ddeadf77f83eb05b916223df38f3253917a976bdedfa5be5326b86b1f4f0908121d43d46a26bf5a5edaa3d95b1316110c74dfb820bd89d5",
            ),
            (
                "join",
                "meetingID=coop-room-1&fullName=J%C3%BCrgen%20M%C3%BCller&role=MODERATOR&redirect=false",
                TEST_SECRET,
                Algorithm::Sha1,
                "3960c5ca8ab92a3a37897f7cb2c471684e952e70",
            ),
            (
                "getMeetings",
                "",
                TEST_SECRET,
                Algorithm::Sha1,
                "d23fef405937517be465ffccae12d5c1103a5e00",
            ),
            (
                "getMeetings",
                "",
                TEST_SECRET,
                Algorithm::Sha256,
                "60d824bb6e0e8f746b1560b85af10a770614e8e8644a9213273afd13fb902936",
            ),
            (
                "hooks/create",
                "callbackURL=https%3A%2F%2Fexample.org%2Fhook",
                TEST_SECRET,
                Algorithm::Sha1,
                "3646144e55b372399d9be62ff4c8f217fabfbcb0",
            ),
            (
                "isMeetingRunning",
                "meetingID=Foo",
                "MyTestSalt",
                Algorithm::Sha1,
                "f59b73c5cf1db387da4ca7d937049420d4c50a12",
            ),
            (
                "join",
                "password=yourpassword&fullName=fullname&meetingID=127",
                "yourbbbsecret",
                Algorithm::Sha256,
                "40799bd174680c4613a512cb000eee0bb9beafe1bcb1d380b23c0720e5d0f609",
            ),
        ];
        for (call, qs, secret, alg, want) in rows {
            assert_eq!(
                alg.hex(&[call.as_bytes(), qs.as_bytes(), secret.as_bytes()]),
                *want,
                "{call} {qs}"
            );
            let raw = if qs.is_empty() {
                format!("checksum={want}")
            } else {
                format!("{qs}&checksum={want}")
            };
            assert_eq!(
                verify_query(call, &raw, &secrets(&[secret]), &Algorithm::ALL),
                Ok(()),
                "{call} {qs}"
            );
        }
    }

    #[test]
    fn checksum_anywhere_leading_ampersand_and_uppercase() {
        let s = secrets(&[TEST_SECRET]);
        let c = "681d1da9748f05563e83fd36b55fa7708134eac3";
        let first = format!("checksum={c}&{JOIN_QS}");
        assert_eq!(verify_query("join", &first, &s, &Algorithm::ALL), Ok(()));
        let (a, b) = JOIN_QS.split_at(JOIN_QS.find("&role").unwrap());
        let middle = format!("{a}&checksum={c}{b}");
        assert_eq!(verify_query("join", &middle, &s, &Algorithm::ALL), Ok(()));
        // PHP and bigbluebutton2 send `getMeetings?&checksum=…`.
        let empty = "d23fef405937517be465ffccae12d5c1103a5e00";
        assert_eq!(
            verify_query(
                "getMeetings",
                &format!("&checksum={empty}"),
                &s,
                &Algorithm::ALL
            ),
            Ok(())
        );
        let upper = format!("{JOIN_QS}&checksum={}", c.to_ascii_uppercase());
        assert_eq!(verify_query("join", &upper, &s, &Algorithm::ALL), Ok(()));
    }

    #[test]
    fn refusals() {
        use ChecksumError::*;
        let ours = secrets(&[TEST_SECRET]);
        let c1 = "681d1da9748f05563e83fd36b55fa7708134eac3";
        let signed = format!("{JOIN_QS}&checksum={c1}");
        let changed = format!("{}&checksum={c1}", JOIN_QS.replace("MODERATOR", "VIEWER"));
        let reencoded = format!("{}&checksum={c1}", JOIN_QS.replace('+', "%20"));
        /// call, query, secrets, allowed hashes, the refusal expected.
        type Case<'a> = (&'a str, String, Vec<String>, &'a [Algorithm], ChecksumError);
        let cases: &[Case] = &[
            (
                "join",
                JOIN_QS.to_owned(),
                ours.clone(),
                &Algorithm::ALL,
                Missing,
            ),
            (
                "join",
                format!("{JOIN_QS}&checksum="),
                ours.clone(),
                &Algorithm::ALL,
                Missing,
            ),
            (
                "join",
                format!("{JOIN_QS}&checksum=abc"),
                ours.clone(),
                &Algorithm::ALL,
                BadLength,
            ),
            (
                "join",
                format!("{signed}0"),
                ours.clone(),
                &Algorithm::ALL,
                BadLength,
            ),
            // SHA-1 switched off by the operator.
            (
                "join",
                signed.clone(),
                ours.clone(),
                &[Algorithm::Sha256],
                Disallowed,
            ),
            // Another call name, another secret, a changed parameter, a re-encoded query.
            (
                "create",
                signed.clone(),
                ours.clone(),
                &Algorithm::ALL,
                Mismatch,
            ),
            (
                "join",
                signed.clone(),
                secrets(&["other-secret-xyz"]),
                &Algorithm::ALL,
                Mismatch,
            ),
            ("join", changed, ours.clone(), &Algorithm::ALL, Mismatch),
            ("join", reencoded, ours.clone(), &Algorithm::ALL, Mismatch),
            // No secret at all verifies nothing.
            ("join", signed, vec![], &Algorithm::ALL, Mismatch),
        ];
        for (call, query, secrets, allowed, want) in cases {
            assert_eq!(
                verify_query(call, query, secrets, allowed),
                Err(*want),
                "{call}?{query}"
            );
        }
    }

    #[test]
    fn any_of_several_secrets() {
        let s = secrets(&["first-secret-aaaa", TEST_SECRET, "third-secret-cccc"]);
        let c1 = "681d1da9748f05563e83fd36b55fa7708134eac3";
        assert_eq!(
            verify_query(
                "join",
                &format!("{JOIN_QS}&checksum={c1}"),
                &s,
                &Algorithm::ALL
            ),
            Ok(())
        );
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::parse("SHA-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("sha1"), Some(Algorithm::Sha1));
        assert_eq!(Algorithm::parse("md5"), None);
    }
}
