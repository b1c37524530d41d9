//! The emails the service sends, rendered by our own templates (SES templates are not used, so
//! the cloud and the outbox send the very same text) in the account's language: English,
//! French and German are shipped (`shared/templates/mail/`), and an operator's folder
//! (`IAM_MAIL_TEMPLATES`) may replace any file or add languages. Links are built from the
//! configured public URL only, never from anything a request carries.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use super::Message;
use super::address::Address;

/// Where the invitee sets a password: the application's join page.
pub fn join_link(app_url: &str, token: &str) -> String {
    format!("{app_url}/join?token={token}")
}

/// Where a user chooses a new password: the application's reset page.
pub fn reset_link(app_url: &str, token: &str) -> String {
    format!("{app_url}/reset-password?token={token}")
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

/// The name to greet, if it reads as a person's name: letters, marks, spaces, apostrophes,
/// hyphens, and dots that end an initial. Anything else (a URL, a domain that mail readers
/// would turn into a link, a line break, markup) is left out and the greeting is impersonal:
/// whoever creates an account chooses its name, and must not get to write into our email.
fn person_name(name: Option<&str>) -> Option<&str> {
    const MOST_CHARS: usize = 64;
    let name = name.map(str::trim).filter(|n| !n.is_empty() && n.chars().count() <= MOST_CHARS)?;
    let chars: Vec<char> = name.chars().collect();
    let fits = chars.iter().enumerate().all(|(i, &c)| match c {
        '.' => chars.get(i + 1).is_none_or(|next| *next == ' '),
        ' ' | '\'' | '’' | '-' => true,
        c => c.is_alphabetic() || unicode_normalization::char::is_combining_mark(c),
    });
    fits.then_some(name)
}

/// The emails the service sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    PasswordReset,
}

impl Kind {
    /// Its name, in outbox letters and as the stem of its files (`invitation.txt`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::PasswordReset => "password_reset",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Invitation, Kind::PasswordReset].into_iter().find(|k| k.name() == name)
    }

    /// The link the email carries, to the page that takes `token`.
    pub fn link(self, app_url: &str, token: &str) -> String {
        match self {
            Kind::Invitation => join_link(app_url, token),
            Kind::PasswordReset => reset_link(app_url, token),
        }
    }
}

/// One email in one language: the subject (the text file's first line, `Subject: ...`), the
/// text part and the HTML part, with `{{greeting}}`, `{{link}}` and `{{expires_at}}` to fill.
#[derive(Debug, Clone)]
struct Template {
    subject: String,
    text: String,
    html: String,
}

/// A language's templates: its two greetings (`Hello {{name}},` and `Hello,`) and its emails.
#[derive(Debug, Clone)]
struct Language {
    greeting: String,
    impersonal: String,
    invitation: Template,
    password_reset: Template,
}

impl Language {
    fn email(&self, kind: Kind) -> &Template {
        match kind {
            Kind::Invitation => &self.invitation,
            Kind::PasswordReset => &self.password_reset,
        }
    }
}

/// The files of a language folder, as shipped (`shared/templates/mail/<language>/`).
const FILES: [&str; 5] =
    ["greeting.txt", "invitation.txt", "invitation.html", "password_reset.txt", "password_reset.html"];
const FALLBACK: &str = "en";

/// The templates of every language, the operator's over ours.
#[derive(Debug, Clone)]
pub struct Templates {
    languages: BTreeMap<String, Language>,
    /// English, for a tag no language matches.
    fallback: Language,
}

macro_rules! built_in {
    ($lang:literal) => {
        (
            $lang,
            [
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $lang, "/greeting.txt")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $lang, "/invitation.txt")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $lang, "/invitation.html")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $lang, "/password_reset.txt")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $lang, "/password_reset.html")),
            ],
        )
    };
}

/// Ours, compiled in: English, French, German.
const BUILT_IN: [(&str, [&str; 5]); 3] = [built_in!("en"), built_in!("fr"), built_in!("de")];

