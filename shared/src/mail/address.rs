//! One email address, as mail may be sent to it: a single RFC 5322 `addr-spec` whose local part
//! is an ASCII dot-atom and whose domain is LDH labels. Anything else is refused: a list
//! (`a@x.test,b@evil.test`, `a@x.test;b@evil.test`), a quoted local part (`"x@y"@evil.test`), a
//! group (`undisclosed:a@evil.test;`), a comment (`a(c)@x.test`), an address literal. A mail
//! system reading such a string may deliver to a mailbox nobody meant.
//!
//! Internationalized domains are accepted in their ASCII form: each label that is not ASCII is
//! lower-cased and Punycode-encoded (RFC 3492, `xn--`), so
//! `ann@Bücher.example` is stored, compared and sent as `ann@xn--bcher-kva.example`. ASCII
//! labels are kept as given (addresses are stored as given and compared lower-cased). This is
//! IDNA's ToASCII without UTS 46's mapping tables and without normalization (the tables would
//! not fit functions within kilobytes of their size budget): a label may hold only letters,
//! digits and hyphens, so a letter typed as a base and a combining mark (not as the one
//! precomposed letter every keyboard sends) is refused rather than encoded differently.

/// An address that passed [`Address::parse`]: as given (it is compared lower-cased), but for
/// internationalized labels, which are in their ASCII form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

/// Longest address (RFC 5321's path limit less its brackets).
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

impl Address {
    /// The address `raw` (surrounding white space ignored), if it is one `addr-spec` as above.
    pub fn parse(raw: &str) -> Option<Address> {
        let (local, domain) = raw.trim().split_once('@')?;
        let domain = ascii_domain(domain)?;
        let address = format!("{local}@{domain}");
        (is_dot_atom(local) && local.len() <= MAX_LOCAL && address.len() <= MAX_ADDRESS).then_some(Address(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 5322 `atext`: what an unquoted local part (or a header phrase's word) may hold besides
/// its dots.
pub(super) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn is_dot_atom(local: &str) -> bool {
    !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// The domain in ASCII, if it is at least two LDH labels (a label that is not
/// ASCII Punycode-encoded first) and its top label is not a number.
fn ascii_domain(domain: &str) -> Option<String> {
    let labels = domain.split('.').map(ascii_label).collect::<Option<Vec<String>>>()?;
    let top = labels.last()?;
    let ascii = labels.join(".");
    let valid = labels.len() >= 2 && !top.chars().all(|c| c.is_ascii_digit()) && ascii.len() <= MAX_DOMAIN;
    valid.then_some(ascii)
}

fn ascii_label(label: &str) -> Option<String> {
    let ascii = if label.is_ascii() {
        label.to_string()
    } else {
        let unicode = label.to_lowercase();
        if !unicode.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return None;
        }
        format!("xn--{}", punycode(&unicode)?)
    };
    let ldh = ascii.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let valid = ldh && (1..=MAX_LABEL).contains(&ascii.len()) && !ascii.starts_with('-') && !ascii.ends_with('-');
    valid.then_some(ascii)
}

/// RFC 3492's encoder (Bootstring with Punycode's parameters). Hand-written: the `idna`
/// crate's tables would not fit the functions' size budget, and encoding is all we need.
fn punycode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let code_points: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    let mut handled = basic;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (handled as usize) < code_points.len() {
        let m = code_points.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &code_points {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias { T_MIN } else { (k - bias).min(T_MAX) };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n += 1;
    }
    Some(output)
}

fn digit(d: u32) -> char {
    let d = u8::try_from(d).unwrap_or(0);
    char::from(if d < 26 { b'a' + d } else { b'0' + (d - 26) })
}

/// RFC 3492 §6.1.
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((36 - 1) * 26) / 2 {
        delta /= 36 - 1;
        k += 36;
    }
    k + (36 * delta) / (delta + 38)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> Option<String> {
        Address::parse(raw).map(|a| a.as_str().to_string())
    }

    #[test]
    fn one_addr_spec_is_accepted_as_given() {
        assert_eq!(parsed(" Ann.Lee+iam@Acme.Example "), Some("Ann.Lee+iam@Acme.Example".into()));
        assert_eq!(parsed("o'brien_{x}@sub-1.acme.test"), Some("o'brien_{x}@sub-1.acme.test".into()));
    }

    /// The addresses an attacker sent that were once written verbatim into `To:`, and more.
    #[test]
    fn lists_groups_quotes_comments_and_literals_are_refused() {
        for bad in [
            "victim@x.test,attacker@evil.test",
            "a@b.test;c@evil.test",
            "\"x@y\"@evil.test",
            "undisclosed:a@evil.test;",
            "a(comment)@b.test",
            "Ann <ann@b.test>",
            "a@[127.0.0.1]",
            "a@b.test\r\nBcc: c@evil.test",
            "a b@c.test",
            ".a@b.test",
            "a..b@c.test",
            "a.@b.test",
            "a@b",
            "a@-b.test",
            "a@b-.test",
            "a@b..test",
            "a@b.test.",
            "a@1.2.3.4",
            "ann@bü😀cher.example",
            "ännchen@b.test",
            "@b.test",
            "a@",
            "",
        ] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
        let long_local = format!("{}@b.test", "a".repeat(65));
        assert_eq!(parsed(&long_local), None);
        let long_label = format!("a@{}.test", "b".repeat(64));
        assert_eq!(parsed(&long_label), None);
    }

    #[test]
    fn internationalized_domains_become_their_ascii_form() {
        assert_eq!(parsed("ann@Bücher.example"), Some("ann@xn--bcher-kva.example".into()));
        assert_eq!(parsed("ann@bu\u{308}cher.example"), None, "a combining mark: not normalized, refused");
        assert_eq!(parsed("ann@münchen.de"), Some("ann@xn--mnchen-3ya.de".into()));
        assert_eq!(parsed("ann@例え.テスト"), Some("ann@xn--r8jz45g.xn--zckzah".into()));
        assert_eq!(parsed("ann@xn--bcher-kva.example"), parsed("ann@bücher.example"));
    }

    /// RFC 3492 §7.1's samples.
    #[test]
    fn punycode_matches_the_rfc_samples() {
        assert_eq!(punycode("ليهمابتكلموشعربي؟").as_deref(), Some("egbpdaj6bu4bxfgehfvwxn"));
        assert_eq!(punycode("他们为什么不说中文").as_deref(), Some("ihqwcrb4cv8a8dqg056pqjye"));
        assert_eq!(punycode("3年B組金八先生").as_deref(), Some("3B-ww4c5e180e575a65lsy2b"));
    }
}
