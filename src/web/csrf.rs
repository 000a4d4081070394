//! CSRF protection for the hosted forms (login, logout, consent, sign-out confirmation). Every
//! hosted POST takes the [`CheckedForm`] extractor, which makes two checks:
//!
//! - **Where the form was sent from.** A POST whose `Origin` (or, without one, `Referer`)
//!   names a site other than the issuer is refused; `Origin: null` counts as another site.
//!   With neither header the token alone decides.
//! - **A token the server issued for this browser.** A random per-browser value lives in an
//!   HttpOnly, SameSite=Lax cookie (`__Host-` prefixed behind https); the form carries
//!   HMAC-SHA256(CSRF key, that value). Equal cookie and form values prove nothing (an
//!   attacker can plant both), so the token is recomputed and compared in constant time: a
//!   value without its MAC, or another browser's token, does not match. The key is derived
//!   from the master key, so every node computes the same tokens without shared storage. The
//!   value is replaced at sign-in ([`rotate`]), so a token captured before sign-in is dead
//!   after it.
//!
//! Protocol endpoints that other sites POST to by design (`/authorize`, `/token`, `/revoke`,
//! `/introspect`, `/end-session`) must not use [`CheckedForm`]: their callers are other sites.
//! This module owns the CSRF cookie only; it must not touch the session cookie.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Origin, Url};

use crate::auth::secret;
use crate::config::Config;
use crate::error::AppError;
use crate::oidc::params::Params;
use crate::signing::MasterKey;
use crate::state::AppState;

/// The purpose the CSRF key is derived for. Changing it invalidates every form already shown.
const KEY_PURPOSE: &str = "tessera csrf v1";

/// The length of a per-browser value from [`secret::generate`] (256 bits, base64url).
const VALUE_LEN: usize = 43;

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

/// What the CSRF checks need: the server's CSRF key, the cookie flavour and the issuer's
/// origin. Built once at start; part of [`AppState`].
#[derive(Clone)]
pub struct Csrf {
    /// HMAC-SHA256 already keyed with the CSRF key; cloned for each token.
    mac: Hmac<Sha256>,
    /// Whether cookies are `Secure` and `__Host-` prefixed (the issuer is https).
    secure: bool,
    /// scheme://host:port of the issuer: the only site hosted forms may be sent from.
    origin: Origin,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csrf")
            .field("secure", &self.secure)
            .field("origin", &self.origin.ascii_serialization())
            .finish_non_exhaustive()
    }
}

impl Csrf {
    /// The CSRF protection of this server: its key is derived from the master key, so every
    /// node sharing the master key accepts the others' tokens.
    pub fn new(master: &MasterKey, config: &Config) -> anyhow::Result<Csrf> {
        let key = master.derive_subkey(KEY_PURPOSE)?;
        Csrf::with_key(&key, &config.issuer, config.secure_cookies)
    }

    fn with_key(key: &[u8; 32], issuer: &str, secure: bool) -> anyhow::Result<Csrf> {
        let mac =
            Hmac::<Sha256>::new_from_slice(key).map_err(|e| anyhow::anyhow!("CSRF key: {e}"))?;
        let origin = Url::parse(issuer)
            .map_err(|e| anyhow::anyhow!("issuer {issuer} is not a URL: {e}"))?
            .origin();
        Ok(Csrf {
            mac,
            secure,
            origin,
        })
    }

    /// The form token for a per-browser value.
    fn token_for(&self, browser_value: &str) -> String {
        let tag = self
            .mac
            .clone()
            .chain_update(browser_value.as_bytes())
            .finalize()
            .into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    fn browser_cookie(&self, value: String) -> Cookie<'static> {
        Cookie::build((cookie_name(self.secure), value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .build()
    }

    /// The per-browser value this request carries, if it has the shape the server issues.
    fn browser_value<'a>(&self, jar: &'a CookieJar) -> Option<&'a str> {
        jar.get(cookie_name(self.secure))
            .map(|c| c.value())
            .filter(|v| v.len() == VALUE_LEN)
    }

    /// Whether a header value (an `Origin` or a `Referer`) names the issuer's origin.
    /// `null`, opaque origins and anything unparsable name another site.
    fn is_own_origin(&self, value: &HeaderValue) -> bool {
        value
            .to_str()
            .ok()
            .and_then(|v| Url::parse(v).ok())
            .is_some_and(|url| url.origin() == self.origin)
    }

