//! Passwords as values: the policy of API.md that a new password must satisfy (checked once,
//! where it enters: [`NewPassword`]), and a password hash. Neither prints in `Debug`, so that
//! no log line or panic message can carry one.

use crate::error::Problem;

/// A new password that satisfies the policy; the plaintext is only handed to the hasher.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// The password if it satisfies the policy for an account with `email`, else every broken
    /// rule, each pointing at `pointer`.
    pub fn parse(raw: &str, email: Option<&str>, pointer: &str) -> Result<NewPassword, Vec<Problem>> {
        let problems: Vec<Problem> = policy_violations(raw, email)
            .into_iter()
            .map(|(code, detail)| Problem::pointer(pointer, code, detail))
            .collect();
        if problems.is_empty() { Ok(NewPassword(raw.to_string())) } else { Err(problems) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// A stored argon2id hash (a PHC string). Not secret like a password, but never shown either.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: String) -> PasswordHash {
        PasswordHash(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// The shortest and longest new password, in characters.
pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;
/// The same, as the catalog states an attribute's limits.
pub const LENGTH: crate::resource::Text =
    crate::resource::Text { min: MIN_LENGTH, max: MAX_LENGTH, single_line: false };

/// The rules a new password must satisfy; every broken rule is returned.
pub fn policy_violations(password: &str, email: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let mut broken = Vec::new();
    let n = password.chars().count();
    if n < MIN_LENGTH {
        broken.push(("too_short", "password must be at least 8 characters"));
    }
    if n > MAX_LENGTH {
        broken.push(("too_long", "password must be at most 128 characters"));
    }
    if !password.chars().any(char::is_uppercase) {
        broken.push(("missing_uppercase", "password must contain an uppercase letter"));
    }
    if !password.chars().any(char::is_lowercase) {
        broken.push(("missing_lowercase", "password must contain a lowercase letter"));
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        broken.push(("missing_digit", "password must contain a digit"));
    }
    if !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
        broken.push(("missing_special", "password must contain a special character"));
    }
    if email.is_some_and(|e| e.trim().eq_ignore_ascii_case(password.trim())) {
        broken.push(("equals_email", "password must not be the account's email"));
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_broken_rule_is_listed() {
        let codes: Vec<_> = policy_violations("abc", None).into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["too_short", "missing_uppercase", "missing_digit", "missing_special"]);
        assert!(policy_violations("Str0ng!Passw0rd", None).is_empty());
        let codes: Vec<_> =
            policy_violations("Ann@Example.c0m", Some("ann@example.c0m")).into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["equals_email"]);
        assert_eq!(policy_violations(&format!("Aa1!{}", "x".repeat(125)), None)[0].0, "too_long");
    }

    #[test]
    fn neither_a_password_nor_its_hash_prints() {
        let p = NewPassword::parse("Str0ng!Passw0rd", None, "/password").unwrap();
        let h = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let printed = format!("{p:?} {h:?}");
        assert!(!printed.contains("Str0ng") && !printed.contains("argon2id"), "{printed}");
        let e = NewPassword::parse("weak", Some("a@b.co"), "/password").unwrap_err();
        assert!(e.iter().all(|p| p.source == Some(crate::error::Source::Pointer("/password".into()))));
    }
}
