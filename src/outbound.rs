//! Requests Tessera makes to addresses others gave it (a client's `jwks_uri`, a client's
//! metadata document): bounded in time and size, following no redirects, so a slow or
//! hostile address cannot stall an endpoint or fill memory. Addresses a stranger gave are
//! fetched only from public IP addresses, checked when the name is resolved, so they
//! cannot aim Tessera at the services beside it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

use crate::domain::is_public_address;

/// Resolves names to their public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public_address(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A fetched JSON document and how long it may be kept (`Cache-Control: max-age`).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The document.
    pub body: Value,
    /// Seconds it may be kept, when the answer said.
    pub max_age: Option<i64>,
}

/// The HTTP clients for fetching what clients publish.
#[derive(Debug, Clone)]
pub struct Outbound {
    any: reqwest::Client,
    public_only: reqwest::Client,
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
        // A proxy from the environment would be what the resolver checks, not the target.
        .no_proxy()
}

/// `max-age` of a `Cache-Control` header (`no-store` and `no-cache` count as 0).
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(0);
        }
        if let Some(n) = directive.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().ok();
        }
    }
    age
}

impl Outbound {
    /// Clients whose every request ends after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Outbound> {
        Ok(Outbound {
            any: builder(timeout).build()?,
            public_only: builder(timeout)
                .dns_resolver(Arc::new(PublicOnly))
                .build()?,
        })
    }

    /// Checks that a stranger's `url` is https and, when it names an address, a public one
    /// (names are checked when they are resolved).
    fn check_public(url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !is_public_address(ip)) || parsed.scheme() != "https" {
            return Err(format!(
                "{url} is not an https address on the public internet"
            ));
        }
        Ok(())
    }

    fn client(&self, public_only: bool) -> &reqwest::Client {
        if public_only {
            &self.public_only
        } else {
            &self.any
        }
    }

    /// POSTs a form to `url`; `Ok` for a 2xx answer.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        public_only: bool,
    ) -> Result<(), String> {
        if public_only {
            Self::check_public(url)?;
        }
        let response = self
            .client(public_only)
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| format!("{url} could not be reached: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{url} answered {status}"))
        }
    }

    /// GETs `url` and parses the answer as JSON, refusing a body over `max_bytes`, a
    /// redirect or an error status; with `public_only`, only from public addresses.
    pub async fn get_json(
        &self,
        url: &str,
        max_bytes: usize,
        public_only: bool,
    ) -> Result<Fetched, String> {
        if public_only {
            // A literal address is never resolved, so it is checked here.
            Self::check_public(url)?;
        }
        let response = self
            .client(public_only)
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{url} could not be fetched: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        let max_age = max_age(response.headers());
        let body = read_json(response, url, max_bytes).await?;
        Ok(Fetched { body, max_age })
    }

    /// POSTs a form to `url` (with HTTP Basic client credentials when given, RFC 6749
    /// §2.3.1) and reads the JSON answer of at most `max_bytes`, an error answer included,
    /// with its status.
    pub async fn post_form_for_json(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        max_bytes: usize,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .any
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            // Both parts are form-urlencoded before they are joined (RFC 6749 §2.3.1).
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(encode(id), Some(encode(secret)));
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{url} could not be reached: {e}"))?;
        let status = response.status().as_u16();
        Ok((status, read_json(response, url, max_bytes).await?))
    }
}

/// The JSON body of `response`, refused beyond `max_bytes`.
async fn read_json(
    mut response: reqwest::Response,
    url: &str,
    max_bytes: usize,
) -> Result<Value, String> {
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(format!("{url} is larger than {max_bytes} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url} could not be read: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > max_bytes {
            return Err(format!("{url} is larger than {max_bytes} bytes"));
        }
    }
    serde_json::from_slice(&body).map_err(|_| format!("{url} did not answer JSON"))
}
