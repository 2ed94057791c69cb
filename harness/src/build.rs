//! Where the workspace is, and the `shoal` binary to run: built with `cargo build` (for the
//! given profile) when it is missing or older than any of its sources.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Which build of `shoal` to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `target/debug/shoal` (what the tests run, in a debug test build).
    Debug,
    /// `target/release/shoal` (what the benchmarks run).
    Release,
}

/// The workspace root (this crate lives in `harness/`).
pub fn workspace() -> PathBuf {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    harness.parent().unwrap_or(harness).to_path_buf()
}

/// The `shoal` binary of `profile`, built first if it is missing or older than any source it
/// is built from.
pub fn shoal_binary(profile: Profile) -> anyhow::Result<PathBuf> {
    let root = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    let binary = target.join(dir).join("shoal");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let mut newest_source = SystemTime::UNIX_EPOCH;
    for path in [
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("server"),
        root.join("cluster"),
    ] {
        newest_source = newest_source.max(newest_mtime(&path)?);
    }
    if built.is_none_or(|built| built < newest_source) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(&root)
            .args(["build", "--quiet", "-p", "shoal-server", "--bin", "shoal"]);
        if profile == Profile::Release {
            eprintln!("building {} ...", binary.display());
            build.arg("--release");
        }
        let status = build.status().context("running cargo build")?;
        if !status.success() {
            bail!("building shoal failed ({status})");
        }
    }
    if !binary.is_file() {
        bail!("{} does not exist after building", binary.display());
    }
    Ok(binary)
}

/// The latest modification time of `path` or of any file below it (skipping `target` and
/// hidden directories). A missing path counts as the epoch.
fn newest_mtime(path: &Path) -> anyhow::Result<SystemTime> {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(SystemTime::UNIX_EPOCH);
    };
    if !metadata.is_dir() {
        return metadata
            .modified()
            .with_context(|| format!("mtime of {}", path.display()));
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    let entries = std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", path.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        newest = newest.max(newest_mtime(&entry.path())?);
    }
    Ok(newest)
}
