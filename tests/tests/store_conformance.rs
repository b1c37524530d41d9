//! Runs the store conformance suite against the embedded store and against a DynamoDB
//! endpoint (moto's server, started here on a free loopback port and stopped at the end).

use std::sync::Arc;

use iam_shared::store::Store;
use iam_shared::store::embedded::EmbeddedStore;
use iam_tests::conformance::cases;
use iam_tests::moto::{self, MotoServer, Serving};
use libtest_mimic::{Arguments, Failed, Trial};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn main() {
    let args = Arguments::from_args();
    let moto = match moto::binary() {
        // One request at a time: the suite holds the adapter to a DynamoDB that serializes
        // writes, which moto's threaded server does not (see `moto::Serving`).
        Some(_) => Some(Arc::new(MotoServer::start_serving(Serving::Serial).expect("moto must start"))),
        None if moto::required() => panic!("IAM_REQUIRE_MOTO=1 but moto_server was not found (MOTO_SERVER or .venv)"),
        None => {
            eprintln!("moto_server not found: the DynamoDB cases are ignored (`make test` runs them)");
            None
        }
    };
    let mut trials = Vec::new();
    for (name, case) in cases() {
        trials.push(Trial::test(format!("embedded::{name}"), move || {
            let dir = tempfile::tempdir().map_err(|e| Failed::from(e.to_string()))?;
            let store: Arc<dyn Store> =
                Arc::new(EmbeddedStore::open(&dir.path().join("db.sqlite3")).map_err(|e| Failed::from(e.to_string()))?);
            runtime().block_on(case(store));
            Ok(())
        }));
        let server = moto.clone();
        let trial = Trial::test(format!("dynamodb::{name}"), move || {
            let Some(server) = server else { return Ok(()) };
            runtime().block_on(async {
                let store = server.store(&moto::unique_prefix());
                store.ensure_schema().await.map_err(|e| Failed::from(e.to_string()))?;
                case(Arc::new(store)).await;
                Ok(())
            })
        });
        trials.push(trial.with_ignored_flag(moto.is_none()));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    drop(moto);
    conclusion.exit();
}