impl Templates {
    /// Ours, then the files of the operator's folder (`IAM_MAIL_TEMPLATES`): one subfolder per
    /// language (`fr/invitation.html`), each file replacing ours; a new language starts from
    /// English, so that a file it lacks is English. A file that does not parse, lacks its link
    /// or names an unknown placeholder is an error at start, naming the file.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut files: BTreeMap<String, [String; 5]> =
            BUILT_IN.iter().map(|(lang, texts)| (lang.to_string(), texts.map(String::from))).collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                let Some(lang) = path.file_name().and_then(|n| n.to_str()).filter(|_| path.is_dir()) else { continue };
                let lang = lang.to_ascii_lowercase();
                let mut set = files.get(&lang).or_else(|| files.get(FALLBACK)).cloned().unwrap_or_default();
                for (slot, name) in set.iter_mut().zip(FILES) {
                    let file = path.join(name);
                    if file.exists() {
                        *slot =
                            std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                    }
                }
                files.insert(lang, set);
            }
        }
        let mut languages = BTreeMap::new();
        for (lang, texts) in files {
            let language = Language::parse(&texts).with_context(|| format!("mail templates of {lang:?}"))?;
            languages.insert(lang, language);
        }
        let fallback = languages.get(FALLBACK).cloned().context("no English mail templates")?;
        Ok(Templates { languages, fallback })
    }

    /// The languages there are templates for.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.languages.keys().map(String::as_str)
    }

    /// The templates for a language tag: the whole tag (`pt-br`), its language (`pt`), else
    /// English.
    fn language(&self, tag: Option<&str>) -> &Language {
        let tag = tag.unwrap_or(FALLBACK).to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_string();
        [tag, primary].iter().find_map(|t| self.languages.get(t)).unwrap_or(&self.fallback)
    }

    /// The email `kind` for `to`, in the language `tag`, greeting `name` if it reads as a name;
    /// `expires_at` as RFC 3339.
    pub fn render(
        &self,
        kind: Kind,
        tag: Option<&str>,
        to: &Address,
        name: Option<&str>,
        link: &str,
        expires_at: &str,
    ) -> Message {
        let language = self.language(tag);
        let template = language.email(kind);
        let greeting = match person_name(name) {
            Some(name) => fill(&language.greeting, &[("name", name)]),
            None => language.impersonal.clone(),
        };
        let values = [("greeting", greeting.as_str()), ("link", link), ("expires_at", expires_at)];
        let escaped = values.map(|(k, v)| (k, escape(v)));
        let escaped: Vec<(&str, &str)> = escaped.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Message {
            to: to.clone(),
            subject: template.subject.clone(),
            text: fill(&template.text, &values),
            html: fill(&template.html, &escaped),
        }
    }
}

impl Language {
    /// A language from its files, in the order of [`FILES`].
    fn parse(texts: &[String; 5]) -> anyhow::Result<Language> {
        let [greeting, invitation_txt, invitation_html, reset_txt, reset_html] = texts;
        let mut lines = greeting.lines().map(str::trim).filter(|l| !l.is_empty());
        let (Some(named), Some(impersonal)) = (lines.next(), lines.next()) else {
            bail!("greeting.txt: two lines, such as `Hello {{{{name}}}},` and `Hello,`");
        };
        check(named, "greeting.txt", &["name"], Some("name"))?;
        check(impersonal, "greeting.txt", &[], None)?;
        Ok(Language {
            greeting: named.into(),
            impersonal: impersonal.into(),
            invitation: Template::parse(Kind::Invitation, invitation_txt, invitation_html)?,
            password_reset: Template::parse(Kind::PasswordReset, reset_txt, reset_html)?,
        })
    }
}

