//! Compiles `proto/memori/v1/*.proto` with the pure-Rust `protox` compiler
//! (no protoc binary needed) and writes the descriptor set that the
//! reflection service serves.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/memori/v1/common.proto",
    "proto/memori/v1/chat_service.proto",
    "proto/memori/v1/memory_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["proto"])?;

    // compile_fds ignores file_descriptor_set_path, so the set for reflection
    // is written here.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("memori_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    tonic_prost_build::configure()
        .codec_path("crate::grpc::codec::ValidatingCodec")
        .type_attribute(".", "#[allow(clippy::all)]")
        .compile_fds(fds)?;
    Ok(())
}
