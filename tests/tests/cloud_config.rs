//! A function configured as in the cloud, against moto's server: DynamoDB, SES, and the
//! signing key read from an SSM Parameter Store `SecureString` once, at start.

use iam_shared::AppState;
use iam_shared::auth::jwt::TokenKeys;
use iam_shared::aws::Aws;
use iam_shared::config::Config;
use iam_shared::mail::seal::OpeningKey;
use iam_tests::moto;
use std::collections::HashMap;
use std::time::Duration;

fn cloud_config(prefix: &str, parameter: &str) -> Config {
    let vars: HashMap<&str, String> = HashMap::from([
        ("IAM_STORE", "dynamodb".into()),
        ("IAM_TABLE_PREFIX", prefix.into()),
        ("IAM_CREATE_TABLES", "1".into()),
        ("IAM_MAILER", "ses".into()),
        ("IAM_MAIL_FROM", "no-reply@iam.test".into()),
        ("IAM_PUBLIC_URL", "https://iam.example.com".into()),
        ("IAM_SIGNING_KEY_PARAMETER", parameter.into()),
        ("IAM_OUTBOX_PUBLIC_KEY", OpeningKey::generate().sealing_key().to_base64()),
    ]);
    Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid cloud configuration")
}

#[tokio::test]
async fn the_signing_key_comes_from_a_secure_parameter_and_tokens_verify_with_it() {
    let Some(endpoint) = moto::endpoint_for("cloud configuration") else { return };
    let prefix = moto::unique_prefix();
    let name = format!("/{prefix}/signing-key");
    let pem = TokenKeys::generate_pem().unwrap();
    let ssm = moto::ssm_client(endpoint);
    ssm.put_parameter()
        .name(&name)
        .value(&pem)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put the key");

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
    let ssm = moto::ssm_client(endpoint);
    let put = ssm.put_parameter().name(&name).value(value).r#type(aws_sdk_ssm::types::ParameterType::SecureString);
    put.send().await.expect("put");
    let e = AppState::from_config_with(cloud_config(&prefix, &name), &aws).await.err().expect("not a key");
    let shown = format!("{e:#} {e:?}");
    assert!(shown.contains("PKCS#8"), "{shown}");
    assert!(!shown.contains(value), "the value must not appear: {shown}");
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