    /// Refuses a request sent from another site: `Origin` decides when present, else
    /// `Referer`; with neither, the token alone decides (OWASP CSRF Prevention Cheat Sheet,
    /// "Verifying Origin with standard headers").
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), AppError> {
        let origins = headers.get_all(header::ORIGIN);
        let sources = if origins.iter().next().is_some() {
            origins
        } else {
            headers.get_all(header::REFERER)
        };
        match sources.iter().find(|value| !self.is_own_origin(value)) {
            None => Ok(()),
            Some(foreign) => {
                // Logged so that an operator who opens Tessera at another address than the
                // issuer can see why every form is refused.
                tracing::info!(
                    from = ?foreign,
                    expected = %self.origin.ascii_serialization(),
                    "refused a form sent from another site"
                );
                Err(AppError::CrossSiteForm)
            }
        }
    }

    /// Checks the `csrf_token` field against the MAC of this browser's value.
    fn check_token(&self, jar: &CookieJar, params: &Params) -> Result<(), AppError> {
        let valid = match (self.browser_value(jar), params.get("csrf_token")) {
            (Some(value), Some(presented)) => {
                secret::constant_time_eq(&self.token_for(value), presented)
            }
            _ => false,
        };
        if valid { Ok(()) } else { Err(AppError::Csrf) }
    }
}

/// The CSRF token for a form shown to this browser, setting the per-browser cookie when it is
/// missing (first visit, or before sign-in).
pub fn token(jar: CookieJar, csrf: &Csrf) -> (CookieJar, String) {
    if let Some(value) = csrf.browser_value(&jar) {
        let token = csrf.token_for(value);
        return (jar, token);
    }
    let value = secret::generate();
    let token = csrf.token_for(&value);
    (jar.add(csrf.browser_cookie(value)), token)
}

/// Gives the browser a fresh per-browser value, so every token shown before is refused.
/// Called at sign-in: a token an attacker learned before then (for example by planting the
/// cookie) must not carry over into the signed-in session.
pub fn rotate(jar: CookieJar, csrf: &Csrf) -> CookieJar {
    jar.add(csrf.browser_cookie(secret::generate()))
}

/// A submitted hosted-page form that was sent from the issuer's own site (or said nothing
/// about where from) and carries this browser's CSRF token: the extractor of every hosted
/// POST. Protocol endpoints must not use it.
pub struct CheckedForm(pub Params);

impl FromRequest<AppState> for CheckedForm {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let (parts, body) = request.into_parts();
        // Checked before the body is read: a cross-site post is refused whatever it carries.
        state.csrf.check_origin(&parts.headers)?;
        let jar = CookieJar::from_headers(&parts.headers);
        let params = crate::web::form::body(&parts.headers, body).await?;
        state.csrf.check_token(&jar, &params)?;
        Ok(CheckedForm(params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csrf(key: u8) -> Csrf {
        Csrf::with_key(&[key; 32], "https://id.example.test", true).expect("valid test key")
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn tokens_depend_on_the_key_and_the_browser_value() {
        let value = secret::generate();
        let token = csrf(1).token_for(&value);
        assert_eq!(token.len(), 43);
        assert_eq!(token, csrf(1).token_for(&value), "every node agrees");
        assert_ne!(token, csrf(2).token_for(&value), "another key");
        assert_ne!(
            token,
            csrf(1).token_for(&secret::generate()),
            "another browser"
        );
        assert_ne!(token, value, "the token is not the cookie value");
    }

    #[test]
    fn only_the_issuer_origin_is_accepted() {
        let csrf = csrf(1);
        let ok = |pairs: &[(header::HeaderName, &str)]| csrf.check_origin(&headers(pairs)).is_ok();
        assert!(ok(&[]), "neither header: the token decides");
        assert!(ok(&[(header::ORIGIN, "https://id.example.test")]));
        assert!(ok(&[(header::ORIGIN, "https://ID.example.test:443")]));
        assert!(ok(&[(
            header::REFERER,
            "https://id.example.test/login?x=1"
        )]));
        for foreign in [
            "null",
            "https://evil.example",
            "http://id.example.test",
            "https://id.example.test:8443",
            "https://id.example.test.evil.example",
            "not a url",
        ] {
            assert!(!ok(&[(header::ORIGIN, foreign)]), "Origin {foreign}");
            assert!(!ok(&[(header::REFERER, foreign)]), "Referer {foreign}");
        }
        // Origin decides when present, whatever Referer says.
        assert!(!ok(&[
            (header::ORIGIN, "https://evil.example"),
            (header::REFERER, "https://id.example.test/login"),
        ]));
        assert!(ok(&[
            (header::ORIGIN, "https://id.example.test"),
            (header::REFERER, "https://evil.example/"),
        ]));
        // Two Origin headers must both be ours.
        assert!(!ok(&[
            (header::ORIGIN, "https://id.example.test"),
            (header::ORIGIN, "https://evil.example"),
        ]));
    }
}
