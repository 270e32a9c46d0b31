//! Writing output files safely: never over a source, never over an
//! existing output unless asked, and atomically (a temporary file in the
//! target folder, renamed into place), so a failure leaves no partial file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output may not be, or could not be, written; names the output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct OutputError {
    /// The output.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

impl OutputError {
    fn new(path: &Path, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Checks, before any work, that `target` may be written: it is none of
/// `sources`, it is not a folder, it does not exist unless `overwrite`,
/// and its folder exists.
pub fn check_target<P: AsRef<Path>>(
    target: &Path,
    sources: &[P],
    overwrite: bool,
) -> Result<(), OutputError> {
    let refuse = |reason: String| Err(OutputError::new(target, reason));
    let canonical = target.canonicalize().ok();
    if canonical.is_some()
        && sources
            .iter()
            .any(|s| s.as_ref().canonicalize().ok() == canonical)
    {
        return refuse("refusing to overwrite a source file".into());
    }
    if target.is_dir() {
        return refuse("is a folder".into());
    }
    if target.exists() && !overwrite {
        return refuse("output exists (use --force to overwrite)".into());
    }
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return refuse(format!(
            "the target folder {} does not exist or is not a folder",
            dir.display()
        ));
    }
    Ok(())
}

/// The folder `path` is written in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `path` atomically: `write` fills a temporary file in the same
/// folder, which is renamed over `path` only when it succeeded.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".hilum-")
        .suffix(".part")
        .tempfile_in(parent_dir(path))?;
    {
        let mut out = std::io::BufWriter::new(tmp.as_file());
        write(&mut out)?;
        out.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to `path` with [`write_atomic`]; the error names `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic(path, |w| w.write_all(bytes))
        .map_err(|e| OutputError::new(path, format!("cannot write: {e}")))
}

/// Encodes a `rows × cols` float32 array as NumPy's `.npy` (format 1.0,
/// little endian, C order).
pub fn npy_f32(values: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    assert_eq!(values.len(), rows * cols, "array size matches its shape");
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple
    // of 64, as the format asks.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Encodes an RGBA image as PNG with `iTXt` entries (e.g. `Description`,
/// `Software`), so the file says what it shows even outside Hilum.
pub fn png_with_text(image: &image::RgbaImage, text: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width(), image.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    for (key, value) in text {
        // tEXt is Latin-1; iTXt carries any text.
        encoder
            .add_itxt_chunk(key.to_string(), value.to_string())
            .map_err(|e| e.to_string())?;
    }
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(image.as_raw())
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let bytes = npy_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"), "{header}");
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(&bytes[10 + header_len..][..4], &1f32.to_le_bytes());
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let e = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("injected failure"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("injected"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&path, |w| w.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
    }

    #[test]
    fn targets_are_checked_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let none: [&Path; 0] = [];
        assert_eq!(check_target(&path, &none, false), Ok(()));
        write_file(&path, b"whole").unwrap();
        let exists = check_target(&path, &none, false).unwrap_err();
        assert_eq!(exists.path, path);
        assert!(exists.to_string().contains("--force"), "{exists}");
        assert_eq!(check_target(&path, &none, true), Ok(()));
        let source = check_target(&path, &[&path], true).unwrap_err();
        assert!(source.reason.contains("source"), "{source}");
        let folder = check_target(dir.path(), &none, true).unwrap_err();
        assert!(folder.reason.contains("folder"), "{folder}");
        let missing = dir.path().join("no/such/out.bin");
        let no_dir = check_target(&missing, &none, false).unwrap_err();
        assert!(no_dir.reason.contains("does not exist"), "{no_dir}");
        let unwritable = write_file(&missing, b"x").unwrap_err();
        assert!(
            unwritable.to_string().contains("cannot write"),
            "{unwritable}"
        );
    }
}
