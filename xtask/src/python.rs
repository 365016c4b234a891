//! Compatibility tests with the real Argilla Python clients (`tests/python`).
//!
//! Each client has a pinned requirements file, `tests/python/requirements-<client>.txt`, and its
//! own virtual environment under `target/python-venvs/<client>`. A venv is made (or remade) only
//! when it is missing, its interpreter no longer runs, or its stamp file does not match the
//! requirements file and the interpreter version; otherwise it is used as it is, without pip.
//! Then `python -m pytest` runs the same tests once per client against a running server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::process::{repo_root, run};

/// The clients under test: venv name (also the label in the output) and requirements file.
const CLIENTS: &[(&str, &str)] = &[
    ("argilla-1.6", "requirements-argilla-1.6.txt"),
    ("argilla-1.8", "requirements-argilla-1.8.txt"),
    ("argilla-1.29", "requirements-argilla-1.29.txt"),
];

/// The interpreter the pins are for (binary wheels of numpy/pandas exist for it).
const PYTHON_VERSION: &str = "3.11";

/// The stamp file inside each venv: records what it was made from.
const STAMP: &str = ".workgate-requirements.stamp";

/// Creates or refreshes each client's venv, then runs `tests/python` with it against
/// `base_url` (a running workgate, e.g. `http://127.0.0.1:6900`). Every client runs even if an
/// earlier one failed; the step fails if any did.
pub fn client_compat(base_url: &str) -> Result<()> {
    let root = repo_root();
    let python = find_python()?;
    let mut failed = Vec::new();
    for (name, requirements) in CLIENTS {
        let venv = ensure_venv(&root, &python, name, requirements)
            .with_context(|| format!("preparing the {name} venv"))?;
        eprintln!("\nxtask: ---- Python client {name} against {base_url}");
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.args([
            "-m",
            "pytest",
            "-q",
            "-rfEX",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .current_dir(&root)
        .env("WORKGATE_BASE_URL", base_url)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH");
        match run(&mut cmd) {
            Ok(()) => eprintln!("xtask: Python client {name}: passed"),
            Err(e) => {
                eprintln!("xtask: Python client {name}: FAILED ({e:#})");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "Argilla client compatibility failed for: {}",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The interpreter to make venvs with: `$WORKGATE_PYTHON`, else `python3.11`, else `python3`,
/// whichever first reports CPython 3.11.
fn find_python() -> Result<String> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("WORKGATE_PYTHON") {
        candidates.push(p);
    }
    candidates.push(format!("python{PYTHON_VERSION}"));
    candidates.push("python3".to_string());
    let mut seen = Vec::new();
    for candidate in &candidates {
        if let Some(version) = python_version(Path::new(candidate)) {
            if version.starts_with(&format!("CPython {PYTHON_VERSION}.")) {
                return Ok(candidate.clone());
            }
            seen.push(format!("{candidate}: {version}"));
        }
    }
    bail!(
        "the Python client tests need CPython {PYTHON_VERSION} (the pins in tests/python are for it); \
         set WORKGATE_PYTHON to one (found: {})",
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join("; ")
        }
    )
}

/// `CPython 3.11.7 /path/to/prefix` for an interpreter that runs, else None.
fn python_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import platform, sys; print(platform.python_implementation(), platform.python_version(), sys.base_prefix)",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Makes `target/python-venvs/<name>` from `tests/python/<requirements>` unless it is already
/// there, runs, and was made from the same requirements and interpreter. Returns its path.
fn ensure_venv(root: &Path, python: &str, name: &str, requirements: &str) -> Result<PathBuf> {
    let req_path = root.join("tests/python").join(requirements);
    let req =
        std::fs::read(&req_path).with_context(|| format!("reading {}", req_path.display()))?;
    let interpreter = python_version(Path::new(python)).unwrap_or_default();
    let stamp = format!(
        "{:016x} {requirements} {interpreter}\n",
        fnv1a64(&[req.as_slice(), interpreter.as_bytes()].concat())
    );

    let venv = root.join("target/python-venvs").join(name);
    let stamp_path = venv.join(STAMP);
    let venv_python = venv.join("bin/python");
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
        && python_version(&venv_python).is_some()
    {
        eprintln!("xtask: venv {name} is up to date ({})", venv.display());
        return Ok(venv);
    }

    let started = Instant::now();
    if venv.exists() {
        eprintln!("xtask: venv {name} is stale or broken; making it again");
        std::fs::remove_dir_all(&venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    std::fs::create_dir_all(venv.parent().expect("venv has a parent"))?;
    run(Command::new(python).arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&venv_python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            "-r",
        ])
        .arg(&req_path))?;
    // written last: an interrupted or failed install leaves no stamp, so the next run starts over
    std::fs::write(&stamp_path, &stamp)
        .with_context(|| format!("writing {}", stamp_path.display()))?;
    eprintln!(
        "xtask: venv {name} made in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        venv.display()
    );
    Ok(venv)
}

/// 64-bit FNV-1a: a stable digest for the stamp (no hashing crate needed; not for security).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::fnv1a64;

    #[test]
    fn fnv1a64_known_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
