//! The mailer function as Lambda runs it, configured as in the cloud against moto's server
//! (DynamoDB, SES, its key in an SSM SecureString): the outbox stream fixture
//! (`infra/events/mailer-outbox-stream.json`, an INSERT then the MODIFY and REMOVE its own
//! delivery causes) sends a letter once; a failed send names the record to retry and keeps the
//! letter; a redelivered record sends nothing; the scheduled fixture sweeps what is left.

use std::collections::HashMap;
use std::path::Path;

use iam_mailer::Postman;
use iam_shared::auth::single_use::{self, Purpose};
use iam_shared::aws::Aws;
use iam_shared::config::Config;
use iam_shared::mail::address::Address;
use iam_shared::mail::outbox::Letter;
use iam_shared::mail::seal::OpeningKey;
use iam_shared::mail::templates::Kind;
use iam_shared::store::Write;
use iam_shared::store::schema::OUTBOX;
use iam_tests::moto;
use serde_json::{Value, json};

const INSERT_SEQUENCE: &str = "4421584500000000017450439091";
const PUBLIC_URL: &str = "https://iam.example.com";

fn fixture(name: &str, letter: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap().replace("LETTER_ID", letter)).unwrap()
}

/// The mailer's cold start as in the cloud: its private key from a SecureString, SES from
/// `sender`. Returns it with the key's public half, which request functions seal to.
async fn cold_start(endpoint: &str, sender: &str) -> (Postman, OpeningKey) {
    let prefix = moto::unique_prefix();
    let key = OpeningKey::generate();
    let parameter = format!("/{prefix}/outbox-key");
    let ssm = moto::ssm_client(endpoint);
    let put = ssm.put_parameter().name(&parameter).value(key.to_base64().expose());
    put.r#type(aws_sdk_ssm::types::ParameterType::SecureString).send().await.expect("the key stored");
    let vars: HashMap<&str, String> = HashMap::from([
        ("IAM_STORE", "dynamodb".into()),
        ("IAM_TABLE_PREFIX", prefix),
        ("IAM_CREATE_TABLES", "1".into()),
        ("IAM_MAILER", "ses".into()),
        ("IAM_MAIL_FROM", sender.into()),
        ("IAM_PUBLIC_URL", PUBLIC_URL.into()),
        ("IAM_OUTBOX_KEY_PARAMETER", parameter),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("the mailer's configuration");
    let aws = Aws::from_config(moto::sdk_config(endpoint));
    let postman = iam_shared::app::postman(&config, &aws).await.expect("cold start");
    (postman, key)
}

/// Posts an invitation link to `to` as a request function does: the token's hash and the
/// letter (the token sealed to `key`'s public half) in one transaction. The letter's id and the
/// token.
async fn post(postman: &Postman, key: &OpeningKey, to: &str) -> (String, String) {
    let account = json!({"id": "acc-1", "email": to}).as_object().cloned().unwrap();
    let issued = single_use::issue(Purpose::Invitation, &account, postman.clock.now()).unwrap();
    let letter = Letter {
        kind: Kind::Invitation,
        account_id: "acc-1".into(),
        to: Address::parse(to).unwrap(),
        language: Some("de".into()),
        name: Some("Änne".into()),
        expires_at: issued.expires_at,
        token_id: issued.write.key().1.to_string(),
    };
    let write = letter.post(&key.sealing_key(), &issued.token).unwrap();
    let Write::Put { item, .. } = &write else { panic!("a put") };
    let id = item["id"].as_str().unwrap().to_string();
    postman.store.transact(vec![issued.write, write]).await.expect("posted");
    (id, issued.token)
}

#[tokio::test]
async fn a_streamed_letter_is_sent_once_and_a_failed_send_is_retried() {
    let Some(endpoint) = moto::endpoint_for("mailer") else { return };
    let sender = "no-reply@mailer-stream.test";
    let (postman, key) = cold_start(endpoint, sender).await;
    let to = "stream-one@acme.test";
    let (id, token) = post(&postman, &key, to).await;
    let event = fixture("mailer-outbox-stream.json", &id);

    // The sender is not verified yet: SES refuses, the INSERT record is named for a retry.
    let answer = postman.handle(event.clone()).await.expect("an answer");
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": INSERT_SEQUENCE}]}));
    assert!(moto::sent_to(endpoint, to).await.is_empty());
    assert!(postman.store.get(&OUTBOX, &id).await.unwrap().is_some(), "the letter waits");

    moto::ses_client(endpoint).create_email_identity().email_identity(sender).send().await.expect("identity");
    let answer = postman.handle(event.clone()).await.expect("an answer");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let sent = moto::sent_to(endpoint, to).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["source"], sender);
    assert_eq!(sent[0]["subject"], "Sie wurden eingeladen", "the account's language: {}", sent[0]);
    let body = sent[0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("{PUBLIC_URL}/join?token={token}")), "{body}");
    assert!(postman.store.get(&OUTBOX, &id).await.unwrap().is_none(), "the send is recorded");

    let answer = postman.handle(event).await.expect("an answer");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(moto::sent_to(endpoint, to).await.len(), 1, "a redelivered record sends nothing");
}

#[tokio::test]
async fn the_scheduled_sweep_sends_what_the_stream_left() {
    let Some(endpoint) = moto::endpoint_for("mailer") else { return };
    let sender = "no-reply@mailer-sweep.test";
    moto::ses_client(endpoint).create_email_identity().email_identity(sender).send().await.expect("identity");
    let (postman, key) = cold_start(endpoint, sender).await;
    let to = "sweep-one@acme.test";
    post(&postman, &key, to).await;
    let scheduled = fixture("mailer-scheduled.json", "");
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
    let answer = postman.handle(scheduled.clone()).await.expect("a sweep");
    assert_eq!(answer, json!({"sent": 1, "failed": 0, "taken": 0, "dropped": 0}));
    assert_eq!(postman.handle(scheduled).await.unwrap()["sent"], 0);
    assert_eq!(moto::sent_to(endpoint, to).await.len(), 1);
}

#[tokio::test]
async fn a_letter_sealed_to_another_key_is_kept_not_sent() {
    let Some(endpoint) = moto::endpoint_for("mailer") else { return };
    let sender = "no-reply@mailer-keys.test";
    moto::ses_client(endpoint).create_email_identity().email_identity(sender).send().await.expect("identity");
    let (postman, _) = cold_start(endpoint, sender).await;
    let to = "keys-one@acme.test";
    // Sealed to a key this mailer does not hold (a misconfigured deploy): nothing is sent, and
    // the letter stays until the right key is deployed or its link expires.
    let (id, _) = post(&postman, &OpeningKey::generate(), to).await;
    let answer = postman.handle(fixture("mailer-outbox-stream.json", &id)).await.unwrap();
    assert_eq!(answer["batchItemFailures"][0]["itemIdentifier"], INSERT_SEQUENCE);
    assert!(moto::sent_to(endpoint, to).await.is_empty());
    assert!(postman.store.get(&OUTBOX, &id).await.unwrap().is_some());
}
