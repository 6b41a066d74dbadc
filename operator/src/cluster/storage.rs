//! Storage growth: the StatefulSet's claim templates cannot change, so a
//! larger `spec.storage.size` is applied to each broker's claim directly.
//! Claims are never shrunk, and a claim someone already grew past the spec
//! is left alone.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::validate::{parse_quantity, SpecError};

/// Claims to grow to `size`: those requesting less than it.
pub fn claims_to_grow(claims: &[PersistentVolumeClaim], size: &str) -> Vec<String> {
    let Some(wanted) = parse_quantity(size) else {
        return vec![];
    };
    claims
        .iter()
        .filter(|c| {
            let current = c
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"))
                .and_then(|q| parse_quantity(&q.0));
            current.is_some_and(|current| current < wanted)
        })
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

/// Refuses a `spec.storage.size` below what a claim already has: volumes
/// only grow, and nothing is touched until the spec is put back.
pub fn refuse_shrink(claims: &[PersistentVolumeClaim], size: &str) -> Result<(), SpecError> {
    let Some(wanted) = parse_quantity(size) else {
        return Ok(());
    };
    for c in claims {
        let current = c
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"));
        if let Some(current) = current.filter(|q| parse_quantity(&q.0).is_some_and(|q| q > wanted))
        {
            return Err(SpecError::Invalid {
                field: "spec.storage.size",
                reason: format!(
                    "{size} is smaller than the {} claim {} already has; volumes cannot shrink",
                    current.0,
                    c.metadata.name.as_deref().unwrap_or("?")
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::claim;

    #[test]
    fn only_smaller_claims_grow() {
        let claims = vec![
            claim("data-demo-broker-0", "10Gi"),
            claim("data-demo-broker-1", "50Gi"),
        ];
        assert_eq!(
            claims_to_grow(&claims, "20Gi"),
            vec!["data-demo-broker-0".to_string()]
        );
        assert!(claims_to_grow(&claims, "5Gi").is_empty(), "never shrink");
    }

    #[test]
    fn a_size_below_an_existing_claim_is_refused() {
        let claims = vec![claim("data-demo-broker-0", "10Gi")];
        assert!(refuse_shrink(&claims, "10Gi").is_ok());
        assert!(refuse_shrink(&claims, "20Gi").is_ok());
        let refused = refuse_shrink(&claims, "5Gi").unwrap_err().to_string();
        assert!(refused.contains("cannot shrink") && refused.contains("data-demo-broker-0"));
    }
}
