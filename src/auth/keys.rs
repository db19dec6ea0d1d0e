//! Verification keys and token validation.
//!
//! The algorithm allow-list is pinned: HS256 (a shared secret of at least 32 bytes),
//! RS256 and EdDSA (public keys from PEM files or a JWKS document, chosen by `kid`).
//! The token's header picks the key family, and a key is only ever used with its own
//! algorithm, so an HS256 token "signed" with an RSA public key finds no key to match.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Caller, Role, Scope};
use crate::config::Settings;
use crate::error::AuthFailure;

/// The claims of a token, as sent and as checked.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iss: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    town: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<Uuid>,
}

/// `aud` may be one string or a list of them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// All keys the service verifies tokens with, and the HS256 key it mints with.
pub struct KeyStore {
    hs256: Option<(DecodingKey, EncodingKey)>,
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("hs256", &self.hs256.is_some())
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// What `party-center token` puts into a token.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// The role the token grants: staff, committee, member, county or admin.
    pub role: Role,
    /// Who the token stands for.
    pub sub: String,
    /// The town (staff, committee, member).
    pub town: Option<Uuid>,
    /// The county code (county).
    pub county: Option<String>,
    /// The member's own record (member).
    pub member_id: Option<Uuid>,
    /// How long it is valid.
    pub ttl: Duration,
}

const DEV_SECRET_FILE: &str = "jwt-secret";

/// What to do when no key is configured and the data folder has no development secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevKey {
    /// Create it: `serve`, once its other checks have passed.
    Create,
    /// Refuse, saying where the key was looked for: `token`, so that a token is never
    /// signed with a fresh key no server knows.
    MustExist,
}

