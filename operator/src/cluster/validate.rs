//! Checks a `KafkaCluster` spec beyond what the CRD schema can, before
//! anything is built: a refused spec is reported in a condition and nothing
//! is touched.

use crate::crd::KafkaClusterSpec;

/// Broker keys the operator sets itself; a user value would break the
/// cluster (identity, listeners, storage location, quorum).
pub const MANAGED_KEYS: &[&str] = &[
    "node.id",
    "broker.id",
    "process.roles",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "controller.listener.names",
    "controller.quorum.voters",
    "log.dirs",
    "log.dir",
    "cluster.id",
    "weir.http.listener",
];

/// Why a spec was refused, shown as the condition message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A broker key the operator manages was set in `spec.config`.
    #[error("spec.config sets {0}, which the operator manages; remove it")]
    ManagedKey(String),
    /// More voters than brokers.
    #[error("spec.controllerVoters ({voters}) exceeds spec.replicas ({replicas})")]
    TooManyVoters {
        /// Voters asked for.
        voters: i32,
        /// Brokers asked for.
        replicas: i32,
    },
    /// Two listeners on one port.
    #[error("spec.listeners uses port {0} twice")]
    PortClash(i32),
    /// A value the schema lets through but Kubernetes or the broker cannot use.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Validates a spec.
pub fn validate(spec: &KafkaClusterSpec) -> Result<(), SpecError> {
    if spec.replicas < 1 {
        return Err(SpecError::Invalid {
            field: "spec.replicas",
            reason: "must be at least 1".into(),
        });
    }
    if spec.controller_voters < 1 || spec.controller_voters > spec.replicas {
        return Err(SpecError::TooManyVoters {
            voters: spec.controller_voters,
            replicas: spec.replicas,
        });
    }
    if let Some(key) = spec
        .config
        .keys()
        .find(|k| MANAGED_KEYS.contains(&k.as_str()))
    {
        return Err(SpecError::ManagedKey(key.clone()));
    }
    let l = &spec.listeners;
    for (a, b) in [
        (l.kafka, l.internal),
        (l.kafka, l.http),
        (l.internal, l.http),
    ] {
        if a == b {
            return Err(SpecError::PortClash(a));
        }
    }
    if spec.version.trim().is_empty() && spec.image.is_none() {
        return Err(SpecError::Invalid {
            field: "spec.version",
            reason: "set a version or an image".into(),
        });
    }
    if !is_quantity(&spec.storage.size) {
        return Err(SpecError::Invalid {
            field: "spec.storage.size",
            reason: format!(
                "{:?} is not a Kubernetes quantity such as 10Gi",
                spec.storage.size
            ),
        });
    }
    Ok(())
}

/// Whether `s` reads as a Kubernetes quantity (digits, optional fraction,
/// optional binary or decimal suffix).
pub fn is_quantity(s: &str) -> bool {
    parse_quantity(s).is_some()
}

/// A quantity in bytes (rounded down), for comparing storage sizes.
pub fn parse_quantity(s: &str) -> Option<u128> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let multiplier: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(multiplier)?;
    if !fraction.is_empty() {
        let digits: u32 = u32::try_from(fraction.len()).ok()?;
        let f: u128 = fraction.parse().ok()?;
        value = value.checked_add(f.checked_mul(multiplier)? / 10u128.checked_pow(digits)?)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::spec;

    #[test]
    fn specs_the_schema_cannot_catch_are_refused_with_a_reason() {
        let ok = spec();
        assert_eq!(validate(&ok), Ok(()));
        type Change = Box<dyn Fn(&mut KafkaClusterSpec)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|s| {
                    s.config.insert("node.id".into(), "4".into());
                }),
                "node.id",
            ),
            (Box::new(|s| s.controller_voters = 5), "exceeds"),
            (Box::new(|s| s.listeners.http = s.listeners.kafka), "twice"),
            (Box::new(|s| s.storage.size = "ten gigs".into()), "quantity"),
        ];
        for (change, expected) in cases {
            let mut s = spec();
            change(&mut s);
            let err = validate(&s).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(parse_quantity("10Gi"), Some(10 << 30));
        assert_eq!(parse_quantity("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_quantity("500M"), Some(500_000_000));
        assert_eq!(parse_quantity("100"), Some(100));
        assert_eq!(parse_quantity("Gi"), None);
        assert_eq!(parse_quantity("10GB"), None);
    }
}
