//! Whether a build's output is newer than every source it is made from, by modification time:
//! what lets `cargo xtask worker-bundle` (wrangler.toml's `[build]` command) do nothing on a
//! warm start, so `npx wrangler dev` stays fast when nothing changed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

/// Why an output must be rebuilt, or `None` when it is fresh: every `output` exists and the
/// oldest of them is newer than the newest file under `sources` (files or directories, walked
/// recursively; a missing source is skipped).
pub fn stale_reason(outputs: &[PathBuf], sources: &[PathBuf]) -> Result<Option<String>> {
    let mut oldest_output: Option<SystemTime> = None;
    for output in outputs {
        let Ok(meta) = std::fs::metadata(output) else {
            return Ok(Some(format!("{} is missing", output.display())));
        };
        let modified = meta.modified()?;
        oldest_output = Some(oldest_output.map_or(modified, |t| t.min(modified)));
    }
    let Some(oldest_output) = oldest_output else {
        return Ok(Some("no output to compare".to_string()));
    };
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for source in sources {
        newest_file(source, &mut newest)?;
    }
    Ok(match newest {
        Some((modified, path)) if modified > oldest_output => {
            Some(format!("{} changed", path.display()))
        }
        _ => None,
    })
}

/// Updates `newest` with the newest file at or under `path`.
fn newest_file(path: &Path, newest: &mut Option<(SystemTime, PathBuf)>) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        let entries =
            std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?;
        for entry in entries {
            newest_file(&entry?.path(), newest)?;
        }
    } else {
        let modified = meta.modified()?;
        if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            *newest = Some((modified, path.to_path_buf()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn touch(path: &Path, at: SystemTime) {
        std::fs::write(path, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn fresh_only_when_every_output_is_newer_than_every_source() {
        let dir = std::env::temp_dir().join(format!("xtask-freshness-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/nested")).unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(1000);
        let at = |secs| t0 + Duration::from_secs(secs);
        let (source, nested) = (dir.join("src/a.rs"), dir.join("src/nested/b.rs"));
        let (js, wasm) = (dir.join("index.js"), dir.join("index.wasm"));
        let sources = [dir.join("src"), dir.join("Cargo.lock")];
        let outputs = [js.clone(), wasm.clone()];

        touch(&source, at(10));
        touch(&nested, at(20));
        assert!(
            stale_reason(&outputs, &sources)
                .unwrap()
                .unwrap()
                .contains("missing")
        );
        touch(&js, at(30));
        touch(&wasm, at(40));
        assert_eq!(stale_reason(&outputs, &sources).unwrap(), None);
        // A nested source newer than the oldest output.
        touch(&nested, at(35));
        let reason = stale_reason(&outputs, &sources).unwrap().unwrap();
        assert!(reason.contains("b.rs"), "{reason}");
        touch(&js, at(50));
        assert_eq!(stale_reason(&outputs, &sources).unwrap(), None);
        touch(&dir.join("Cargo.lock"), at(60));
        assert!(stale_reason(&outputs, &sources).unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
