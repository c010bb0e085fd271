//! Size-bounded log files: when a file would grow past its limit it is renamed to `<name>.1`
//! (older ones shift to `.2`, `.3`, … and the oldest beyond the count is removed) and a new one
//! is started, so the logs of a server under attack or with debug logging left on take at most
//! `max_bytes × (keep + 1)` of disk. Written here rather than taken from a crate because the
//! crates for it panic on I/O errors, and a full disk must never stop the server: a failed
//! rotation is reported to the caller (the tracing writer drops the line) and retried on the
//! next line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How large a log file may grow and how many rotated ones are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// A file is rotated before a write would take it past this size.
    pub max_bytes: u64,
    /// Rotated files kept beside the live one (`name.1` … `name.<keep>`).
    pub keep: usize,
}

impl Default for Rotation {
    /// The configuration's defaults: 100 MiB files, ten rotated ones kept.
    fn default() -> Self {
        Self { max_bytes: 100 << 20, keep: 10 }
    }
}

/// A log file that rotates itself by size.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    rotation: Rotation,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl RotatingFile {
    /// Opens (appending) or creates `path`.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self { path: path.to_owned(), file: Some(file), size, rotation })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        if self.rotation.keep == 0 {
            std::fs::remove_file(&self.path).or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) })?;
        } else {
            for n in (1..self.rotation.keep).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))?;
        }
        self.file = Some(open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() || (self.size > 0 && self.size + buf.len() as u64 > self.rotation.max_bytes) {
            self.rotate()?;
        }
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("log file not open"))?;
        let n = file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_by_size_and_the_oldest_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info.log");
        let mut log = RotatingFile::open(&path, Rotation { max_bytes: 100, keep: 2 }).unwrap();
        for i in 0..50 {
            log.write_all(format!("line {i:03} of the log\n").as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 100, "{}", size(&path));
        assert!(size(&dir.path().join("info.log.1")) > 0 && size(&dir.path().join("info.log.2")) > 0);
        assert!(!dir.path().join("info.log.3").exists(), "only two kept");
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with("line 049 of the log\n"), "{newest}");
        // Lines are never split across files.
        let older = std::fs::read_to_string(dir.path().join("info.log.1")).unwrap();
        assert!(older.lines().all(|l| l.starts_with("line ") && l.ends_with(" of the log")), "{older}");
    }

    #[test]
    fn an_existing_file_counts_toward_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.log");
        std::fs::write(&path, vec![b'x'; 90]).unwrap();
        let mut log = RotatingFile::open(&path, Rotation { max_bytes: 100, keep: 1 }).unwrap();
        log.write_all(b"twenty bytes of text").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "twenty bytes of text");
        assert_eq!(std::fs::metadata(dir.path().join("debug.log.1")).unwrap().len(), 90);
    }
}