impl Template {
    /// An email from its text file (subject first) and its HTML file, checked.
    fn parse(kind: Kind, txt: &str, html: &str) -> anyhow::Result<Template> {
        let stem = kind.name();
        let (first, text) = txt.split_once('\n').unwrap_or((txt, ""));
        let subject = first.trim().strip_prefix("Subject:").map(str::trim).filter(|s| !s.is_empty());
        let subject = subject.with_context(|| format!("{stem}.txt: its first line is `Subject: ...`"))?;
        check(subject, &format!("{stem}.txt's subject"), &[], None)?;
        let placeholders = ["greeting", "link", "expires_at"];
        check(text, &format!("{stem}.txt"), &placeholders, Some("link"))?;
        check(html, &format!("{stem}.html"), &placeholders, Some("link"))?;
        Ok(Template { subject: subject.into(), text: text.trim_start().into(), html: html.into() })
    }
}

/// Every `{{placeholder}}` of `template` is one of `allowed`, and `required` is there.
fn check(template: &str, file: &str, allowed: &[&str], required: Option<&str>) -> anyhow::Result<()> {
    let used = placeholders(template);
    if let Some(unknown) = used.iter().find(|p| !allowed.contains(p)) {
        bail!("{file}: unknown placeholder {{{{{unknown}}}}} (known: {})", allowed.join(", "));
    }
    if let Some(required) = required.filter(|r| !used.contains(r)) {
        bail!("{file}: {{{{{required}}}}} is missing");
    }
    Ok(())
}

fn placeholders(template: &str) -> Vec<&str> {
    template.split("{{").skip(1).filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim())).collect()
}

