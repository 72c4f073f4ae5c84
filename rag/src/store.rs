//! On-disk files of an index directory, written atomically (temp file + rename).
//!
//! Layout of `<dir>`:
//! - `index.json`: the [`Manifest`] (parameters, embedder id, file names), written last;
//! - `chunks-<gen>.jsonl`: one [`Chunk`] per line, in vector order;
//! - `vectors-<gen>.f32`: `chunks × dim` little-endian `f32`, row-major, unit length;
//! - `hnsw-<gen>.hnsw.graph` / `hnsw-<gen>.hnsw.data`: hnsw_rs `file_dump` output.
//!
//! Files carry a generation number so a build never overwrites the files a reader may still
//! be opening; the manifest switch is the commit point, and older generations are deleted
//! after it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chunk::Chunk;
use crate::error::{Error, Result};
use crate::params::IndexParams;

/// Name of the manifest file in an index directory.
pub(crate) const MANIFEST_FILE: &str = "index.json";
/// Bumped when the directory layout or a file format changes.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Which model produced the vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmbedderInfo {
    pub model_id: String,
    pub dim: usize,
}

/// Contents of `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format_version: u32,
    pub generation: u64,
    pub params: IndexParams,
    pub embedder: EmbedderInfo,
    /// Always `"cosine"` (hnsw_rs `DistCosine`).
    pub distance: String,
    /// Tokenizer used for chunk sizes.
    pub chunk_tokenizer: String,
    pub documents: usize,
    pub chunks: usize,
    pub chunks_file: String,
    pub vectors_file: String,
    /// `None` when the index is empty (hnsw_rs is not asked to dump an empty graph).
    pub hnsw_basename: Option<String>,
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `path` through `write` into a temp file, fsyncs, then renames it into place.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(manifest).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, |out| out.write_all(&json))
}

pub(crate) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(Error::corrupt(
            &path,
            format!(
                "format version {} (this build reads {FORMAT_VERSION}); rebuild the index",
                manifest.format_version
            ),
        ));
    }
    Ok(manifest)
}

pub(crate) fn write_chunks(path: &Path, chunks: &[Chunk]) -> Result<()> {
    let mut lines = Vec::with_capacity(chunks.len());
    for c in chunks {
        let line = serde_json::to_string(c).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        lines.push(line);
    }
    write_atomic(path, |out| {
        for line in &lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

pub(crate) fn read_chunks(path: &Path) -> Result<Vec<Chunk>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut chunks = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let chunk: Chunk = serde_json::from_str(&line).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        chunks.push(chunk);
    }
    Ok(chunks)
}

pub(crate) fn write_vectors(path: &Path, flat: &[f32]) -> Result<()> {
    write_atomic(path, |out| {
        for x in flat {
            out.write_all(&x.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Reads exactly `len` little-endian `f32`s.
pub(crate) fn read_vectors(path: &Path, len: usize) -> Result<Vec<f32>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let expected = (len as u64) * 4;
    if size != expected {
        return Err(Error::corrupt(
            path,
            format!("vector file has {size} bytes, expected {expected}"),
        ));
    }
    let mut bytes = Vec::with_capacity(expected as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Deletes data files of other generations (and stray temp files); errors are ignored.
pub(crate) fn remove_stale_files(dir: &Path, keep: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name.starts_with("chunks-")
            || name.starts_with("vectors-")
            || name.starts_with("hnsw-")
            || name.ends_with(".tmp");
        let kept = keep
            .iter()
            .any(|k| name == *k || name.starts_with(&format!("{k}.")));
        if ours && !kept {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_size_is_checked() {
        let dir = crate::test_support::scratch_dir("store-vectors");
        let path = dir.join("v.f32");
        let data = [1.0f32, -0.5, 3.25, f32::MIN_POSITIVE];
        write_vectors(&path, &data).expect("write");
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 16);
        assert_eq!(read_vectors(&path, 4).expect("read"), data.to_vec());
        assert!(matches!(
            read_vectors(&path, 5),
            Err(Error::IndexCorrupt { .. })
        ));
        assert!(!tmp_path(&path).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stale_files_are_removed() {
        let dir = crate::test_support::scratch_dir("store-stale");
        for name in [
            "chunks-1.jsonl",
            "chunks-2.jsonl",
            "hnsw-1.hnsw.graph",
            "hnsw-2.hnsw.graph",
            "x.tmp",
            "index.json",
        ] {
            std::fs::write(dir.join(name), b"x").expect("write");
        }
        remove_stale_files(&dir, &["chunks-2.jsonl", "hnsw-2"]);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec!["chunks-2.jsonl", "hnsw-2.hnsw.graph", "index.json"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
