//! Security headers on every response (OWASP ASVS 14.4): a CSP without inline script,
//! framing forbidden, no MIME sniffing, no referrer sent to other sites, and HSTS when the
//! issuer is https.

use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::Either;
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of every page. `form-action` is left out on purpose: browsers
/// apply it to the redirect that follows a form post, which would block returning the user
/// to the client's registered redirect URI.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

type Headers = Stack<
    SetResponseHeaderLayer<HeaderValue>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<
            SetResponseHeaderLayer<HeaderValue>,
            Stack<
                SetResponseHeaderLayer<HeaderValue>,
                Stack<SetResponseHeaderLayer<HeaderValue>, Identity>,
            >,
        >,
    >,
>;

type WithHsts = Stack<Either<SetResponseHeaderLayer<HeaderValue>, Identity>, Headers>;

/// How long browsers keep to https once they saw it: one year (OWASP ASVS 14.4.5 asks for
/// at least that). Sent only when the issuer is https, since an http issuer has no https to
/// keep to; a proxy in front need not add it.
const HSTS: &str = "max-age=31536000";

/// The layer that adds the headers (unless a handler set its own); `https` adds HSTS.
pub fn security_headers(https: bool) -> ServiceBuilder<WithHsts> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    ServiceBuilder::new()
        .layer(set(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
        // even on a form post to the same site (Fetch Standard, "append a request `Origin`
        // header"), which the CSRF check must refuse. Other sites still get no referrer.
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .option_layer(https.then(|| set(header::STRICT_TRANSPORT_SECURITY, HSTS)))
}
