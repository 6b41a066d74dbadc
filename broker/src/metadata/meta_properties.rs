//! `meta.properties`: the identity of a data directory (cluster id and node
//! id), as in Kafka. It stops a broker from starting on another broker's or
//! another cluster's data by mistake.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Why the data directory's identity is unusable.
#[derive(Debug, thiserror::Error)]
pub enum MetaPropertiesError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The meta.properties file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The directory belongs to another node or cluster.
    #[error(
        "{path} belongs to {key}={found}, but this broker is configured with {key}={expected}"
    )]
    Mismatch {
        /// The meta.properties file.
        path: PathBuf,
        /// `node.id` or `cluster.id`.
        key: &'static str,
        /// The value in the file.
        found: String,
        /// The configured value.
        expected: String,
    },
}

/// Reads the directory's identity, or writes it on first start. Returns the
/// cluster id in force: the stored one, else the configured one, else a new one.
pub fn load_or_init(
    data_dir: &Path,
    node_id: i32,
    cluster_id: Option<&str>,
) -> Result<String, MetaPropertiesError> {
    let path = data_dir.join("meta.properties");
    let io_err = |source| MetaPropertiesError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let props: BTreeMap<&str, &str> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim(), v.trim()))
                .collect();
            let stored_node = props.get("node.id").copied().unwrap_or_default();
            if stored_node != node_id.to_string() {
                return Err(MetaPropertiesError::Mismatch {
                    path,
                    key: "node.id",
                    found: stored_node.to_string(),
                    expected: node_id.to_string(),
                });
            }
            let stored_cluster = props.get("cluster.id").copied().unwrap_or_default();
            if let Some(expected) = cluster_id.filter(|c| *c != stored_cluster) {
                return Err(MetaPropertiesError::Mismatch {
                    path,
                    key: "cluster.id",
                    found: stored_cluster.to_string(),
                    expected: expected.to_string(),
                });
            }
            Ok(stored_cluster.to_string())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let cluster = cluster_id
                .map(str::to_string)
                .unwrap_or_else(new_cluster_id);
            std::fs::create_dir_all(data_dir).map_err(io_err)?;
            let tmp = data_dir.join("meta.properties.tmp");
            std::fs::write(
                &tmp,
                format!("version=1\ncluster.id={cluster}\nnode.id={node_id}\n"),
            )
            .map_err(io_err)?;
            std::fs::rename(&tmp, &path).map_err(io_err)?;
            Ok(cluster)
        }
        Err(e) => Err(io_err(e)),
    }
}

/// A cluster id in Kafka's style: 22 characters of URL-safe base64 of a UUID.
fn new_cluster_id() -> String {
    encode_cluster_id(uuid::Uuid::new_v4().as_u128())
}

fn encode_cluster_id(bytes: u128) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..22)
        .map(|i| ALPHABET[((bytes >> (i * 6)) & 0x3f) as usize] as char)
        .collect()
}

/// The cluster id brokers of one voter set agree on without being told:
/// derived from `controller.quorum.voters`, so every broker of a cluster
/// formats its data directory with the same id (Kafka has an operator run
/// `kafka-storage format` with one id; `cluster.id` still overrides this).
pub fn cluster_id_for_voters(voters: &str) -> String {
    let mut value: u128 = 0;
    for seed in 0u8..4 {
        let mut input = vec![seed];
        input.extend_from_slice(voters.as_bytes());
        value = (value << 32) | u128::from(crc32c::crc32c(&input));
    }
    encode_cluster_id(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_kept_and_a_different_node_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let id = load_or_init(dir.path(), 1, None).unwrap();
        assert_eq!(id.len(), 22);
        assert_eq!(load_or_init(dir.path(), 1, None).unwrap(), id);
        assert!(load_or_init(dir.path(), 2, None).is_err());
        assert!(load_or_init(dir.path(), 1, Some("other")).is_err());
    }

    #[test]
    fn brokers_of_one_voter_set_derive_the_same_cluster_id() {
        let a = cluster_id_for_voters("0@a:9093,1@b:9093");
        assert_eq!(a, cluster_id_for_voters("0@a:9093,1@b:9093"));
        assert_ne!(a, cluster_id_for_voters("0@a:9093,1@c:9093"));
        assert_eq!(a.len(), 22);
    }
}
