//! Compiles `worker.proto` into Rust (tonic + prost) and a descriptor set for gRPC reflection.
//! protoc comes from the protoc-bin-vendored crate through `tools/protoc` (.cargo/config.toml).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // BTreeMap for proto maps: a message encodes to the same bytes every time, which the
        // signature of a call (contract::auth) relies on.
        .btree_map(".")
        .file_descriptor_set_path(out.join("worker_descriptor.bin"))
        .compile_protos(&["worker.proto"], &["."])?;
    println!("cargo:rerun-if-changed=worker.proto");
    Ok(())
}
