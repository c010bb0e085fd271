//! Helpers for the end-to-end tests in `tests/`: finding the foreign clients they drive, and
//! running `herald serve` as a process (`process`).

pub mod process;

use std::path::PathBuf;
use std::process::Command;

/// The directory holding the interop scripts.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Whether `python3` can import `module`. When it cannot, a test is skipped on a developer's
/// machine but fails under CI (`CI` set), where `.ci/run` must have installed it.
pub fn python_module_available(module: &str) -> anyhow::Result<bool> {
    let ok = Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        anyhow::bail!("python module {module} is missing under CI; .ci/run must install it");
    }
    Ok(ok)
}

/// Whether Chromium and the npm packages of `tests/browser` are installed. Like
/// [`python_module_available`], missing tools fail the run under CI instead of skipping.
pub fn browser_tools_available(browser_dir: &std::path::Path) -> anyhow::Result<bool> {
    let ok = std::path::Path::new("/usr/bin/chromium").exists()
        && browser_dir.join("node_modules/strophe.js").exists()
        && browser_dir.join("node_modules/playwright-core").exists();
    if !ok && std::env::var_os("CI").is_some() {
        anyhow::bail!("chromium or the tests/browser npm packages are missing under CI; .ci/run must install them");
    }
    Ok(ok)
}
