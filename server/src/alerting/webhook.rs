//! The web hook channel: a signed POST per event (Standard Webhooks), no redirects followed,
//! and by default no delivery to loopback, private or link-local addresses: every address a
//! host resolves to is checked, and the connection goes to the addresses that were checked.

use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::EngineSettings;
use super::dispatch::Outcome;
use crate::storage::entities::webhook;

/// Whether deliveries may not go to `ip`: loopback, RFC 1918, link-local, unique-local
/// (fc00::/7), shared address space (100.64.0.0/10), unspecified, and the IPv4-mapped forms of
/// these.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || (a == 100 && (64..128).contains(&b))
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// The refusal, carried through reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0} is a private address (set webhook_allow_private_networks to allow it)")]
struct PrivateAddress(IpAddr);

/// Resolves with the system resolver and refuses a host any of whose addresses is private.
struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(Box::new(PrivateAddress(bad.ip())) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

/// What one web hook request carries.
pub struct Request<'a> {
    pub endpoint: &'a webhook::Model,
    pub event_id: &'a str,
    pub body: Vec<u8>,
    pub now: DateTime<Utc>,
}

impl Sender {
    pub fn new(settings: &EngineSettings) -> anyhow::Result<Sender> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.webhook_timeout)
            .connect_timeout(settings.webhook_timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .user_agent(concat!("Ratel/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private_networks {
            builder = builder.dns_resolver(Arc::new(CheckedResolver));
        }
        Ok(Sender {
            client: builder.build()?,
            allow_private: settings.allow_private_networks,
        })
    }

    /// The `webhook-signature` value: one `v1,…` per signing secret (the current one, and the
    /// previous one during the 24 h after a rotation), space-separated.
    pub fn signature(
        endpoint: &webhook::Model,
        event_id: &str,
        timestamp: i64,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let mut secrets = vec![endpoint.secret.as_str()];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
            && until > now
        {
            secrets.push(previous);
        }
        let mut signatures = Vec::new();
        for secret in secrets {
            let signer = standardwebhooks::Webhook::new(secret)
                .map_err(|e| anyhow::anyhow!("invalid signing secret: {e}"))?;
            signatures.push(
                signer
                    .sign(event_id, timestamp, body)
                    .map_err(|e| anyhow::anyhow!("signing failed: {e}"))?,
            );
        }
        Ok(signatures.join(" "))
    }

    pub async fn send(&self, req: Request<'_>) -> Outcome {
        let url = match reqwest::Url::parse(&req.endpoint.url) {
            Ok(url) => url,
            Err(e) => return Outcome::Final(None, format!("invalid URL: {e}")),
        };
        // An IP literal is never resolved, so it is checked here.
        if !self.allow_private {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_private(*ip)) {
                return Outcome::Final(None, PrivateAddress(ip).to_string());
            }
        }
        let timestamp = req.now.timestamp();
        let signature =
            match Self::signature(req.endpoint, req.event_id, timestamp, &req.body, req.now) {
                Ok(s) => s,
                Err(e) => return Outcome::Final(None, e.to_string()),
            };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", req.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(req.body)
            .send()
            .await;
        match response {
            Ok(resp) => classify(resp),
            Err(err) => {
                if let Some(refused) = find_refusal(&err) {
                    return Outcome::Final(None, refused);
                }
                let what = if err.is_timeout() {
                    "timed out".to_owned()
                } else {
                    format!("request failed: {}", error_chain(&err))
                };
                Outcome::Retry(None, what, None)
            }
        }
    }
}

fn classify(resp: reqwest::Response) -> Outcome {
    let status = resp.status();
    let code = Some(i32::from(status.as_u16()));
    if status.is_success() {
        return Outcome::Delivered(code);
    }
    if status == reqwest::StatusCode::GONE {
        return Outcome::Gone(code);
    }
    let retry_after = matches!(status.as_u16(), 429 | 503)
        .then(|| resp.headers().get("retry-after"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let error = if status.is_redirection() {
        format!("HTTP {status} (redirects are not followed)")
    } else {
        format!("HTTP {status}")
    };
    Outcome::Retry(code, error, retry_after)
}

fn find_refusal(err: &reqwest::Error) -> Option<String> {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<PrivateAddress>() {
            return Some(refused.to_string());
        }
        source = cause.source();
    }
    None
}

fn error_chain(err: &reqwest::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2001:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn signatures_verify_with_each_current_secret() {
        let now = Utc::now();
        let secret = |bytes: &[u8]| {
            use base64::Engine;
            format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        };
        let endpoint = webhook::Model {
            id: 1,
            project_id: 1,
            slug: "h".into(),
            url: "http://example.com/".into(),
            description: String::new(),
            enabled: true,
            secret: secret(&[1; 32]),
            previous_secret: Some(secret(&[2; 32])),
            previous_until: Some(now + chrono::TimeDelta::hours(24)),
            created: now,
            updated: now,
        };
        let body = br#"{"a":1}"#;
        let ts = now.timestamp();
        let header = Sender::signature(&endpoint, "evt_1", ts, body, now).unwrap();
        assert_eq!(header.split(' ').count(), 2);
        for s in [&endpoint.secret, endpoint.previous_secret.as_ref().unwrap()] {
            let mut headers = http::HeaderMap::new();
            headers.insert("webhook-id", "evt_1".parse().unwrap());
            headers.insert("webhook-timestamp", ts.to_string().parse().unwrap());
            headers.insert("webhook-signature", header.parse().unwrap());
            standardwebhooks::Webhook::new(s)
                .unwrap()
                .verify(body, &headers)
                .unwrap();
        }
        // Past the 24 h, only the current secret signs.
        let later = now + chrono::TimeDelta::hours(25);
        let header = Sender::signature(&endpoint, "evt_1", ts, body, later).unwrap();
        assert_eq!(header.split(' ').count(), 1);
    }
}
