//! Reading typed values out of a properties map, with the error every
//! config loader reports; shared by the broker's config and the configs
//! the group coordinator reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why the configuration could not be loaded; printed before exiting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The properties file could not be read or parsed.
    #[error("cannot read properties file {path}: {reason}")]
    File {
        /// The file given with --config.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `--override` without `=`.
    #[error("--override expects KEY=VALUE, got '{0}'")]
    BadOverride(String),
    /// A key has a value of the wrong type or out of range.
    #[error("invalid value '{value}' for {key}: {reason}")]
    InvalidValue {
        /// The Kafka key.
        key: String,
        /// The refused value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parses `key` (or takes `default`).
pub fn parse<T: std::str::FromStr>(
    props: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, ConfigError> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(key, v, "wrong type or out of range")),
    }
}

/// Parses `key` (or takes `default`) and refuses values below 1.
pub fn parse_at_least_one<T>(
    props: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + From<u8> + ToString,
{
    let v = parse(props, key, default)?;
    if v < T::from(1) {
        return Err(invalid(key, &v.to_string(), "must be at least 1"));
    }
    Ok(v)
}

/// The error for a refused value of `key`.
pub fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
