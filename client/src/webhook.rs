//! For receivers written in Rust: checking that a web hook request came from Ratel.
//!
//! ```
//! # fn demo(headers: &reqwest::header::HeaderMap, body: &[u8]) {
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! match ratel_client::webhook::verify(secret, headers, body) {
//!     Ok(event) => println!("{} fired {}", event["task"]["name"], event["trigger"]),
//!     Err(err) => eprintln!("rejected: {err}"),
//! }
//! # }
//! ```

use reqwest::header::HeaderMap;

/// Why a request was rejected.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The secret is not `whsec_` + base64.
    #[error("invalid secret: {0}")]
    Secret(String),
    /// Missing or malformed headers, a timestamp more than 5 minutes off, or no signature
    /// that matches.
    #[error("signature does not verify: {0}")]
    Signature(String),
    /// Signed, but not a JSON document.
    #[error("the body is not JSON: {0}")]
    Body(#[from] serde_json::Error),
}

/// Verifies the Standard Webhooks signature of a request (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`) with the endpoint's secret, and returns the event (a `WebhookEvent`).
/// During a secret rotation a request carries a signature for each secret; either verifies.
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, VerifyError> {
    let hook = standardwebhooks::Webhook::new(secret)
        .map_err(|e| VerifyError::Secret(format!("{e:?}")))?;
    hook.verify(body, headers)
        .map_err(|e| VerifyError::Signature(format!("{e:?}")))?;
    Ok(serde_json::from_slice(body)?)
}
