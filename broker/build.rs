//! Compiles the internal gRPC services (the Raft quorum and replication).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/weir.proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/weir.proto"], &["proto"])?;
    Ok(())
}
