//! `iam`: the local gateway (`serve`, which also delivers the outbox), the first root admin
//! (`bootstrap`) and a lost password (`admin reset-password`), one cleanup sweep (`cleanup`), one outbox sweep (`deliver`), the route table
//! (`routes`), the OpenAPI document and reference (`openapi`) and the cloud's keys (`signing-key`, `outbox-key`), all configured by the `IAM_*`
//! and `AWS_*` environment variables.

use anyhow::Context;
use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use iam_shared::app::open_store;
use iam_shared::auth::password::PasswordHasher;
use iam_shared::aws::Aws;
use iam_shared::bootstrap::{Outcome, ensure_root_admin, set_password};
use iam_shared::clock::{self, Clock, SystemClock};
use iam_shared::config::{self, Config};
use iam_shared::mail::seal::OpeningKey;
use iam_shared::routes::ROUTES;
use iam_shared::store::Store;
use iam_shared::{AppState, lambda::init_logging};

#[derive(Parser)]
#[command(name = "iam", about = "Serverless IAM: local gateway and operations", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every function's routes on IAM_ADDR (default 127.0.0.1:3000).
    Serve,
    /// Create the first root admin from IAM_ADMIN_EMAIL / IAM_ADMIN_PASSWORD if there is none.
    Bootstrap,
    /// Print the route table: method, path, function.
    Routes,
    /// Print the OpenAPI 3.1 document of the API (what `GET /openapi.json` serves).
    Openapi {
        /// Print the API reference rendered from it instead (docs/API-REFERENCE.md).
        #[arg(long)]
        markdown: bool,
    },
    /// One cleanup sweep (what the hourly function does): prints what was removed.
    Cleanup,
    /// Rewrite items stored before the current index layout (once after a deploy that adds
    /// indexes or write shards, so that DynamoDB's indexes hold every item): prints how many.
    Reindex,
    /// The access token signing key in SSM Parameter Store: `create` a first one (the private
    /// key straight into a SecureString, the template's SigningKeyParameter, readable by the
    /// issuer alone; its public key published as a JWKS in a String, VerificationKeysParameter),
    /// then rotate without rejecting a live token: `next`, deploy, `promote`, deploy, wait one
    /// access token lifetime, `retire`, deploy. No private key is ever printed.
    SigningKey {
        /// The SecureString's name, e.g. /iam/prod/signing-key.
        #[arg(long)]
        parameter: String,
        /// The published keys' String, e.g. /iam/prod/verification-keys.
        #[arg(long)]
        published: String,
        #[arg(long, value_enum, default_value = "create")]
        step: iam_cli::signing_keys::Step,
    },
    /// Create the mailer's key pair: the private key straight into an SSM Parameter Store
    /// SecureString (the template's OutboxKeyParameter, readable by the mailer alone), the
    /// public key printed (the template's OutboxPublicKey). An existing parameter is left alone.
    OutboxKey {
        /// The parameter's name, e.g. /iam/prod/outbox-key.
        #[arg(long)]
        parameter: String,
    },
    /// Create the key TOTP secrets are sealed under at rest, straight into an SSM Parameter
    /// Store SecureString (the template's MfaKeyParameter, readable by the sessions function
    /// alone). An existing parameter is left alone: replacing it would make every enrolled
    /// second factor unreadable.
    MfaKey {
        /// The parameter's name, e.g. /iam/prod/mfa-key.
        #[arg(long)]
        parameter: String,
    },
    /// Deliver every letter waiting in the outbox now (what the mailer's sweep does): prints
    /// what was sent, failed or dropped.
    Deliver,
    /// Operator's actions on accounts, straight on the store (no token needed).
    Admin {
        #[command(subcommand)]
        action: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Give an account a new password (generated and printed once, or read from stdin), ending
    /// its sessions and reset links: for a lost admin password. Nothing else changes.
    ResetPassword {
        /// The account's email.
        email: String,
        /// Read the new password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Every `IAM_*` variable is also an option (`IAM_DATA_DIR` is `--data-dir`), so that
/// `iam --help` lists the settings, with their current values unless secret.
fn settings_as_options(command: clap::Command) -> clap::Command {
    command.next_help_heading("Settings (options or IAM_* environment variables)").args(config::VARIABLES.iter().map(
        |v| {
            let long = v.name.trim_start_matches("IAM_").to_ascii_lowercase().replace('_', "-");
            Arg::new(v.name)
                .long(long)
                .env(v.name)
                .help(v.help)
                .value_name("VALUE")
                .global(true)
                .hide_env_values(v.secret)
        },
    ))
}

/// The configuration from the command line's settings (each falls back to its variable).
fn config_of(matches: &ArgMatches) -> anyhow::Result<Config> {
    Config::from_lookup(|name| matches.get_one::<String>(name).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let matches = settings_as_options(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    // The route table needs no configuration; every other command reads it first.
    let config = || config_of(&matches);
    match cli.command {
        Command::Routes => {
            for r in ROUTES {
                println!("{:<7} {:<45} {}{}", r.method, r.path, r.function, if r.public { " (public)" } else { "" });
            }
            Ok(())
        }
        Command::Openapi { markdown } => {
            let document = iam_shared::openapi::document();
            if markdown {
                print!("{}", iam_cli::reference::markdown(&document));
            } else {
                println!("{}", serde_json::to_string_pretty(&document)?);
            }
            Ok(())
        }
        Command::Serve => serve(config()?).await,
        Command::Bootstrap => {
            let config = config()?;
            let store = open_store(&config, &Aws::new(config.tls_roots)).await?;
            bootstrap(store.as_ref(), &PasswordHasher::new(config.hash_cost, config.hash_slots)?, &config).await
        }
        Command::SigningKey { parameter, published, step } => {
            let aws = Aws::new(config()?.tls_roots);
            let at = iam_cli::signing_keys::KeyParameters { signing: &parameter, published: &published };
            println!("{}", iam_cli::signing_keys::run(aws.config().await, &at, step).await?);
            Ok(())
        }
        Command::OutboxKey { parameter } => {
            let aws = Aws::new(config()?.tls_roots);
            let key = OpeningKey::generate();
            let description = "IAM mailer key (X25519, base64url): opens the tokens sealed in outbox letters";
            iam_shared::aws::create_secure_parameter(aws.config().await, &parameter, description, &key.to_base64())
                .await?;
            println!(
                "Stored a new mailer key in the SecureString {parameter}. Its public half (the template's \
                 OutboxPublicKey, IAM_OUTBOX_PUBLIC_KEY):\n\n    {}",
                key.sealing_key().to_base64()
            );
            Ok(())
        }
        Command::MfaKey { parameter } => {
            let aws = Aws::new(config()?.tls_roots);
            let key = iam_shared::auth::factor_key::FactorKey::generate()?;
            let description = "IAM MFA key (AES-256-GCM, base64url): seals TOTP secrets at rest";
            iam_shared::aws::create_secure_parameter(aws.config().await, &parameter, description, &key).await?;
            println!("Stored a new MFA key in the SecureString {parameter} (the template's MfaKeyParameter).");
            Ok(())
        }
        Command::Admin { action: Admin::ResetPassword { email, password_stdin } } => {
            let config = config()?;
            let password = match password_stdin {
                true => Some(first_line_of_stdin()?),
                false => None,
            };
            let store = open_store(&config, &Aws::new(config.tls_roots)).await?;
            let passwords = PasswordHasher::new(config.hash_cost, config.hash_slots)?;
            let now = SystemClock.now();
            let set = set_password(store.as_ref(), &passwords, now, &email, password.as_deref()).await?;
            match &set.generated_password {
                // Shown this once; only its hash is stored.
                Some(p) => println!("New password of {}:\n\n    {p}\n\nIt is shown only now.", set.email),
                None => println!("Set the password of {}.", set.email),
            }
            println!("{} session(s) ended; earlier reset links no longer work.", set.sessions_ended);
            if !set.may_log_in {
                println!("Note: {} cannot sign in now (disabled, expired or not active).", set.email);
            }
            Ok(())
        }
        Command::Deliver => {
            let config = config()?;
            let postman = iam_shared::app::postman(&config, &Aws::new(config.tls_roots)).await?;
            let round = postman.sweep().await?;
            println!("{}", serde_json::to_string_pretty(&round)?);
            Ok(())
        }
        Command::Reindex => {
            let config = config()?;
            let store = open_store(&config, &Aws::new(config.tls_roots)).await?;
            let done = iam_shared::store::reindex::reindex(store.as_ref()).await?;
            println!(
                "Rewrote {} items in the current index layout; indexed the words of {} items.",
                done.rewritten, done.indexed
            );
            Ok(())
        }
        Command::Cleanup => {
            let config = config()?;
            let cleanup = iam_cleanup::Cleanup::from_config(&config, &Aws::new(config.tls_roots)).await?;
            let swept = cleanup.handle(serde_json::Value::Null).await?;
            println!("{}", serde_json::to_string_pretty(&swept)?);
            Ok(())
        }
    }
}

fn first_line_of_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn bootstrap(store: &dyn Store, passwords: &PasswordHasher, config: &Config) -> anyhow::Result<()> {
    let (email, password) = (config.admin_email.as_deref(), config.admin_password.as_ref().map(|p| p.expose()));
    match ensure_root_admin(store, passwords, &clock::format(SystemClock.now()), email, password).await? {
        Outcome::AlreadyPresent { holders } => println!("{}", already_present(&holders, email)),
        Outcome::Created { email, generated_password: None } => println!("Created root admin {email}."),
        Outcome::Created { email, generated_password: Some(password) } => {
            // Shown this once; only its hash is stored.
            println!(
                "Created root admin {email} with the generated password:\n\n    {password}\n\nIt is shown only now."
            );
        }
    }
    Ok(())
}

/// What to tell an operator when a root admin exists: who it is, and, when `IAM_ADMIN_EMAIL`
/// names someone else (it only ever creates the first one), how to get in anyway.
fn already_present(holders: &[String], configured: Option<&str>) -> String {
    let first = holders.first().map_or("EMAIL", String::as_str);
    let who = if holders.is_empty() { "an account".to_string() } else { holders.join(", ") };
    let recover = format!(
        "Lost its password? Set a new one, without losing data:\n\n    make admin-password EMAIL={first}\n\n\
         (or `iam admin reset-password {first}` with this IAM_DATA_DIR or store)."
    );
    match configured {
        Some(named) if !holders.iter().any(|h| h.eq_ignore_ascii_case(named)) => format!(
            "A root admin exists already: {who}. IAM_ADMIN_EMAIL={named} names another account, and only the \
             first root admin is created from it, so nothing was created.\nSign in as {first}. {recover}"
        ),
        _ => format!("A root admin exists already ({who}); nothing to do. {recover}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.addr;
    let aws = Aws::new(config.tls_roots);
    let state = AppState::from_config_with(config, &aws).await?;
    bootstrap(state.store.as_ref(), &state.passwords, &state.config).await?;
    // Mail goes out in the background, as the mailer function does it in the cloud; its first
    // sweep sends what a previous run left in the outbox.
    let postman = iam_shared::app::postman_on(&state.config, &aws, state.store.clone()).await?;
    let every = state.config.outbox_poll;
    tokio::spawn(async move { postman.keep_delivering(every).await });
    if state.config.store == iam_shared::config::StoreKind::Embedded {
        // A data folder from an older build lacks what a new one indexes (word entries): a
        // local run catches up at start, as a deployment does with `iam reindex`.
        let done = iam_shared::store::reindex::reindex(state.store.as_ref()).await?;
        if done != Default::default() {
            println!("Reindexed {} items; indexed the words of {} items.", done.rewritten, done.indexed);
        }
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    println!("IAM API on http://{addr}/api/v3/iam (data in {})", state.config.data_dir.display());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    iam_cli::server::serve(listener, iam_cli::gateway(state), iam_cli::server::HEADER_READ_TIMEOUT, shutdown).await?;
    Ok(())
}
