//! `iam --help` lists every setting the service reads, and an option given on the command line
//! is what the command uses.

use std::process::Command;

fn iam(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iam"));
    command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("iam runs")
}

#[test]
fn the_help_lists_every_iam_variable_and_hides_the_secret_ones() {
    let out = iam(&["--help"], &[("IAM_ADMIN_PASSWORD", "Sup3r!Secret"), ("IAM_TABLE_PREFIX", "iam-test-")]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for v in iam_shared::config::VARIABLES {
        assert!(help.contains(&format!("[env: {}", v.name)), "{} is not in:\n{help}", v.name);
    }
    assert!(help.contains("--data-dir"), "{help}");
    assert!(help.contains("IAM_TABLE_PREFIX=iam-test-"), "a setting's current value is shown: {help}");
    assert!(!help.contains("Sup3r!Secret"), "a secret's value never is: {help}");
}

#[test]
fn an_option_overrides_its_variable_and_a_bad_value_names_it() {
    let out = iam(&["cleanup", "--store", "mongo"], &[("IAM_STORE", "embedded")]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("IAM_STORE=\"mongo\""), "{error}");
    let out = iam(&["routes", "--store", "mongo"], &[]);
    assert!(out.status.success(), "the route table reads no settings: {}", String::from_utf8_lossy(&out.stderr));
}
