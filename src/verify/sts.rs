//! The network half of verification: STS calls through `aws-sdk-sts` on a tokio runtime that
//! lives only here. Endpoint, region and the operator's credentials come from the standard
//! AWS configuration chain (`AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_PROFILE`, SSO, ...), exactly as the AWS SDKs read them.

use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;

pub(crate) use crate::aws::{classify, load_config, CallError, Limits};

/// What GetCallerIdentity says about the signing credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub account: Option<String>,
    pub arn: Option<String>,
}

/// An STS client signing with the operator's own credentials.
pub(super) fn operator_client(config: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(config)
}

/// An STS client signing with a found key (and its session token, for temporary keys).
pub(super) fn found_key_client(
    config: &SdkConfig,
    key_id: &str,
    secret: &str,
    session_token: Option<&str>,
) -> aws_sdk_sts::Client {
    let credentials = Credentials::new(
        key_id,
        secret,
        session_token.map(str::to_string),
        None,
        "keysweep-found-key",
    );
    let conf = aws_sdk_sts::config::Builder::from(config)
        .credentials_provider(credentials)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// STS GetAccessKeyInfo: the account that owns `key_id` (signed by the client's credentials).
pub(super) async fn access_key_info(
    client: &aws_sdk_sts::Client,
    key_id: &str,
) -> Result<String, CallError> {
    let out = client
        .get_access_key_info()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(classify)?;
    out.account()
        .map(str::to_string)
        .ok_or_else(|| CallError::Failed("GetAccessKeyInfo answered without an account".into()))
}

/// STS GetCallerIdentity: who the client's credentials are.
pub(super) async fn caller_identity(client: &aws_sdk_sts::Client) -> Result<Identity, CallError> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(classify)?;
    Ok(Identity {
        account: out.account().map(str::to_string),
        arn: out.arn().map(str::to_string),
    })
}
