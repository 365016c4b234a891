//! `workgate export` and `workgate import`: core's dump (`workgate_core::dump`) between the
//! database and stdout/stdin or a file. The format, its checks, the import rules and the audit
//! entries (`dump.export`, `dump.import`, by `system`) are core's; this module only moves
//! bytes and prints the outcome.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use workgate_core::dump::{self, Mode};

use crate::cli::Failure;
use crate::server::NativeEngine;

/// Writes the dump to `file`, or to stdout; the summary goes to stderr.
pub async fn export(engine: &NativeEngine, file: Option<&Path>) -> Result<(), Failure> {
    let out: Box<dyn Write> = match file {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| Failure(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut sink = |line: &str| {
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| e.to_string())
    };
    let counts = engine.export_dump(None, &mut sink).await?;
    out.flush()
        .map_err(|e| Failure(format!("cannot write the dump: {e}")))?;
    eprintln!("Exported {counts}.");
    Ok(())
}

/// Reads the dump from `file`, or stdin, checks it whole, and imports it.
pub async fn import(
    engine: &NativeEngine,
    file: Option<&Path>,
    merge: bool,
) -> Result<(), Failure> {
    let mut bytes = Vec::new();
    match file {
        Some(path) => std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?,
        None => std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure(format!("cannot read stdin: {e}")))?,
    };
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Failure("the dump is not UTF-8 text".into()))?;
    let dump = dump::read(text)?;
    let mode = if merge { Mode::Merge } else { Mode::Empty };
    let imported = engine
        .import_dump(None, dump, mode, None)
        .await
        .map_err(|e| match e {
            dump::ImportError::NotEmpty(what) => Failure(format!(
                "the database is not empty (it holds {what}); import into an empty database, or pass --merge"
            )),
            other => Failure(other.to_string()),
        })?;
    println!("Imported {}.", imported.written);
    if merge {
        println!("Skipped (already there): {}.", imported.skipped);
    }
    Ok(())
}
