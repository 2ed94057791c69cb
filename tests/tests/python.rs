//! Runs the redis-py test suite (tests/python) against the same `shoal` binary.
//!
//! - `redis_py_suite_passes`: with the `python3` on the PATH, which needs the packages of
//!   `tests/python/requirements.txt` (`.ci/run` installs them; so does
//!   `python3 -m pip install -r tests/python/requirements.txt`).
//! - `redis_py_suite_passes_in_clean_virtualenvs`: creates a fresh virtualenv per supported
//!   redis-py major (`requirements.txt`: the current one, `requirements-redis7.txt`: the
//!   previous), installs exactly what the file pins (the newest release in its range, from
//!   PyPI) and runs the suite in it. This is what a new machine gets. Without network access
//!   it is skipped, except under CI, where it fails.

use shoal_tests::{shoal_binary, under_ci, workspace};
use std::path::Path;
use std::process::Command;

/// Runs pytest on tests/python with `python`; panics with the output on failure.
fn run_suite(python: &Path, label: &str) {
    let output = Command::new(python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(workspace())
        .env("SHOAL_BIN", shoal_binary())
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "redis-py suite failed with {label} (needs `python3 -m pip install -r \
         tests/python/requirements.txt`):\n{text}"
    );
    println!("{label}: {}", text.lines().last().unwrap_or_default());
}

#[test]
fn redis_py_suite_passes() {
    run_suite(Path::new("python3"), "python3 on the PATH");
}

#[test]
fn redis_py_suite_passes_in_clean_virtualenvs() {
    for requirements in ["requirements.txt", "requirements-redis7.txt"] {
        let dir = std::env::temp_dir().join(format!(
            "shoal-venv-{}-{}",
            std::process::id(),
            requirements.trim_end_matches(".txt")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .output()
            .expect("python3 runs");
        assert!(
            created.status.success(),
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        let python = dir.join("bin").join("python");
        let file = workspace().join("tests/python").join(requirements);
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&file)
            .output()
            .expect("pip runs");
        if !installed.status.success() {
            let why = String::from_utf8_lossy(&installed.stderr).to_string();
            let _ = std::fs::remove_dir_all(&dir);
            assert!(
                !under_ci(),
                "pip install -r {requirements} failed under CI: {why}"
            );
            println!("skipped: cannot install {requirements} (no network?): {why}");
            return;
        }
        let version = Command::new(&python)
            .args(["-c", "import redis; print(redis.__version__)"])
            .output()
            .expect("python runs");
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        run_suite(&python, &format!("redis-py {version} ({requirements})"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