impl KeyStore {
    /// Loads the configured keys. In development, with no key configured, an HS256
    /// secret in the data folder (`jwt-secret`) is used: `serve` creates it on first
    /// start ([`DevKey::Create`]), `token` only reads it.
    pub fn from_settings(settings: &Settings, dev_key: DevKey) -> anyhow::Result<KeyStore> {
        let secret = match &settings.jwt_secret {
            Some(s) => Some(s.clone()),
            None if !settings.has_explicit_keys() => {
                Some(dev_secret(&settings.data_dir_abs()?, dev_key)?)
            }
            None => None,
        };
        let mut store = KeyStore {
            hs256: None,
            by_kid: HashMap::new(),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            leeway: settings.jwt_leeway.as_secs(),
        };
        if let Some(secret) = secret {
            store = store.with_hs256_secret(secret.expose_secret().as_bytes())?;
        }
        for spec in &settings.jwt_rsa_keys {
            let (kid, pem) = read_kid_pem(spec)?;
            let key = DecodingKey::from_rsa_pem(&pem)
                .with_context(|| format!("RSA public key `{kid}` is not a valid PEM"))?;
            store.by_kid.insert(kid, (Algorithm::RS256, key));
        }
        for spec in &settings.jwt_ed25519_keys {
            let (kid, pem) = read_kid_pem(spec)?;
            let key = DecodingKey::from_ed_pem(&pem)
                .with_context(|| format!("Ed25519 public key `{kid}` is not a valid PEM"))?;
            store.by_kid.insert(kid, (Algorithm::EdDSA, key));
        }
        if let Some(path) = &settings.jwt_jwks_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read JWKS file {}", path.display()))?;
            store.add_jwks(&text)?;
        }
        Ok(store)
    }

    /// A key store that only knows an HS256 secret (tests, tools).
    pub fn new(issuer: &str, audience: &str, leeway: Duration) -> KeyStore {
        KeyStore {
            hs256: None,
            by_kid: HashMap::new(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway: leeway.as_secs(),
        }
    }

    /// Adds the HS256 secret (at least 32 bytes).
    pub fn with_hs256_secret(mut self, secret: &[u8]) -> anyhow::Result<KeyStore> {
        if secret.len() < 32 {
            bail!("the HS256 secret must be at least 32 bytes long");
        }
        self.hs256 = Some((
            DecodingKey::from_secret(secret),
            EncodingKey::from_secret(secret),
        ));
        Ok(self)
    }

    /// Adds the RS256 and Ed25519 keys of a JWKS document; other key types are refused.
    pub fn add_jwks(&mut self, json: &str) -> anyhow::Result<()> {
        let set: JwkSet = serde_json::from_str(json).context("the JWKS document is not valid")?;
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .context("every key in the JWKS document needs a `kid`")?;
            let alg = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    Algorithm::EdDSA
                }
                _ => bail!(
                    "JWKS key `{kid}`: only RSA (RS256) and Ed25519 (EdDSA) keys are accepted"
                ),
            };
            if let Some(declared) = jwk.common.key_algorithm
                && declared.to_string() != format!("{alg:?}")
            {
                bail!(
                    "JWKS key `{kid}` declares alg {declared}, but only {alg:?} is allowed for it"
                );
            }
            let key = DecodingKey::from_jwk(jwk)
                .with_context(|| format!("JWKS key `{kid}` is not usable"))?;
            self.by_kid.insert(kid, (alg, key));
        }
        Ok(())
    }

    /// Verifies a token and turns its claims into a [`Caller`].
    ///
    /// A refusal is logged with its reason (never the token), so that an operator can
    /// tell a wrong key from an expired token: the client only sees `invalid_token`.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthFailure> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refused(AuthFailure::Invalid, "not a JWT"))?;
        let key =
            match header.alg {
                Algorithm::HS256 => self.hs256.as_ref().map(|(d, _)| d).ok_or_else(|| {
                    refused(AuthFailure::Invalid, "HS256, but no secret is configured")
                }),
                Algorithm::RS256 | Algorithm::EdDSA => header
                    .kid
                    .as_deref()
                    .and_then(|kid| self.by_kid.get(kid))
                    .filter(|(alg, _)| *alg == header.alg)
                    .map(|(_, key)| key)
                    .ok_or_else(|| refused(AuthFailure::Invalid, "unknown kid for its algorithm")),
                _ => Err(refused(AuthFailure::Invalid, "algorithm not accepted")),
            }?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation(header.alg))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => refused(AuthFailure::Expired, "expired"),
                ErrorKind::ImmatureSignature => refused(AuthFailure::NotYetValid, "not yet valid"),
                ErrorKind::InvalidSignature => refused(
                    AuthFailure::Invalid,
                    "bad signature (signed with another key)",
                ),
                ErrorKind::InvalidIssuer => refused(AuthFailure::Invalid, "wrong iss"),
                ErrorKind::InvalidAudience => refused(AuthFailure::Invalid, "wrong aud"),
                ErrorKind::MissingRequiredClaim(_) => {
                    refused(AuthFailure::Invalid, "a required claim is missing")
                }
                _ => refused(AuthFailure::Invalid, "claims do not parse"),
            })?
            .claims;
        let now = chrono::Utc::now().timestamp();
        if claims.iat > now + self.leeway as i64 {
            return Err(refused(AuthFailure::Invalid, "issued in the future"));
        }
        let scope = match (claims.role, claims.town, claims.county, claims.member_id) {
            (Role::Staff | Role::Committee, Some(town), _, _) => Scope::Town(town),
            (Role::Member, Some(town), _, Some(member_id)) => Scope::Member { town, member_id },
            (Role::County, _, Some(county), _) if !county.is_empty() => Scope::County(county),
            (Role::Admin, _, _, _) => Scope::Global,
            _ => return Err(refused(AuthFailure::Invalid, "claims do not fit the role")),
        };
        Ok(Caller {
            sub: claims.sub,
            role: claims.role,
            scope,
            request_id: None,
        })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.algorithms = vec![alg];
        v.leeway = self.leeway;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        v
    }

    /// Mints an HS256 token with the configured secret.
    pub fn mint(&self, req: &MintRequest) -> anyhow::Result<String> {
        let (_, key) = self.hs256.as_ref().context(
            "minting needs an HS256 secret (PARTY_CENTER_JWT_SECRET, or the development key)",
        )?;
        match req.role {
            Role::Staff | Role::Committee if req.town.is_none() => {
                bail!("a {} token needs --town", req.role.as_str())
            }
            Role::Member if req.town.is_none() || req.member_id.is_none() => {
                bail!("a member token needs --town and --member-id")
            }
            Role::County if req.county.as_deref().is_none_or(str::is_empty) => {
                bail!("a county token needs --county")
            }
            _ => {}
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: req.sub.clone(),
            role: req.role,
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            exp: now + i64::try_from(req.ttl.as_secs()).context("ttl too long")?,
            iat: now,
            nbf: Some(now),
            town: req.town,
            county: req.county.clone(),
            member_id: req.member_id,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            key,
        )?)
    }
}

