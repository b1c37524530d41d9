//! A function configured as in the cloud, against moto's server: DynamoDB, SES, and the
//! signing key read from an SSM Parameter Store `SecureString` once, at start, by the issuer
//! alone; the verifiers hold only the published keys. A rotation through `iam signing-key`'s
//! steps never rejects a live token.

use iam_cli::signing_keys::{self, KeyParameters, Step};
use iam_shared::AppState;
use iam_shared::auth::factor_key::FactorKey;
use iam_shared::auth::jwt::TokenKeys;
use iam_shared::aws::Aws;
use iam_shared::config::Config;
use iam_shared::mail::seal::OpeningKey;
use iam_tests::moto;
use std::collections::HashMap;
use std::time::Duration;

fn cloud_config(prefix: &str, parameter: &str) -> Config {
    configured(prefix, &[("IAM_SIGNING_KEY_PARAMETER", parameter.into())])
}

/// The cloud configuration with `more` variables (the signing key's or the published keys').
fn configured(prefix: &str, more: &[(&'static str, String)]) -> Config {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("IAM_STORE", "dynamodb".into()),
        ("IAM_TABLE_PREFIX", prefix.into()),
        ("IAM_CREATE_TABLES", "1".into()),
        ("IAM_MAILER", "ses".into()),
        ("IAM_MAIL_FROM", "no-reply@iam.test".into()),
        ("IAM_PUBLIC_URL", "https://iam.example.com".into()),
        ("IAM_OUTBOX_PUBLIC_KEY", OpeningKey::generate().sealing_key().to_base64()),
    ]);
    vars.extend(more.iter().cloned());
    Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid cloud configuration")
}

/// Puts `value` into a new `SecureString` named `name`.
async fn put_secure(endpoint: &str, name: &str, value: &str) {
    let ssm = moto::ssm_client(endpoint);
    let put = ssm.put_parameter().name(name).value(value).r#type(aws_sdk_ssm::types::ParameterType::SecureString);
    put.send().await.expect("put the parameter");
}

#[tokio::test]
async fn the_signing_key_comes_from_a_secure_parameter_and_tokens_verify_with_it() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let name = format!("/{prefix}/signing-key");
    let pem = TokenKeys::generate_pem().unwrap();
    put_secure(endpoint, &name, &pem).await;

    let aws = Aws::from_config(moto::sdk_config(endpoint));
    let state = AppState::from_config_with(cloud_config(&prefix, &name), &aws).await.expect("cold start");

    // A token the function signs verifies with the key stored in the parameter, and the other
    // way round: the function holds that key and no other.
    let stored = TokenKeys::from_pem(&pem, "https://iam.example.com", "iam", Duration::from_secs(900)).unwrap();
    let now = state.now();
    let token = state.keys.issue("acc", "sess", now).unwrap();
    assert_eq!(stored.verify(&token, now).unwrap().sub, "acc");
    assert_eq!(state.keys.jwks(), stored.jwks());
    // The configuration the state keeps shows no key.
    assert!(!format!("{:?}", state.config).contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_missing_or_malformed_parameter_stops_the_cold_start_without_showing_the_value() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let aws = Aws::from_config(moto::sdk_config(endpoint));

    let missing = format!("/{prefix}/missing");
    let e = AppState::from_config_with(cloud_config(&prefix, &missing), &aws).await.err().expect("no parameter");
    assert!(format!("{e:#}").contains(&missing), "the error names the parameter: {e:#}");

    let name = format!("/{prefix}/not-a-key");
    let value = "sup3r-s3cret-but-not-a-pem";
    put_secure(endpoint, &name, value).await;
    let e = AppState::from_config_with(cloud_config(&prefix, &name), &aws).await.err().expect("not a key");
    let shown = format!("{e:#} {e:?}");
    assert!(shown.contains("PKCS#8"), "{shown}");
    assert!(!shown.contains(value), "the value must not appear: {shown}");
}

#[tokio::test]
async fn the_issuer_reads_its_signing_key_and_its_mfa_key_in_one_round_trip() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let (signing, mfa) = (format!("/{prefix}/signing-key"), format!("/{prefix}/mfa-key"));
    let pem = TokenKeys::generate_pem().unwrap();
    let factor = FactorKey::generate().unwrap();
    put_secure(endpoint, &signing, &pem).await;
    put_secure(endpoint, &mfa, factor.expose()).await;
    let issuer = |mfa: &str| {
        configured(&prefix, &[("IAM_SIGNING_KEY_PARAMETER", signing.clone()), ("IAM_MFA_KEY_PARAMETER", mfa.into())])
    };

    let (sdk, sent) = moto::recorded_sdk_config(endpoint);
    let state = AppState::from_config_with(issuer(&mfa), &Aws::from_config(sdk)).await.expect("cold start");
    let asked_ssm: Vec<String> = sent.lock().unwrap().iter().filter(|t| t.starts_with("AmazonSSM.")).cloned().collect();
    assert_eq!(asked_ssm, vec!["AmazonSSM.GetParameters".to_string()], "both keys in one round trip");
    // Each key is the one stored under its own name (not swapped, not the other's).
    let stored = TokenKeys::from_pem(&pem, "https://iam.example.com", "iam", Duration::from_secs(900)).unwrap();
    let now = state.now();
    assert_eq!(stored.verify(&state.keys.issue("acc", "sess", now).unwrap(), now).unwrap().sub, "acc");
    let sealed = state.factor_key.as_ref().expect("the MFA key").seal(b"totp secret", "acc").unwrap();
    assert_eq!(FactorKey::from_base64(&factor).unwrap().open(&sealed, "acc").unwrap(), b"totp secret");

    // One of the two missing: the cold start stops, naming that one.
    let missing = format!("/{prefix}/no-mfa-key");
    let aws = Aws::from_config(moto::sdk_config(endpoint));
    let e = AppState::from_config_with(issuer(&missing), &aws).await.err().expect("a missing key");
    let shown = format!("{e:#}");
    assert!(shown.contains(&missing) && !shown.contains(&signing), "{shown}");
}

