//! CSRF protection for the hosted forms: a double-submit token. A random value lives in an
//! HttpOnly, SameSite=Lax cookie (`__Host-` prefixed behind https) and is repeated in each
//! form; a POST is accepted only when both match (compared in constant time).

use axum::extract::{FromRequest, Request};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::auth::secret;
use crate::error::AppError;
use crate::oidc::params::Params;
use crate::state::AppState;

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

/// The CSRF token for a form, creating the cookie when missing.
pub fn token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar.get(cookie_name(secure)).map(|c| c.value().to_string())
        && existing.len() == 43
    {
        return (jar, existing);
    }
    let value = secret::generate();
    let cookie = Cookie::build((cookie_name(secure), value.clone()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    (jar.add(cookie), value)
}

/// A submitted form whose CSRF token matched the cookie: the extractor of every hosted POST.
pub struct CheckedForm(pub Params);

impl FromRequest<AppState> for CheckedForm {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let (parts, body) = request.into_parts();
        let jar = CookieJar::from_headers(&parts.headers);
        let params = crate::web::form::body(&parts.headers, body).await?;
        verify(&jar, &params, state.config.secure_cookies)?;
        Ok(CheckedForm(params))
    }
}

/// Checks the `csrf_token` field of a submitted form against the cookie.
pub fn verify(jar: &CookieJar, params: &Params, secure: bool) -> Result<(), AppError> {
    let cookie = jar.get(cookie_name(secure)).map(|c| c.value());
    match (cookie, params.get("csrf_token")) {
        (Some(c), Some(f)) if c.len() == 43 && secret::constant_time_eq(c, f) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}