/// Reads `kid=path.pem`.
fn read_kid_pem(spec: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let (kid, path) = spec
        .split_once('=')
        .filter(|(kid, path)| !kid.is_empty() && !path.is_empty())
        .with_context(|| format!("key `{spec}` must be written as kid=path.pem"))?;
    let pem = std::fs::read(path).with_context(|| format!("cannot read key file {path}"))?;
    Ok((kid.to_owned(), pem))
}

/// Logs why a token was refused (no part of the token itself) and returns `failure`.
fn refused(failure: AuthFailure, reason: &'static str) -> AuthFailure {
    tracing::info!(reason, "bearer token refused");
    failure
}

/// The development signing secret: created once (mode 0600) in the data folder.
fn dev_secret(data_dir: &Path, dev_key: DevKey) -> anyhow::Result<SecretString> {
    let path = data_dir.join(DEV_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(SecretString::from(s.trim().to_owned())),
        Ok(_) => bail!(
            "{} is shorter than 32 bytes: delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dev_key == DevKey::Create => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no signing key: PARTY_CENTER_JWT_SECRET is not set and {} does not exist. \
             `party-center serve` creates that file on its first start: run this command \
             with the same --data-dir (or PARTY_CENTER_DATA_DIR) as the server, or set \
             PARTY_CENTER_JWT_SECRET for both; --create-key makes a new key here, which \
             a running server does not know until it restarts",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data folder {}", data_dir.display()))?;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::info!(path = %path.display(), "created a development signing key");
    Ok(SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> KeyStore {
        KeyStore::new("iss", "aud", Duration::from_secs(30))
            .with_hs256_secret(&[7u8; 32])
            .unwrap()
    }

    fn mint(
        role: Role,
        town: Option<Uuid>,
        county: Option<&str>,
        member: Option<Uuid>,
    ) -> anyhow::Result<String> {
        store().mint(&MintRequest {
            role,
            sub: "tester".into(),
            town,
            county: county.map(str::to_owned),
            member_id: member,
            ttl: Duration::from_secs(60),
        })
    }

    #[test]
    fn minted_tokens_verify_with_their_scope() {
        let town = Uuid::now_v7();
        let caller = store()
            .verify(&mint(Role::Committee, Some(town), None, None).unwrap())
            .unwrap();
        assert_eq!(caller.role, Role::Committee);
        assert_eq!(caller.scope, Scope::Town(town));
        let caller = store()
            .verify(&mint(Role::County, None, Some("320114"), None).unwrap())
            .unwrap();
        assert_eq!(caller.scope, Scope::County("320114".into()));
        let admin = store()
            .verify(&mint(Role::Admin, None, None, None).unwrap())
            .unwrap();
        assert_eq!(admin.scope, Scope::Global);
    }

    #[test]
    fn minting_refuses_tokens_missing_their_role_claims() {
        assert!(mint(Role::Staff, None, None, None).is_err());
        assert!(mint(Role::Member, Some(Uuid::now_v7()), None, None).is_err());
        assert!(mint(Role::County, None, None, None).is_err());
    }

    #[test]
    fn a_missing_development_key_is_created_only_when_asked() {
        let dir = std::env::temp_dir().join(format!("pc-devkey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let e = dev_secret(&dir, DevKey::MustExist).unwrap_err().to_string();
        assert!(e.contains("jwt-secret") && e.contains("--data-dir"), "{e}");
        assert!(!dir.exists(), "refusing wrote nothing");
        let made = dev_secret(&dir, DevKey::Create).unwrap();
        let again = dev_secret(&dir, DevKey::MustExist).unwrap();
        assert_eq!(made.expose_secret(), again.expose_secret());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_shorter_than_32_bytes_are_refused() {
        assert!(
            KeyStore::new("i", "a", Duration::ZERO)
                .with_hs256_secret(&[1u8; 31])
                .is_err()
        );
    }

    #[test]
    fn a_token_for_another_issuer_or_audience_is_invalid() {
        let token = mint(Role::Admin, None, None, None).unwrap();
        let other_iss = KeyStore::new("other", "aud", Duration::ZERO)
            .with_hs256_secret(&[7u8; 32])
            .unwrap();
        assert_eq!(other_iss.verify(&token).unwrap_err(), AuthFailure::Invalid);
        let other_aud = KeyStore::new("iss", "other", Duration::ZERO)
            .with_hs256_secret(&[7u8; 32])
            .unwrap();
        assert_eq!(other_aud.verify(&token).unwrap_err(), AuthFailure::Invalid);
    }
}
