//! The weir Kubernetes operator.
