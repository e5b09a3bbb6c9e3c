//! `vestnik export`: every output feed as static files for any web server.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::publish::{Format, STYLESHEET};
use crate::serve::{archive_pages, render_topic, FeedError};
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

/// Writes the server's files under `dir` with the server's layout, so that `dir` served at
/// `settings.base_url` answers every link the feeds carry: `feeds/TOPIC.rss`, `.atom`, `.json`
/// for `all` and every topic, their archive pages `feeds/TOPIC.page-N.rss` and `.atom`,
/// `feed.xsl` and `opml.xml`. Returns the files written.
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
    let feeds_dir = dir.join("feeds");
    std::fs::create_dir_all(&feeds_dir).map_err(|e| write_error(&feeds_dir, e))?;
    let mut written = Vec::new();
    let mut write = |path: PathBuf, bytes: &[u8]| -> Result<(), ExportError> {
        // Write beside and rename, so a web server never serves half a file.
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        std::fs::write(&partial, bytes).map_err(|e| write_error(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| write_error(&path, e))?;
        written.push(path);
        Ok(())
    };
    for topic in topics.feeds() {
        let pages = archive_pages(config, store, topic)?;
        for format in Format::ALL {
            if let Some(feed) = render_topic(config, topics, store, topic, format, None, true)? {
                let name = format!("{}.{}", topic.id, format.extension());
                write(feeds_dir.join(name), &feed.bytes)?;
            }
            if format == Format::Json {
                continue;
            }
            for page in 1..=pages {
                let rendered =
                    render_topic(config, topics, store, topic, format, Some(page), true)?;
                if let Some(feed) = rendered {
                    let name = format!("{}.page-{page}.{}", topic.id, format.extension());
                    write(feeds_dir.join(name), &feed.bytes)?;
                }
            }
        }
    }
    write(dir.join("feed.xsl"), STYLESHEET.as_bytes())?;
    write(
        dir.join("opml.xml"),
        crate::opml::feeds_opml(config, topics).as_bytes(),
    )?;
    Ok(written)
}
