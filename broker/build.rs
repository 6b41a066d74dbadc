//! Compiles the internal gRPC services (the Raft quorum and replication).
//! The protos are parsed by `protox`, in Rust, so building the broker needs
//! nothing but cargo (no `protoc` on the machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/weir.proto");
    let descriptors = protox::compile(["proto/weir.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
