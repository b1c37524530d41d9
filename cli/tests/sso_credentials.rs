//! The operators' credential chain (`iam bootstrap`, `iam signing-key`) reads AWS SSO profiles,
//! as `aws sso login` leaves them: a profile naming an SSO session is resolved through the SSO
//! token cache, not refused for want of a cargo feature. Offline: with no cached token, the
//! chain must fail *at the cache*, which shows the SSO provider is built in and was chosen.

use aws_credential_types::provider::ProvideCredentials;
use iam_shared::aws::loader;
use iam_shared::config::TlsRoots;

const CONFIG: &str = "\
[profile ops]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Administrator
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
";

#[tokio::test]
async fn an_sso_profile_is_read_through_the_sso_token_cache() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::write(&config, CONFIG).unwrap();
    // SAFETY: this test binary holds this one test, so no other thread reads the environment.
    unsafe {
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE"] {
            std::env::remove_var(name);
        }
        std::env::set_var("HOME", home.path());
        std::env::set_var("AWS_CONFIG_FILE", &config);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", home.path().join("credentials"));
        std::env::set_var("AWS_PROFILE", "ops");
    }
    let sdk = loader(TlsRoots::Amazon).load().await;
    assert_eq!(sdk.region().map(|r| r.as_ref().to_string()).as_deref(), Some("eu-west-1"), "the profile was read");
    let provider = sdk.credentials_provider().expect("a credentials chain");
    let error = provider.provide_credentials().await.expect_err("no SSO token is cached");
    let said = format!("{error:?}");
    assert!(!said.contains("cargo feature"), "the SSO provider must be built in: {said}");
    assert!(said.contains(".aws/sso/cache"), "resolved through the SSO token cache: {said}");
}
