//! Cross-cutting middleware: error pages rendered from [`ErrorPage`] extensions, request
//! logging that never records query strings, cookies, passwords or tokens, and the panic
//! safety net.

use std::any::Any;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{ErrorCause, ErrorPage};
use crate::state::AppState;

/// Counts each routed request by its route pattern (never the raw path, which would make a
/// label per token or id) and status, and records its latency.
pub async fn record_metrics(
    route: axum::extract::MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let route = route.as_str().to_string();
    let status = response.status().as_u16().to_string();
    metrics::histogram!(crate::metrics::HTTP_DURATION, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(crate::metrics::HTTP_REQUESTS, "route" => route, "status" => status)
        .increment(1);
    response
}

/// Answers 404 to a path holding an encoded NUL (`%00`): no page or object is named so, and
/// PostgreSQL cannot even compare text holding one, so it must not reach a lookup.
pub async fn refuse_nul_paths(request: Request, next: Next) -> Response {
    let path = request.uri().path().as_bytes();
    if path.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
        return crate::error::AppError::NotFound.into_response();
    }
    next.run(request).await
}

/// Turns [`ErrorPage`] extensions into HTML pages and logs server-side causes.
pub async fn render_error_pages(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    if let Some(cause) = response.extensions_mut().remove::<ErrorCause>() {
        tracing::error!(%path, cause = %cause.0, "request failed");
    }
    let Some(page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let status = response.status();
    let html = state
        .templates
        .render("error.html", &page)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "error template failed");
            format!("<!doctype html><title>{0}</title><h1>{0}</h1>", status)
        });
    let mut rendered = (status, Html(html)).into_response();
    rendered
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in response.headers() {
        if name == header::SET_COOKIE || name == header::WWW_AUTHENTICATE {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// Request logs: method, path (no query string), status and latency; one access line per
/// request at info when `access` (`log_access`), otherwise at debug.
pub fn trace_layer(
    access: bool,
) -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    impl Fn(&Request<Body>) -> tracing::Span + Clone,
> {
    TraceLayer::new_for_http()
        .make_span_with(|request: &Request<Body>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        })
        .on_response(
            DefaultOnResponse::new()
                .level(if access { Level::INFO } else { Level::DEBUG })
                .latency_unit(tower_http::LatencyUnit::Micros),
        )
}

/// A panic becomes an opaque 500 (and is logged) rather than a dropped connection.
pub fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response {
    let detail = cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
}
