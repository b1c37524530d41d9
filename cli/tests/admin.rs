//! The admin trap, closed: when a root admin exists and `IAM_ADMIN_EMAIL` names another, the
//! operator is told who the admin is and how to get in; `iam admin reset-password` gives an
//! account a new password (generated and printed once, or from stdin) without losing data.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn iam(data: &std::path::Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iam"))
        .args(args)
        .env("IAM_DATA_DIR", data)
        .env("IAM_PASSWORD_HASH_COST", "fast-insecure-for-tests")
        .env("RUST_LOG", "error")
        .env_remove("IAM_ADMIN_EMAIL")
        .env_remove("IAM_ADMIN_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iam runs");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("iam ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The password printed on the line after the one announcing it.
fn printed_password(out: &str) -> String {
    out.lines().skip_while(|l| !l.ends_with(':')).nth(2).map(|l| l.trim().to_string()).unwrap_or_default()
}

#[test]
fn a_second_admin_email_is_told_who_the_admin_is_and_how_to_get_in() {
    let data = tempfile::tempdir().unwrap();
    let first = iam(data.path(), &["bootstrap"], &[("IAM_ADMIN_EMAIL", "first@example.com")], None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("Created root admin first@example.com with the generated password"));

    let other = iam(data.path(), &["bootstrap"], &[("IAM_ADMIN_EMAIL", "second@example.com")], None);
    let said = text(&other.stdout);
    assert!(other.status.success(), "{}", text(&other.stderr));
    for part in [
        "A root admin exists already: first@example.com",
        "IAM_ADMIN_EMAIL=second@example.com names another account",
        "nothing was created",
        "make admin-password EMAIL=first@example.com",
    ] {
        assert!(said.contains(part), "{part:?} in:\n{said}");
    }
    let same = iam(data.path(), &["bootstrap"], &[("IAM_ADMIN_EMAIL", "First@Example.com")], None);
    assert!(text(&same.stdout).contains("A root admin exists already (first@example.com); nothing to do"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_password_is_replaced_and_the_old_one_and_its_sessions_stop_working() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = support::serve_and_wait(data.path(), &addr, &[]).await;
    let login = |password: String| {
        let addr = addr.clone();
        async move {
            let body = serde_json::json!({"grant_type": "password", "email": support::ADMIN.0, "password": password});
            support::request(&addr, "POST", "/api/v3/iam/auth/token", None, Some(body)).await.expect("an answer")
        }
    };
    let (status, session) = login(support::ADMIN.1.into()).await;
    assert_eq!(status, 200);
    let token = session["access_token"].as_str().unwrap().to_string();

    let chosen = "N3w!Passw0rd-chosen";
    let out = iam(
        data.path(),
        &["admin", "reset-password", support::ADMIN.0, "--password-stdin"],
        &[],
        Some(&format!("{chosen}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("Set the password of root@example.com") && said.contains("1 session(s) ended"), "{said}");
    assert!(!said.contains(chosen), "a chosen password is not echoed");
    assert_eq!(login(support::ADMIN.1.into()).await.0, 401, "the old password is refused");
    assert_eq!(login(chosen.into()).await.0, 200);
    let me = support::request(&addr, "GET", "/api/v3/iam/accounts/me", Some(&token), None).await.unwrap();
    assert_eq!(me.0, 401, "the session from before ended");

    let out = iam(data.path(), &["admin", "reset-password", "ROOT@example.com"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated = printed_password(&text(&out.stdout));
    assert!(generated.len() >= 43, "a generated password of 256 bits: {:?}", text(&out.stdout));
    assert_eq!(login(chosen.into()).await.0, 401);
    assert_eq!(login(generated).await.0, 200);

    for (args, stdin, expected) in [
        (vec!["admin", "reset-password", "nobody@example.com"], None, "no account has the email"),
        (vec!["admin", "reset-password", support::ADMIN.0, "--password-stdin"], Some("short\n"), "too weak"),
    ] {
        let out = iam(data.path(), &args, &[], stdin);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
    }
    let _ = server.kill();
    let _ = server.wait();
}
