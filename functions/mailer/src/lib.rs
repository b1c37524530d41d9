//! The mailer function: the only one that sends mail or reads the mailer's private key. It is
//! invoked by the outbox table's DynamoDB stream (a batch of new letters; the answer names the
//! records to retry) and by a schedule (a sweep of what the stream's bounded retries gave up
//! on); both deliver through `iam_shared::mail::delivery::Postman`.

pub use iam_shared::mail::delivery::Postman;
