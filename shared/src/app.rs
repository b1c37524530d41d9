//! The state every handler borrows: configuration, the store, keys, the password hasher, the
//! key mailed tokens are sealed to and the clock — all built once per cold start. And the
//! postman, which the mailer function and `iam serve` build instead to deliver the outbox.

use std::sync::Arc;

use anyhow::Context;
use time::OffsetDateTime;

use crate::auth::factor_key::FactorKey;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::aws::{self, Aws};
use crate::clock::{self, Clock, SystemClock};
use crate::config::{Config, KeySource, Secret, SigningKeySource, StoreKind};
use crate::mail::delivery::Postman;
use crate::mail::seal::{OpeningKey, SealingKey};
use crate::mail::templates::Templates;
use crate::mail::{self, Mailer};
use crate::store::backoff::Backoff;
use crate::store::dynamodb::{self, DynamoStore, Patience};
#[cfg(feature = "embedded")]
use crate::store::embedded::EmbeddedStore;
use crate::store::{Metered, Retrying, Store, StoreMetrics};

/// The store the configuration names (creating DynamoDB tables only when asked to).
pub async fn open_store(config: &Config, aws: &Aws) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match config.store {
        #[cfg(feature = "embedded")]
        StoreKind::Embedded => Arc::new(EmbeddedStore::open(&config.data_dir.join("iam.sqlite3"))?),
        #[cfg(not(feature = "embedded"))]
        StoreKind::Embedded => anyhow::bail!("this build has no embedded store: set IAM_STORE=dynamodb"),
        StoreKind::DynamoDb => dynamodb_store(aws.config().await, &config.table_prefix, Patience::FUNCTION),
    };
    if config.create_tables {
        store.ensure_schema().await.context("creating tables")?;
    }
    Ok(store)
}

/// The DynamoDB adapter as the functions use it: `patience`'s timeouts and retries on every
/// call, and transactions that a concurrent one beat tried again a few times.
pub fn dynamodb_store(config: &aws_config::SdkConfig, prefix: &str, patience: Patience) -> Arc<dyn Store> {
    let store = DynamoStore::new(dynamodb::client(config, patience), prefix);
    Arc::new(Retrying::new(Arc::new(store), Backoff::CONFLICTS))
}

/// The base path of every API route.
pub const BASE_PATH: &str = "/api/v3/iam";

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<StoreMetrics>,
    pub keys: Arc<TokenKeys>,
    pub passwords: Arc<PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    /// The mailer's public key: mailed tokens are sealed to it in the outbox.
    pub sealer: Arc<SealingKey>,
    /// The key TOTP secrets are sealed under: held by the functions that enrol and verify
    /// second factors (configured with one), `None` elsewhere.
    pub factor_key: Option<Arc<FactorKey>>,
}

impl AppState {
    /// Builds the store the configuration names, and everything else, once. The AWS SDK
    /// configuration is loaded at most once, and only if a part needs it.
    pub async fn from_config(config: Config) -> anyhow::Result<AppState> {
        let aws = Aws::new(config.tls_roots);
        Self::from_config_with(config, &aws).await
    }

    /// [`AppState::from_config`] with a given AWS configuration (tests point it at moto).
    pub async fn from_config_with(mut config: Config, aws: &Aws) -> anyhow::Result<AppState> {
        let store = open_store(&config, aws).await?;
        // The issuer's keys in SSM (its signing key, the MFA key): one round trip for both.
        let signing = match &config.signing_key {
            SigningKeySource::Parameter(name) => Some(name.clone()),
            _ => None,
        };
        let mfa = match &config.mfa_key {
            KeySource::Parameter(name) => Some(name.clone()),
            _ => None,
        };
        let names: Vec<&str> = signing.iter().chain(&mfa).map(String::as_str).collect();
        if !names.is_empty() {
            let mut values = aws::read_secure_parameters(aws.config().await, &names).await?.into_iter();
            // One value per name, in order (or the read failed above).
            if signing.is_some()
                && let Some(pem) = values.next()
            {
                config.signing_key = SigningKeySource::Pem(Secret::new(pem));
            }
            if mfa.is_some()
                && let Some(text) = values.next()
            {
                config.mfa_key = KeySource::Value(Secret::new(text));
            }
        }
        Self::assemble(config, store, Arc::new(SystemClock))
    }

    /// Assembles a state around a given store and clock (tests choose both).
    pub fn assemble(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        let keys = token_keys(&config)?;
        let passwords = PasswordHasher::new(config.hash_cost, config.hash_slots)?;
        let sealer = sealing_key(&config)?;
        let factor_key = factor_key(&config)?.map(Arc::new);
        let metered = Metered::new(store);
        Ok(AppState {
            metrics: metered.metrics(),
            store: Arc::new(metered),
            keys: Arc::new(keys),
            passwords: Arc::new(passwords),
            clock,
            sealer: Arc::new(sealer),
            factor_key,
            config: Arc::new(config),
        })
    }

