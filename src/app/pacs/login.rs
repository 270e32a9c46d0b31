//! The window's node and login, moved to a background thread, where the
//! saved nodes are read and the session is built (both touch the disk).

use std::path::PathBuf;

use super::TIMEOUT;
use crate::net::node::{NodeBook, check_ae_title};
use crate::net::{Credentials, Node, Secret, Session};

/// The node and login of the window, moved to a background thread.
#[derive(Clone)]
pub(super) struct Login {
    pub(super) nodes_file: Option<PathBuf>,
    pub(super) node: String,
    pub(super) aet: String,
    pub(super) user: String,
    pub(super) password: Secret,
    pub(super) ca_file: String,
}

impl Login {
    /// A session with the node (reads the saved nodes and, for HTTPS, the
    /// certificate roots: call it off the UI thread).
    pub(super) fn session(&self) -> Result<Session, String> {
        if self.node.is_empty() {
            return Err(
                "choose a node: a saved name, a DICOMweb URL or dicom://AET@host:port".into(),
            );
        }
        let book = read_book(self.nodes_file.as_deref())?;
        let (mut node, saved) = Node::resolve(&self.node, &book).map_err(|e| e.to_string())?;
        if let Node::Web(web) = &mut node
            && !self.ca_file.trim().is_empty()
        {
            web.ca_file = Some(PathBuf::from(self.ca_file.trim()));
        }
        let aet = Some(self.aet.clone())
            .filter(|a| !a.is_empty())
            .or(saved.aet.clone())
            .unwrap_or_else(|| "HILUM".to_string());
        let aet = check_ae_title(&aet)?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let user = Some(self.user.clone())
            .filter(|u| !u.is_empty())
            .or_else(|| env("HILUM_PACS_USER"))
            .or(saved.user);
        let password = Some(self.password.clone())
            .filter(|p| !p.expose().is_empty())
            .or_else(|| env("HILUM_PACS_PASSWORD").map(Secret::new));
        let credentials = Credentials {
            user,
            password,
            token: env("HILUM_PACS_TOKEN").map(Secret::new),
        };
        Session::new(&node, credentials, &aet, TIMEOUT).map_err(|e| e.to_string())
    }
}

/// The saved nodes' file (`file`, else the data folder's), read; a
/// missing file is an empty book.
pub(super) fn read_book(file: Option<&std::path::Path>) -> Result<NodeBook, String> {
    let path = match file {
        Some(file) => file.to_path_buf(),
        None => NodeBook::default_path()
            .ok_or("no data folder for the saved nodes (set HILUM_DATA_DIR)")?,
    };
    NodeBook::load(&path).map_err(|e| e.to_string())
}
