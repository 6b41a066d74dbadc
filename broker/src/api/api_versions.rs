//! ApiVersions: which APIs and versions this broker speaks (KIP-35, KIP-511).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::SUPPORTED;

/// The advertised API list, straight from [`SUPPORTED`].
pub fn supported_api_keys() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min)
                .with_max_version(a.max)
        })
        .collect()
}

/// Answers ApiVersions. Client software name and version (v3+) are not
/// validated: Kafka only uses them for metrics.
pub fn handle(_request: ApiVersionsRequest, _version: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_api_keys(supported_api_keys())
        .with_finalized_features_epoch(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn advertises_every_supported_api_once() {
        let keys = supported_api_keys();
        assert_eq!(keys.len(), SUPPORTED.len());
        let produce = keys
            .iter()
            .find(|k| k.api_key == ApiKey::Produce as i16)
            .unwrap();
        assert!(produce.min_version <= produce.max_version);
    }
}
