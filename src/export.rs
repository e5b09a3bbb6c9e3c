//! `vestnik export`: every output feed as static files for any web server.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::publish::Format;
use crate::serve::{render_topic, FeedError};
use crate::store::Store;
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `DIR/TOPIC.rss`, `.atom` and `.json` for `all` and every topic; returns the files.
pub fn export(
    config: &Config,
    topics: &Topics,
    store: &Store,
    dir: &Path,
) -> Result<Vec<PathBuf>, ExportError> {
    let write_error = |path: &Path, source| ExportError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let mut written = Vec::new();
    for topic in topics.feeds() {
        for format in Format::ALL {
            let feed = render_topic(config, topics, store, topic, format)?;
            let path = dir.join(format!("{}.{}", topic.id, format.extension()));
            // Write beside and rename, so a web server never serves half a file.
            let partial = path.with_extension(format!("{}.partial", format.extension()));
            std::fs::write(&partial, &feed.bytes).map_err(|e| write_error(&partial, e))?;
            std::fs::rename(&partial, &path).map_err(|e| write_error(&path, e))?;
            written.push(path);
        }
    }
    Ok(written)
}
