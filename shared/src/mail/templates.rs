//! The emails the service sends, rendered by our own templates (SES templates are not used, so
//! the cloud and the outbox send the very same text). Links are built from the configured
//! public URL only, never from anything a request carries.

use super::Message;

/// Where the invitee sets a password: the application's join page.
pub fn join_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/join?token={token}")
}

/// Where a user chooses a new password: the application's reset page.
pub fn reset_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/reset-password?token={token}")
}

/// Text in HTML: names are user input.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn greeting(name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".into(),
    }
}

/// One message in the shared layout: paragraphs of text, one call to action, a closing line.
fn render(to: &str, subject: &str, name: Option<&str>, lead: &str, action: &str, link: &str, note: &str) -> Message {
    let hello = greeting(name);
    let text = format!("{hello}\n\n{lead}\n\n{action}:\n{link}\n\n{note}\n");
    let html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n<p>{}</p>\n<p>{}</p>\n\
         <p><a href=\"{}\">{}</a></p>\n<p style=\"color:#666\">{}</p>\n</body></html>\n",
        escape(&hello),
        escape(lead),
        escape(link),
        escape(action),
        escape(note),
    );
    Message { to: to.into(), subject: subject.into(), text, html }
}

/// The invitation a password-less account receives; `expires_at` as RFC 3339.
pub fn invitation(to: &str, name: Option<&str>, link: &str, expires_at: &str) -> Message {
    render(
        to,
        "You are invited",
        name,
        "An account has been created for you. Choose a password to activate it.",
        "Accept the invitation",
        link,
        &format!("The link works once and expires at {expires_at}. If you did not expect it, ignore this email."),
    )
}

/// The reset link a user asked for; `expires_at` as RFC 3339.
pub fn password_reset(to: &str, name: Option<&str>, link: &str, expires_at: &str) -> Message {
    render(
        to,
        "Reset your password",
        name,
        "Someone asked to reset the password of your account.",
        "Choose a new password",
        link,
        &format!(
            "The link works once and expires at {expires_at}. If you did not ask for it, ignore this email: \
             your password stays as it is."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_part_carries_the_link_on_its_own_line() {
        let link = join_link("https://app.example.com", "tok");
        assert_eq!(link, "https://app.example.com/join?token=tok");
        let m = invitation("ann@example.com", Some("Ann"), &link, "2026-11-30T10:00:00Z");
        assert!(m.text.starts_with("Hello Ann,"));
        assert!(m.text.lines().any(|l| l == link));
        assert!(m.html.contains("href=\"https://app.example.com/join?token=tok\""));
        assert!(m.text.contains("2026-11-30T10:00:00Z"));
    }

    #[test]
    fn names_are_escaped_in_html() {
        let m = password_reset("a@b.c", Some("<script>x</script>"), "https://x/r?token=t&y=1", "t");
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("&lt;script&gt;"));
        assert!(m.html.contains("token=t&amp;y=1"));
        assert!(m.text.contains("<script>"), "the text part is plain text");
    }
}