fn new_key() -> iam_shared::config::Secret {
    iam_shared::config::Secret::new(iam_shared::auth::jwt::TokenKeys::generate_pem().unwrap())
}

#[tokio::test]
async fn a_key_created_into_a_parameter_serves_a_cold_start_and_is_never_replaced() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let name = format!("/{prefix}/signing-key");
    let sdk = moto::sdk_config(endpoint);
    iam_shared::aws::create_secure_parameter(&sdk, &name, "test key", &new_key()).await.expect("created");
    let aws = Aws::from_config(sdk.clone());
    let state = AppState::from_config_with(cloud_config(&prefix, &name), &aws).await.expect("cold start");
    let jwks = state.keys.jwks();
    let e = iam_shared::aws::create_secure_parameter(&sdk, &name, "test key", &new_key()).await.expect_err("exists");
    assert!(format!("{e:#}").contains(&name), "{e:#}");
    let again = AppState::from_config_with(cloud_config(&prefix, &name), &aws).await.expect("cold start");
    assert_eq!(again.keys.jwks(), jwks, "the key did not change");
}

/// The issuer and a verifier as a deploy leaves them: the issuer reads the signing key's
/// parameter; both get the published JWKS, resolved from its String at deploy time.
async fn deployed(aws: &Aws, prefix: &str, keys: &KeyParameters<'_>) -> (AppState, AppState) {
    let published = iam_shared::aws::read_secure_parameter(aws.config().await, keys.published).await.unwrap();
    let issuer = configured(
        prefix,
        &[("IAM_SIGNING_KEY_PARAMETER", keys.signing.into()), ("IAM_VERIFICATION_KEYS", published.clone())],
    );
    let verifier = configured(prefix, &[("IAM_VERIFICATION_KEYS", published)]);
    (
        AppState::from_config_with(issuer, aws).await.expect("the issuer's cold start"),
        AppState::from_config_with(verifier, aws).await.expect("a verifier's cold start"),
    )
}

#[tokio::test]
async fn a_rotation_in_its_documented_steps_never_rejects_a_live_token() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let (signing, published) = (format!("/{prefix}/signing-key"), format!("/{prefix}/verification-keys"));
    let keys = KeyParameters { signing: &signing, published: &published };
    let sdk = moto::sdk_config(endpoint);
    let aws = Aws::from_config(sdk.clone());
    let works = |state: &AppState, token: &str| state.keys.verify(token, state.now()).is_ok();

    signing_keys::run(&sdk, &keys, Step::Create).await.expect("create");
    let (issuer, verifier) = deployed(&aws, &prefix, &keys).await;
    assert!(verifier.keys.issue("acc", "sid", verifier.now()).is_err(), "a verifier cannot sign");
    let first = issuer.keys.issue("acc", "sid", issuer.now()).unwrap();
    assert!(works(&verifier, &first));

    signing_keys::run(&sdk, &keys, Step::Next).await.expect("next");
    let (issuer, verifier) = deployed(&aws, &prefix, &keys).await;
    assert_eq!(issuer.keys.jwks()["keys"].as_array().unwrap().len(), 2, "both keys published");
    assert!(works(&issuer, &first) && works(&verifier, &first));
    let still_old = issuer.keys.issue("acc", "sid", issuer.now()).unwrap();

    signing_keys::run(&sdk, &keys, Step::Promote).await.expect("promote");
    let (issuer, verifier) = deployed(&aws, &prefix, &keys).await;
    let second = issuer.keys.issue("acc", "sid", issuer.now()).unwrap();
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&second), kid(&first), "the next key signs now");
    for token in [&first, &still_old, &second] {
        assert!(works(&issuer, token) && works(&verifier, token), "a live token was rejected");
    }

    signing_keys::run(&sdk, &keys, Step::Retire).await.expect("retire");
    let (issuer, verifier) = deployed(&aws, &prefix, &keys).await;
    assert_eq!(verifier.keys.jwks()["keys"].as_array().unwrap().len(), 1);
    assert!(works(&issuer, &second) && works(&verifier, &second));
    assert!(!works(&verifier, &first), "the retired key verifies nothing");
}

#[tokio::test]
async fn a_function_with_neither_key_nor_published_keys_does_not_start() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let aws = Aws::from_config(moto::sdk_config(endpoint));
    let e = AppState::from_config_with(configured(&moto::unique_prefix(), &[]), &aws).await.err().expect("no keys");
    assert!(format!("{e:#}").contains("IAM_VERIFICATION_KEYS"), "{e:#}");
    let bad = configured(&moto::unique_prefix(), &[("IAM_VERIFICATION_KEYS", r#"{"keys": []}"#.into())]);
    assert!(AppState::from_config_with(bad, &aws).await.is_err(), "an empty JWKS verifies nothing");
}
