//! Who is calling: bearer tokens (configured as their SHA-256), users with argon2id password
//! hashes exchanged for a session token by the Flight handshake, and what each may read.
//! Secrets are compared in constant time and never logged, stored in clear or shown.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use logfusion_engine::{AuthConfig, Role};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Standard base64 with or without padding, as `Basic` credentials come.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How long a token from the handshake stays valid.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; beyond this the oldest are forgotten (their clients log in again).
const MAX_SESSIONS: usize = 10_000;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The token's or user's name (in audit lines and metrics).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The sources it may read; `None`: all.
    pub sources: Option<BTreeSet<String>>,
}

impl Principal {
    /// Whether it may read the log table `table` (and its rejects and profile tables).
    pub fn may_read(&self, table: &str) -> bool {
        self.sources.as_ref().is_none_or(|s| s.contains(table))
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` header.
    #[error("missing authorization: send `authorization: Bearer <token>`, or log in with the handshake")]
    Missing,
    /// A header that is neither `Bearer` nor `Basic`.
    #[error("unsupported authorization scheme (use Bearer, or Basic in the handshake)")]
    Scheme,
    /// A token, user or password that does not match.
    #[error("invalid credentials")]
    Invalid,
}

/// One configured token: the SHA-256 of the token.
struct TokenEntry {
    digest: [u8; 32],
    principal: Principal,
}

/// The credentials the server accepts, and the sessions the handshake opened.
pub struct Authenticator {
    tokens: Vec<TokenEntry>,
    users: HashMap<String, (String, Principal)>,
    sessions: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Authenticator {
    /// The credentials of `config`.
    pub fn new(config: &AuthConfig) -> Authenticator {
        let sources = |s: &Option<Vec<String>>| s.as_ref().map(|v| v.iter().cloned().collect());
        let tokens = config
            .tokens
            .iter()
            .filter_map(|t| {
                let mut digest = [0u8; 32];
                hex_decode(&t.token_sha256, &mut digest).then(|| TokenEntry {
                    digest,
                    principal: Principal { name: t.name.clone(), role: t.role, sources: sources(&t.sources) },
                })
            })
            .collect();
        let users = config
            .users
            .iter()
            .map(|u| {
                let principal = Principal { name: u.name.clone(), role: u.role, sources: sources(&u.sources) };
                (u.name.clone(), (u.password_hash.clone(), principal))
            })
            .collect();
        Authenticator { tokens, users, sessions: Mutex::new(HashMap::new()) }
    }

    /// Whether any credential is configured (a server without any accepts nobody).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.users.is_empty()
    }

    /// The principal of an `authorization` header value `Bearer <token>`.
    pub fn bearer(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = strip_scheme(header, "Bearer").ok_or(AuthError::Scheme)?;
        let digest = sha256(token.as_bytes());
        // Every entry is compared, whatever matches, so the time says nothing of which.
        let mut found = None;
        for entry in &self.tokens {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(entry.principal.clone());
            }
        }
        if let Some(p) = found {
            return Ok(p);
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get(&digest) {
            Some((p, since)) if since.elapsed() < SESSION_LIFETIME => Ok(p.clone()),
            Some(_) => {
                sessions.remove(&digest);
                Err(AuthError::Invalid)
            }
            None => Err(AuthError::Invalid),
        }
    }

    /// Logs in with an `authorization` header `Basic base64(user:password)`: the principal and
    /// a fresh session token for later `Bearer` calls.
    pub fn login(&self, header: Option<&str>) -> Result<(Principal, String), AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let encoded = strip_scheme(header, "Basic").ok_or(AuthError::Scheme)?;
        // Padded or not: Go's Flight client (ADBC) sends base64 without padding.
        let decoded = BASIC.decode(encoded.trim()).map_err(|_| AuthError::Invalid)?;
        let text = String::from_utf8(decoded).map_err(|_| AuthError::Invalid)?;
        let (user, password) = text.split_once(':').ok_or(AuthError::Invalid)?;
        let Some((hash, principal)) = self.users.get(user) else {
            // Verify against a throw-away hash so an unknown user costs what a known one does.
            let _ = verify_password(password, dummy_hash());
            return Err(AuthError::Invalid);
        };
        if !verify_password(password, hash) {
            return Err(AuthError::Invalid);
        }
        let token = new_secret();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, (_, since)| since.elapsed() < SESSION_LIFETIME);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, (_, since))| *since).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(sha256(token.as_bytes()), (principal.clone(), Instant::now()));
        Ok((principal.clone(), token))
    }
}

/// An argon2id hash of a random password, to verify unknown users against.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = header.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex_decode(text: &str, out: &mut [u8; 32]) -> bool {
    if text.len() != 64 {
        return false;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        match u8::from_str_radix(&text[2 * i..2 * i + 2], 16) {
            Ok(b) => *byte = b,
            Err(_) => return false,
        }
    }
    true
}

/// The lower-case hex SHA-256 of `secret`: what the config stores for a token.
pub fn token_sha256(secret: &str) -> String {
    sha256(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token: 32 bytes from the OS, base64url, prefixed `lf_`.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not something to serve without.
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    format!("lf_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use logfusion_engine::{TokenConfig, UserConfig};

    fn authenticator() -> (Authenticator, String) {
        let secret = new_secret();
        let config = AuthConfig {
            tokens: vec![TokenConfig {
                name: "analyst".into(),
                token_sha256: token_sha256(&secret),
                role: Role::Read,
                sources: Some(vec!["access".into()]),
            }],
            users: vec![UserConfig {
                name: "alice".into(),
                password_hash: hash_password("wonderland").unwrap(),
                role: Role::Admin,
                sources: None,
            }],
        };
        (Authenticator::new(&config), secret)
    }

    #[test]
    fn tokens_and_passwords_authenticate_and_nothing_else_does() {
        let (auth, secret) = authenticator();
        let p = auth.bearer(Some(&format!("Bearer {secret}"))).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("analyst", Role::Read));
        assert!(p.may_read("access") && !p.may_read("syslog"));
        assert_eq!(auth.bearer(None), Err(AuthError::Missing));
        assert_eq!(auth.bearer(Some("Bearer lf_wrong")), Err(AuthError::Invalid));
        assert_eq!(auth.bearer(Some(&format!("Token {secret}"))), Err(AuthError::Scheme));
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
        let basic = |u: &str, p: &str| format!("Basic {}", STANDARD.encode(format!("{u}:{p}")));
        let unpadded = format!("Basic {}", STANDARD_NO_PAD.encode("alice:wonderland"));
        assert_eq!(auth.login(Some(&unpadded)).unwrap().0.name, "alice", "Go clients send no padding");
        let (alice, session) = auth.login(Some(&basic("alice", "wonderland"))).unwrap();
        assert_eq!(alice.role, Role::Admin);
        assert_eq!(auth.bearer(Some(&format!("Bearer {session}"))).unwrap().name, "alice");
        assert_eq!(auth.login(Some(&basic("alice", "looking-glass"))).err(), Some(AuthError::Invalid));
        assert_eq!(auth.login(Some(&basic("bob", "wonderland"))).err(), Some(AuthError::Invalid));
    }

    #[test]
    fn secrets_are_random_and_hashes_are_argon2id() {
        assert_ne!(new_secret(), new_secret());
        assert!(new_secret().len() > 40);
        let hash = hash_password("x").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("x", &hash) && !verify_password("y", &hash));
        assert!(PasswordHash::new(dummy_hash()).is_ok(), "unknown users cost a real verification");
        assert_eq!(token_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
