//! Typed settings, read from `PARTY_CENTER_*` environment variables (and `DATABASE_URL`),
//! each also settable as a command-line flag. Secrets are wrapped so that they are never
//! printed, logged or shown in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

/// Development (the default) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Environment {
    /// Friendly defaults: an embedded PostgreSQL and a generated signing key.
    #[default]
    Development,
    /// Refuses to start without an explicit `DATABASE_URL` and explicit JWT keys.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON in production, readable text in development.
    Auto,
    /// One JSON object per line.
    Json,
    /// Readable text.
    Text,
}

/// Everything the service and its subcommands read from the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// `development` or `production`.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_ENV",
        value_enum,
        default_value = "development"
    )]
    pub env: Environment,

    /// Where the embedded PostgreSQL, the generated signing key and the lock live.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_DATA_DIR",
        default_value = "./.party-center"
    )]
    pub data_dir: PathBuf,

    /// A PostgreSQL server to use instead of the embedded one. It may name several, a
    /// primary and its standbys (`postgres://u@db1:5432,db2:5432/db`): the service then
    /// writes to whichever accepts writes and follows it when it moves.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Read-only servers (standbys) that reports and exports read from, in order; the
    /// primary serves them when none answers. Several may be listed as in DATABASE_URL.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_READ_DATABASE_URL",
        hide_env_values = true
    )]
    pub read_database_url: Option<SecretString>,

    /// Folder of the PostgreSQL server binaries for the embedded database (found by
    /// itself when unset: `pg_config --bindir`, `/usr/lib/postgresql/*/bin`, `PATH`).
    #[arg(long, global = true, env = "PARTY_CENTER_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,

    /// Largest number of database connections in the pool.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_DB_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before it answers 503.
    #[arg(long, global = true, env = "PARTY_CENTER_DB_ACQUIRE_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub db_acquire_timeout: Duration,

    /// The longest a single SQL statement may run (PostgreSQL `statement_timeout`).
    #[arg(long, global = true, env = "PARTY_CENTER_DB_STATEMENT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub db_statement_timeout: Duration,

    /// HS256 signing secret, at least 32 bytes. In development a random one is created in
    /// the data folder when neither this nor a public key is set.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<SecretString>,

    /// RS256 public keys as `kid=path.pem`, comma-separated; a token picks one by `kid`.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_JWT_RSA_KEYS",
        value_delimiter = ','
    )]
    pub jwt_rsa_keys: Vec<String>,

    /// EdDSA (Ed25519) public keys as `kid=path.pem`, comma-separated.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_JWT_ED25519_KEYS",
        value_delimiter = ','
    )]
    pub jwt_ed25519_keys: Vec<String>,

    /// A JWKS document (file) with RS256 and EdDSA public keys, picked by `kid`.
    #[arg(long, global = true, env = "PARTY_CENTER_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,

    /// The `iss` every token must carry.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_JWT_ISSUER",
        default_value = "party-center"
    )]
    pub jwt_issuer: String,

    /// The `aud` every token must carry.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_JWT_AUDIENCE",
        default_value = "party-center"
    )]
    pub jwt_audience: String,

    /// Clock leeway for `exp`, `nbf` and `iat`, at most 30 s.
    #[arg(long, global = true, env = "PARTY_CENTER_JWT_LEEWAY", default_value = "30s", value_parser = parse_duration)]
    pub jwt_leeway: Duration,

    /// Log filter, in `RUST_LOG` syntax.
    #[arg(long, global = true, env = "PARTY_CENTER_LOG", default_value = "info")]
    pub log: String,

    /// `auto`, `json` or `text`.
    #[arg(
        long,
        global = true,
        env = "PARTY_CENTER_LOG_FORMAT",
        value_enum,
        default_value = "auto"
    )]
    pub log_format: LogFormat,
}

/// Settings only `serve` reads.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address and port to listen on.
    #[arg(long, env = "PARTY_CENTER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Serve `/metrics` on this address only (an internal network), and nothing else
    /// there; the public address then answers 404 for it. Unset: `/metrics` is on the
    /// public address.
    #[arg(long, env = "PARTY_CENTER_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Apply pending migrations at start.
    #[arg(long, env = "PARTY_CENTER_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate: bool,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "PARTY_CENTER_WORKERS")]
    pub workers: Option<usize>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PARTY_CENTER_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// How long in-flight requests may take to finish after SIGTERM.
    #[arg(long, env = "PARTY_CENTER_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// How long `/readyz` answers 503 before the listener closes on SIGTERM, so that a
    /// load balancer stops sending new requests first.
    #[arg(long, env = "PARTY_CENTER_SHUTDOWN_DELAY", default_value = "0s", value_parser = parse_duration)]
    pub shutdown_delay: Duration,
}

