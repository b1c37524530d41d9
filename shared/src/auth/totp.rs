//! TOTP (RFC 6238 over RFC 4226's HOTP) as every authenticator app speaks it: HMAC-SHA-1,
//! six digits, 30-second steps, 160-bit secrets shown once as base32 in an `otpauth://` URI.
//! Which step a code matches is decided here; that a step is accepted only once, and only
//! after the last accepted one, is the caller's conditional write (`usecase::mfa`).

use ring::hmac;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Seconds per step (RFC 6238's default, and the only period authenticator apps agree on).
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret: 160 bits, the length RFC 4226 §4 recommends for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now whose code is accepted (a clock one step off).
pub const SKEW_STEPS: i64 = 1;

/// The step `now` falls in.
pub fn step_at(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(STEP_SECS)
}

/// RFC 4226 §5.3: the dynamically truncated HMAC-SHA-1 of the counter, as `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    binary % 10u32.pow(digits)
}

/// The code of `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let n = hotp(secret, u64::try_from(step).unwrap_or_default(), DIGITS);
    format!("{n:0width$}", width = DIGITS as usize)
}

/// The step `code` is the code of, among now's and those one step either side, if it is later
/// than `after` (the last step accepted). Every candidate is computed and compared in constant
/// time, so the answer's timing does not tell which step matched, or how nearly.
pub fn matching_step(secret: &[u8], code: &str, now: OffsetDateTime, after: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let matches: bool = code_at(secret, step).as_bytes().ct_eq(code.as_bytes()).into();
        if matches && after.is_none_or(|last| step > last) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A new secret from the operating system's generator.
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as `otpauth://` URIs carry secrets. (Twenty lines here
/// rather than a crate: only this module needs it.)
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of RFC 4648 base32 text (padding, spaces and case ignored, as apps accept a
/// typed secret); `None` for any other character.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32.iter().position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from a QR code (Google Authenticator's
/// key URI format): the issuer and the account's email label it.
pub fn uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the 20-byte ASCII secret, eight digits.
    #[test]
    fn the_rfc_6238_test_vectors_hold() {
        let secret = b"12345678901234567890";
        for (t, expected) in [
            (59_i64, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let step = u64::try_from(t / STEP_SECS).unwrap();
            assert_eq!(hotp(secret, step, 8), expected, "T = {t}");
            let at = OffsetDateTime::from_unix_timestamp(t).unwrap();
            assert_eq!(code_at(secret, step_at(at)), format!("{:06}", expected % 1_000_000));
        }
    }

    /// RFC 4226 Appendix D: HOTP of counters 0 and 9.
    #[test]
    fn the_rfc_4226_test_vectors_hold() {
        assert_eq!(hotp(b"12345678901234567890", 0, 6), 755_224);
        assert_eq!(hotp(b"12345678901234567890", 9, 6), 520_489);
    }

    #[test]
    fn a_code_matches_its_step_one_either_side_and_only_after_the_last_accepted() {
        let secret = b"12345678901234567890";
        let now = OffsetDateTime::from_unix_timestamp(1_111_111_111).unwrap();
        let step = step_at(now);
        for s in step - 1..=step + 1 {
            assert_eq!(matching_step(secret, &code_at(secret, s), now, None), Some(s));
        }
        assert_eq!(matching_step(secret, &code_at(secret, step - 2), now, None), None, "two steps old");
        assert_eq!(matching_step(secret, &code_at(secret, step + 2), now, None), None, "two steps ahead");
        assert_eq!(matching_step(secret, &code_at(secret, step), now, Some(step)), None, "no replay");
        assert_eq!(matching_step(secret, &code_at(secret, step - 1), now, Some(step)), None, "no earlier step");
        assert_eq!(matching_step(secret, &code_at(secret, step + 1), now, Some(step)), Some(step + 1));
        let spaced = code_at(secret, step);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(secret, &spaced, now, None), Some(step), "as apps show it");
        for junk in ["", "12345", "1234567", "abcdef", "１２３４５６", "-12345"] {
            assert_eq!(matching_step(secret, junk, now, None), None, "{junk:?}");
        }
    }

    #[test]
    fn base32_is_rfc_4648s() {
        // RFC 4648 §10, without padding.
        for (plain, encoded) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")]
        {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw 6ytb oi==").unwrap(), b"foobar");
        let secret = new_secret().unwrap();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
        assert_eq!(from_base32("MZ1"), None, "1 is not base32");
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let uri = uri("Acme IAM", "ann@acme.test", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20IAM:ann%40acme%2Etest?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20IAM&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(new_secret().unwrap().len(), SECRET_BYTES);
        assert_ne!(new_secret().unwrap(), new_secret().unwrap());
    }
}