    /// The absolute base of resource links, e.g. `http://127.0.0.1:3000/api/v3/iam`.
    pub fn base_url(&self) -> String {
        format!("{}{BASE_PATH}", self.config.public_url)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Now, as stored: RFC 3339 UTC whole seconds.
    pub fn timestamp(&self) -> String {
        clock::format(self.clock.now())
    }
}

/// The issuer's keys (its private key, the published ones beside it) or a verifier's (the
/// published keys alone), as the configuration says.
fn token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let (issuer, audience, ttl) = (&config.issuer, &config.audience, config.access_token_ttl);
    let pem = match &config.signing_key {
        SigningKeySource::Pem(pem) => pem.expose().to_string(),
        SigningKeySource::DataDir if config.store == StoreKind::Embedded => {
            TokenKeys::load_or_create_pem(&config.data_dir.join("signing_key.pem"))?
        }
        SigningKeySource::DataDir => {
            let jwks = config.verification_keys.as_deref().context(
                "with IAM_STORE=dynamodb the issuer needs IAM_SIGNING_KEY_PARAMETER (or IAM_SIGNING_KEY), \
                 and every other function IAM_VERIFICATION_KEYS",
            )?;
            return TokenKeys::verifying(jwks, issuer, audience, ttl);
        }
        SigningKeySource::Parameter(name) => anyhow::bail!("the signing key parameter {name} was not read"),
    };
    let keys = TokenKeys::from_pem(&pem, issuer, audience, ttl)?;
    match &config.verification_keys {
        Some(jwks) => keys.also_publishing(jwks),
        None => Ok(keys),
    }
}

/// The key request functions seal mailed tokens to: the configured public key, or locally the
/// public half of the key in the data folder (made on first use).
fn sealing_key(config: &Config) -> anyhow::Result<SealingKey> {
    match (&config.outbox_public_key, &config.outbox_key, config.store) {
        (Some(public), ..) => SealingKey::from_base64(public).context("IAM_OUTBOX_PUBLIC_KEY"),
        (None, KeySource::Value(secret), _) => Ok(OpeningKey::from_base64(secret)?.sealing_key()),
        (None, KeySource::DataDir, StoreKind::Embedded) => {
            Ok(OpeningKey::load_or_create(&config.data_dir.join("outbox_key"))?.sealing_key())
        }
        (None, ..) => anyhow::bail!("IAM_OUTBOX_PUBLIC_KEY is required with IAM_STORE=dynamodb (`iam outbox-key`)"),
    }
}

/// The key TOTP secrets are sealed under, if this function holds one: given, or locally the
/// one in the data folder (made on first use).
fn factor_key(config: &Config) -> anyhow::Result<Option<FactorKey>> {
    match &config.mfa_key {
        KeySource::Value(secret) => FactorKey::from_base64(secret).context("IAM_MFA_KEY").map(Some),
        KeySource::DataDir if config.store == StoreKind::Embedded => {
            FactorKey::load_or_create(&config.data_dir.join("mfa_key")).map(Some)
        }
        KeySource::DataDir => Ok(None),
        KeySource::Parameter(name) => anyhow::bail!("the MFA key parameter {name} was not read"),
    }
}

/// The mailer's private key, as the configuration says where it is.
async fn opening_key(config: &Config, aws: &Aws) -> anyhow::Result<OpeningKey> {
    match &config.outbox_key {
        KeySource::Value(secret) => OpeningKey::from_base64(secret).context("IAM_OUTBOX_KEY"),
        KeySource::Parameter(name) => {
            let text = aws::read_secure_parameter(aws.config().await, name).await?;
            OpeningKey::from_base64(&Secret::new(text)).with_context(|| format!("the SSM parameter {name}"))
        }
        KeySource::DataDir if config.store == StoreKind::Embedded => {
            OpeningKey::load_or_create(&config.data_dir.join("outbox_key"))
        }
        KeySource::DataDir => {
            anyhow::bail!("IAM_OUTBOX_KEY_PARAMETER or IAM_OUTBOX_KEY is required with IAM_STORE=dynamodb")
        }
    }
}

/// The postman the configuration describes: its store, mail adapter, templates (ours and the
/// operator's, checked now) and private key, built once per cold start of the mailer.
pub async fn postman(config: &Config, aws: &Aws) -> anyhow::Result<Postman> {
    postman_on(config, aws, open_store(config, aws).await?).await
}

/// [`postman`] on a store opened already (`iam serve` shares the API's).
pub async fn postman_on(config: &Config, aws: &Aws, store: Arc<dyn Store>) -> anyhow::Result<Postman> {
    let mailer = mail::from_config(config, aws).await?;
    postman_with(config, store, Arc::new(SystemClock), mailer, opening_key(config, aws).await?)
}

/// [`postman`] around a given store, clock, mail adapter and key (tests choose them).
pub fn postman_with(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    key: OpeningKey,
) -> anyhow::Result<Postman> {
    Ok(Postman {
        store,
        mailer,
        templates: Arc::new(Templates::load(config.mail_templates.as_deref())?),
        key: Arc::new(key),
        clock,
        app_url: config.app_url.clone(),
    })
}