/// `template` with each `{{name}}` replaced by its value, in one pass: a value is never read
/// for placeholders (a name holding `{{link}}` stays text).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.split_once("}}") {
            Some((name, tail)) => {
                out.push_str(values.iter().find(|(k, _)| *k == name.trim()).map_or("", |(_, v)| v));
                rest = tail;
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(raw: &str) -> Address {
        Address::parse(raw).unwrap()
    }

    fn reset(tag: Option<&str>, name: Option<&str>) -> Message {
        Templates::load(None).unwrap().render(Kind::PasswordReset, tag, &to("a@b.co"), name, "https://x/r?token=t", "T")
    }

    #[test]
    fn links_are_built_from_the_app_url() {
        assert_eq!(join_link("https://app.example.com", "tok"), "https://app.example.com/join?token=tok");
        assert_eq!(reset_link("https://app.example.com", "tok"), "https://app.example.com/reset-password?token=tok");
    }

    /// Every template in every language: the subject, the greeting, the link on a line of its
    /// own in the text and escaped in the HTML, the expiry, nothing left unfilled.
    #[test]
    fn every_template_renders_in_every_language_with_its_link_and_escaping() {
        let templates = Templates::load(None).unwrap();
        assert_eq!(templates.languages().collect::<Vec<_>>(), ["de", "en", "fr"]);
        let link = "https://app.example.com/join?token=t0k&x=<1>";
        for lang in ["en", "fr", "de"] {
            for kind in [Kind::Invitation, Kind::PasswordReset] {
                let m =
                    templates.render(kind, Some(lang), &to("a@b.co"), Some("O'Brien"), link, "2026-11-30T10:00:00Z");
                let what = format!("{lang} {kind:?}");
                assert!(!m.subject.is_empty() && !m.subject.contains('\n'), "{what}");
                assert!(m.text.lines().any(|l| l == link), "{what}: the link on its own line\n{}", m.text);
                assert!(m.text.contains("O'Brien") && m.text.contains("2026-11-30T10:00:00Z"), "{what}");
                assert!(m.html.contains("href=\"https://app.example.com/join?token=t0k&amp;x=&lt;1&gt;\""), "{what}");
                assert!(m.html.contains("O&#39;Brien") && !m.html.contains("<1>"), "{what}");
                assert!(m.html.contains(&format!("<html lang=\"{lang}\">")), "{what}");
                assert!(!m.text.contains("{{") && !m.html.contains("{{"), "{what}: nothing left unfilled");
            }
        }
        let fr = templates.render(Kind::Invitation, Some("fr"), &to("a@b.co"), None, link, "T");
        assert!(fr.text.starts_with("Bonjour,\n"), "{}", fr.text);
        assert_ne!(fr.subject, templates.render(Kind::Invitation, Some("de"), &to("a@b.co"), None, link, "T").subject);
    }

    #[test]
    fn a_language_tag_picks_its_language_or_english() {
        assert_eq!(reset(Some("fr-CA"), None).subject, reset(Some("fr"), None).subject);
        assert_eq!(reset(Some("DE"), None).subject, reset(Some("de"), None).subject);
        assert_eq!(reset(Some("pt-BR"), None).subject, "Reset your password");
        assert_eq!(reset(None, None).subject, "Reset your password");
        assert_ne!(reset(Some("fr"), None).subject, "Reset your password");
    }

    /// Whoever creates an account names it: a name that could carry a link, markup or a line
    /// of its own is not written into the email at all.
    #[test]
    fn a_name_is_greeted_only_when_it_reads_as_a_name() {
        for name in ["Ann", "Zoë Ørsted", "J. R. R. Tolkien", "Jean-Luc d'Arc", "María José", "李小龍"] {
            let m = reset(None, Some(name));
            assert!(m.text.starts_with(&format!("Hello {name},")), "{name}: {}", m.text);
        }
        for name in [
            "<script>x</script>",
            "Ann, visit https://evil.test",
            "evil.test",
            "www.evil.test",
            "Ann\r\nBcc: eve@evil.test",
            "ann@evil.test",
            "Call 555 0100",
            "{{link}}",
            "A".repeat(65).as_str(),
        ] {
            let m = reset(Some("de"), Some(name));
            assert!(m.text.starts_with("Hallo,\n"), "{name:?}: {}", m.text);
            assert!(!m.html.contains("evil") && !m.text.contains("evil"), "{name:?}");
        }
    }

    #[test]
    fn an_operators_files_replace_ours_and_add_languages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("fr")).unwrap();
        std::fs::create_dir_all(dir.path().join("es")).unwrap();
        std::fs::write(
            dir.path().join("fr/password_reset.txt"),
            "Subject: Acme : nouveau mot de passe\n\n{{greeting}}\n{{link}}\n({{expires_at}})\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("es/greeting.txt"), "Hola {{name}},\nHola,\n").unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let m = templates.render(Kind::PasswordReset, Some("fr"), &to("a@b.co"), Some("Ann"), "https://x/r", "T");
        assert_eq!(m.subject, "Acme : nouveau mot de passe");
        assert_eq!(m.text, "Bonjour Ann,\nhttps://x/r\n(T)\n");
        assert!(m.html.contains("lang=\"fr\""), "the HTML file was not replaced: ours stays");
        let es = templates.render(Kind::Invitation, Some("es-MX"), &to("a@b.co"), Some("Ana"), "https://x/j", "T");
        assert!(es.text.starts_with("Hola Ana,"));
        assert_eq!(es.subject, "You are invited", "a file a language lacks is English");
    }

    #[test]
    fn an_operators_file_that_is_wrong_stops_the_start_naming_it() {
        for (file, text, says) in [
            ("invitation.txt", "Subject: Hi\n\nNo link here\n", "{{link}} is missing"),
            ("invitation.txt", "Hi\n\n{{link}}\n", "Subject:"),
            ("invitation.html", "<a href=\"{{link}}\">{{password}}</a>", "unknown placeholder {{password}}"),
            ("greeting.txt", "Hello {{name}},\n", "two lines"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("de")).unwrap();
            std::fs::write(dir.path().join("de").join(file), text).unwrap();
            let error = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
            assert!(error.contains("\"de\"") && error.contains(says), "{file}: {error}");
        }
    }
}
