//! The README's curl walkthrough, run as a newcomer would paste it: against a real `iam serve`
//! with the admin it names, from a folder whose `.iam/outbox` holds the mail. Every command
//! must succeed (no JSON:API error in the output), so the README cannot drift from the API.

mod support;

use std::process::Command;

/// The walkthrough: the `sh` block of "Calling the API with curl" that sets `B`.
fn walkthrough() -> String {
    let readme = include_str!("../../README.md");
    let section = readme.split("\n## Calling the API with curl").nth(1).expect("the section");
    let section = section.split("\n## ").next().unwrap();
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("B=http://127.0.0.1:3000"))
        .expect("the walkthrough block")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join(".iam");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let env = [("IAM_ADMIN_PASSWORD", "Sup3r!Secret"), ("IAM_OUTBOX_POLL_MS", "100")];
    let mut server = support::serve_and_wait(&data, &addr, &env).await;
    let script = walkthrough().replace("127.0.0.1:3000", &addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash").args(["-euo", "pipefail", "-c", &script]).current_dir(folder.path()).output()
    })
    .await
    .unwrap()
    .expect("bash runs");
    let _ = server.kill();
    let _ = server.wait();
    let (said, complained) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walkthrough stopped:\n{said}\n{complained}");
    assert!(!said.contains("\"errors\""), "a command of the walkthrough failed:\n{said}");
    // `"token_type":"Bearer"` is printed by the login its second factor completed.
    for answer in ["\"valid\":true", "\"active\":true", "\"name\":\"Acme\"", "\"keys\"", "\"token_type\":\"Bearer\""] {
        assert!(said.contains(answer), "{answer} in:\n{said}");
    }
}