/// Parses `30s`, `8h`, `1h 30m` and the like.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration like 30s or 8h: {e}"))
}

#[derive(clap::Parser)]
struct EnvOnly<T: Args> {
    #[command(flatten)]
    inner: T,
}

impl Settings {
    /// The settings from the environment and defaults alone, as the command reads them
    /// with no flags (for embedding and tests).
    pub fn from_env() -> Result<Settings, clap::Error> {
        <EnvOnly<Settings> as clap::Parser>::try_parse_from(["party-center"]).map(|c| c.inner)
    }
}

impl ServeSettings {
    /// The serve settings from the environment and defaults alone.
    pub fn from_env() -> Result<ServeSettings, clap::Error> {
        <EnvOnly<ServeSettings> as clap::Parser>::try_parse_from(["party-center"]).map(|c| c.inner)
    }
}

/// The longest clock leeway we accept for token times.
pub const MAX_JWT_LEEWAY: Duration = Duration::from_secs(30);

impl Settings {
    /// Checks the settings that depend on each other; fails fast with one clear line.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.jwt_leeway > MAX_JWT_LEEWAY {
            bail!(
                "PARTY_CENTER_JWT_LEEWAY is {:?}; at most 30s is allowed",
                self.jwt_leeway
            );
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < 32
        {
            bail!("PARTY_CENTER_JWT_SECRET must be at least 32 bytes long");
        }
        if self.db_max_connections == 0 {
            bail!("PARTY_CENTER_DB_MAX_CONNECTIONS must be at least 1");
        }
        if self.env == Environment::Production {
            if self.database_url.is_none() {
                bail!(
                    "production mode needs DATABASE_URL (the embedded database is for development)"
                );
            }
            if !self.has_explicit_keys() {
                bail!(
                    "production mode needs explicit JWT keys: set PARTY_CENTER_JWT_SECRET, PARTY_CENTER_JWT_RSA_KEYS, PARTY_CENTER_JWT_ED25519_KEYS or PARTY_CENTER_JWT_JWKS_FILE"
                );
            }
        }
        Ok(())
    }

    /// Whether any verification key was configured, rather than generated.
    pub fn has_explicit_keys(&self) -> bool {
        self.jwt_secret.is_some()
            || !self.jwt_rsa_keys.is_empty()
            || !self.jwt_ed25519_keys.is_empty()
            || self.jwt_jwks_file.is_some()
    }

    /// The data folder as an absolute path.
    pub fn data_dir_abs(&self) -> anyhow::Result<PathBuf> {
        std::path::absolute(&self.data_dir)
            .with_context(|| format!("cannot resolve data folder {}", self.data_dir.display()))
    }

    /// Whether log lines are JSON.
    pub fn json_logs(&self) -> bool {
        match self.log_format {
            LogFormat::Json => true,
            LogFormat::Text => false,
            LogFormat::Auto => self.env == Environment::Production,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    /// Settings from `args` alone: the environment's database and keys are ignored so
    /// that a developer's shell cannot change the outcome.
    fn parse(args: &[&str]) -> Settings {
        let mut all = vec!["party-center"];
        all.extend_from_slice(args);
        let mut s = Cli::try_parse_from(all).unwrap().settings;
        if !args.contains(&"--database-url") {
            s.database_url = None;
        }
        if !args.contains(&"--jwt-secret") {
            s.jwt_secret = None;
        }
        s
    }

    #[test]
    fn production_refuses_to_start_without_database_and_keys() {
        let s = parse(&["--env", "production"]);
        assert!(s.check().unwrap_err().to_string().contains("DATABASE_URL"));
        let s = parse(&["--env", "production", "--database-url", "postgres://db/x"]);
        assert!(s.check().unwrap_err().to_string().contains("JWT keys"));
        let s = parse(&[
            "--env",
            "production",
            "--database-url",
            "postgres://db/x",
            "--jwt-secret",
            "0123456789abcdef0123456789abcdef",
        ]);
        s.check().unwrap();
    }

    #[test]
    fn short_secrets_and_long_leeways_are_refused() {
        assert!(parse(&["--jwt-secret", "short"]).check().is_err());
        assert!(parse(&["--jwt-leeway", "31s"]).check().is_err());
        parse(&["--jwt-leeway", "5s"]).check().unwrap();
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let s = parse(&[
            "--database-url",
            "postgres://u:hunter2hunter2@db/x",
            "--jwt-secret",
            "0123456789abcdef0123456789abcdef-very-secret",
        ]);
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("very-secret"));
    }
}
