//! Runs the redis-py test suite (tests/python) against the same `shoal` binary.
//!
//! Needs `python3` with the `redis` and `pytest` packages (`.ci/run` installs them).

use shoal_tests::{shoal_binary, workspace};
use std::process::Command;

#[test]
fn redis_py_suite_passes() {
    let binary = shoal_binary();
    let output = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(workspace())
        .env("SHOAL_BIN", &binary)
        .output()
        .expect("python3 is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "redis-py suite failed (needs `pip install redis pytest`):\n{text}"
    );
}
