//! Who is calling: the client IP (behind trusted reverse proxies, the right-most
//! `X-Forwarded-For` address that is not a proxy) and the user agent, as the use cases'
//! [`Caller`]. The header is believed only when the peer itself is a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::services::{Actor, Caller};
use crate::state::AppState;

impl FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer.map(|peer| client_ip(peer, &parts.headers, &state.config.trusted_proxies));
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Ok(Caller {
            actor: Actor::Anonymous,
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        })
    }
}

/// The client's address: the peer itself, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not one (each proxy appends the address it
/// saw, so everything left of the first untrusted hop is the client's own claim).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(peer, &headers("1.2.3.4"), &trusted), peer);
        assert_eq!(client_ip(peer, &headers("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn right_most_untrusted_hop_is_the_client() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(peer, &headers("6.6.6.6, 198.51.100.7, 10.0.0.2"), &trusted);
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        let only_proxies = client_ip(peer, &headers("10.0.0.3"), &trusted);
        assert_eq!(only_proxies, "10.0.0.3".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
    }
}
