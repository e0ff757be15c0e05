//! The AWS client set-up every network part shares (STS verification, the blast radius's IAM
//! calls, the S3 source): the standard configuration chain with keysweep's HTTP client,
//! timeouts and retries, and one way to turn an SDK error into a short reason. Feature `verify`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// Error codes AWS answers when the signing key itself is not (or no longer) valid.
const REJECTED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
];

/// Why one AWS call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// AWS rejected the signing credentials (`code`: `InvalidClientTokenId`, ...).
    Rejected { code: String, message: String },
    /// Anything else: network, timeout, throttled past the retries, access denied, ...
    Failed(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Rejected { code, message } if message.is_empty() => write!(f, "{code}"),
            CallError::Rejected { code, message } => write!(f, "{code}: {message}"),
            CallError::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Timeouts and retries of every AWS call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Time for one attempt (connect included).
    pub attempt_timeout: Duration,
    /// Attempts in all, throttling and transient errors retried with exponential backoff.
    pub max_attempts: u32,
}

/// Loads the standard AWS configuration (operator credentials, region, endpoint overrides)
/// with keysweep's HTTP client, timeouts and retry policy.
pub(crate) async fn load_config(limits: Limits) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let connect = limits.attempt_timeout.min(Duration::from_secs(5));
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect)
                .operation_attempt_timeout(limits.attempt_timeout)
                .operation_timeout(limits.attempt_timeout * (limits.max_attempts + 1))
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(limits.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .load()
        .await;
    // STS answers for every account in any region: without a configured one, use us-east-1.
    if config.region().is_none() {
        return config
            .into_builder()
            .region(Region::new("us-east-1"))
            .build();
    }
    config
}

pub(crate) fn classify<E>(err: SdkError<E>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // The SDK parses the standard `<ErrorResponse><Error><Code>` body; fall back to the raw
    // body for servers that nest it differently (moto writes `<Errors><Error>`).
    let raw = err.raw_response();
    let body = raw
        .and_then(|r| r.body().bytes())
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let code = err
        .code()
        .map(str::to_string)
        .or_else(|| xml_text(&body, "Code"));
    if let Some(code) = code {
        let message = err
            .message()
            .map(str::to_string)
            .or_else(|| xml_text(&body, "Message"))
            .unwrap_or_default();
        if REJECTED_CODES.contains(&code.as_str()) {
            return CallError::Rejected { code, message };
        }
        return CallError::Failed(if message.is_empty() {
            code
        } else {
            format!("{code}: {message}")
        });
    }
    if let Some(status) = raw.map(|r| r.status().as_u16()) {
        return CallError::Failed(format!("HTTP {status} without an error code"));
    }
    CallError::Failed(match &err {
        SdkError::TimeoutError(_) => "timed out".to_string(),
        _ => error_chain(&err),
    })
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    let text = xml[start..end].trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `outer: inner: innermost`, each message once.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let msg = e.to_string();
        if !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_finds_nested_codes() {
        let moto = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>\
                    <Message>The security token included in the request is invalid.</Message>\
                    </Error></Errors></ErrorResponse>";
        assert_eq!(
            xml_text(moto, "Code").as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(
            xml_text(moto, "Message").as_deref(),
            Some("The security token included in the request is invalid.")
        );
        assert_eq!(xml_text("<Code></Code>", "Code"), None);
        assert_eq!(xml_text("<html>500</html>", "Code"), None);
    }
}
