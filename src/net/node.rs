//! Naming a peer: a DICOMweb root URL, a `dicom://AET@host:port` DIMSE
//! address, or a name saved in `pacs-nodes.toml` in Hilum's data folder.
//!
//! URLs that carry a user name or password are refused: a secret on the
//! command line would end up in the shell history and in `ps`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{NetError, NetErrorKind, NetResult};

/// A DICOMweb service root, e.g. `http://127.0.0.1:8042/dicom-web`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebNode {
    /// The root URL, without a trailing slash.
    pub root: String,
    /// A PEM file of CA certificates to trust besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// A DIMSE peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimseNode {
    /// The peer's AE title (the called AE title).
    pub called_aet: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl DimseNode {
    /// `host:port`, as a socket address string.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `AET@host:port`, the way errors name the peer.
    pub fn label(&self) -> String {
        format!("{}@{}", self.called_aet, self.address())
    }
}

/// A peer: DICOMweb or DIMSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A DICOMweb service.
    Web(WebNode),
    /// A DIMSE peer.
    Dimse(DimseNode),
}

impl Node {
    /// How errors name this peer (never with credentials).
    pub fn label(&self) -> String {
        match self {
            Node::Web(web) => web.root.clone(),
            Node::Dimse(dimse) => dimse.label(),
        }
    }

    /// Parses a URL or `dicom://` address, or looks `text` up in the saved
    /// nodes of `book`.
    pub fn resolve(text: &str, book: &NodeBook) -> NetResult<(Node, SavedNode)> {
        if text.contains("://") {
            return Ok((Node::parse(text)?, SavedNode::default()));
        }
        let saved = book.nodes.get(text).cloned().ok_or_else(|| {
            let known: Vec<&str> = book.nodes.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                format!(
                    "no nodes are saved in {}; give a URL (http://host:port/dicom-web) or dicom://AET@host:port",
                    book.source.display()
                )
            } else {
                format!("saved nodes: {}", known.join(", "))
            };
            NetError::new(
                text,
                NetErrorKind::InvalidNode(format!("not a URL, dicom:// address or saved node ({hint})")),
            )
        })?;
        let mut node = Node::parse(&saved.url).map_err(|e| {
            NetError::new(
                text,
                NetErrorKind::InvalidNode(format!("saved node: {}", e.kind)),
            )
        })?;
        if let Node::Web(web) = &mut node {
            web.ca_file = saved.ca_file.clone();
        }
        Ok((node, saved))
    }

    /// Parses `http(s)://host[:port]/path` or `dicom://AET@host:port`.
    pub fn parse(text: &str) -> NetResult<Node> {
        let invalid =
            |why: &str| NetError::new(redact(text), NetErrorKind::InvalidNode(why.to_string()));
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("expected http(s)://... or dicom://AET@host:port"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                if authority.contains('@') {
                    return Err(invalid(
                        "credentials do not belong in the URL: use --user with HILUM_PACS_PASSWORD or HILUM_PACS_TOKEN",
                    ));
                }
                if authority.is_empty() {
                    return Err(invalid("the URL has no host"));
                }
                if rest.contains(['?', '#']) {
                    return Err(invalid("a DICOMweb root has no query or fragment"));
                }
                Ok(Node::Web(WebNode {
                    root: text.trim_end_matches('/').to_string(),
                    ca_file: None,
                }))
            }
            "dicom" => {
                let (aet, address) = rest
                    .trim_end_matches('/')
                    .split_once('@')
                    .ok_or_else(|| invalid("expected dicom://AET@host:port"))?;
                let aet = check_ae_title(aet).map_err(|why| invalid(&why))?;
                let (host, port) = address
                    .rsplit_once(':')
                    .ok_or_else(|| invalid("the address has no port (dicom://AET@host:port)"))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    return Err(invalid("the address has no host"));
                }
                let port: u16 = port
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?;
                Ok(Node::Dimse(DimseNode {
                    called_aet: aet,
                    host: host.to_string(),
                    port,
                }))
            }
            other => Err(invalid(&format!(
                "unknown scheme {other:?} (http, https or dicom)"
            ))),
        }
    }
}

/// Checks an AE title: 1 to 16 characters of printable ASCII, not all
/// spaces, no backslash (PS3.5 6.2, VR AE). Returns it trimmed.
pub fn check_ae_title(aet: &str) -> Result<String, String> {
    let trimmed = aet.trim();
    if trimmed.is_empty() || aet.len() > 16 {
        return Err(format!("AE title {aet:?} must have 1 to 16 characters"));
    }
    if !aet.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\') {
        return Err(format!(
            "AE title {aet:?} may hold only printable ASCII without a backslash"
        ));
    }
    Ok(trimmed.to_string())
}

/// The URL with anything before an `@` in its authority removed, for error
/// messages about URLs that carried credentials.
fn redact(text: &str) -> String {
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => text.to_string(),
            }
        }
        None => text.to_string(),
    }
}

/// A saved node: where it is and how Hilum introduces itself. Secrets are
/// never saved here (they come from the environment or a prompt).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SavedNode {
    /// A DICOMweb root or `dicom://AET@host:port`.
    #[serde(default)]
    pub url: String,
    /// The user name to log in with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Hilum's AE title towards this peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aet: Option<String>,
    /// Extra CA certificates (PEM) for a DICOMweb node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// The saved nodes (`[nodes.NAME]` tables of `pacs-nodes.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeBook {
    /// The nodes by name.
    pub nodes: std::collections::BTreeMap<String, SavedNode>,
    /// The file they came from (or would).
    pub source: PathBuf,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    #[serde(default)]
    nodes: std::collections::BTreeMap<String, SavedNode>,
}

impl NodeBook {
    /// The file Hilum keeps its nodes in: `$HILUM_DATA_DIR/pacs-nodes.toml`
    /// when set, else the platform's data folder.
    pub fn default_path() -> Option<PathBuf> {
        Some(crate::annotations::sidecar::data_dir()?.join("pacs-nodes.toml"))
    }

    /// Loads `path`; a missing file is an empty book.
    pub fn load(path: &Path) -> NetResult<NodeBook> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(NodeBook {
                    nodes: Default::default(),
                    source: path.to_path_buf(),
                });
            }
            Err(e) => {
                return Err(NetError::new(
                    path.display().to_string(),
                    NetErrorKind::Local(format!("cannot read saved nodes: {e}")),
                ));
            }
        };
        let file: NodeFile = toml::from_str(&text).map_err(|e| {
            NetError::new(
                path.display().to_string(),
                NetErrorKind::Local(format!("cannot parse saved nodes: {}", e.message())),
            )
        })?;
        Ok(NodeBook {
            nodes: file.nodes,
            source: path.to_path_buf(),
        })
    }
}

impl NodeBook {
    /// Adds (or replaces) the node `name` after checking that its URL
    /// parses, and writes the book back to its file: atomically, readable
    /// by its owner only (it names hosts and users; it never holds a
    /// secret).
    pub fn save_node(&mut self, name: &str, node: SavedNode) -> NetResult<()> {
        let name = name.trim();
        let invalid = |why: &str| NetError::new(name, NetErrorKind::InvalidNode(why.to_string()));
        if name.is_empty() || name.contains("://") || name.chars().any(char::is_control) {
            return Err(invalid("a node's name must be a plain name"));
        }
        Node::parse(&node.url)?;
        self.nodes.insert(name.to_string(), node);
        let text = toml::to_string(&NodeFile {
            nodes: self.nodes.clone(),
        })
        .map_err(|e| invalid(&e.to_string()))?;
        let local = |e: std::io::Error| {
            NetError::new(
                self.source.display().to_string(),
                NetErrorKind::Local(format!("cannot save the nodes: {e}")),
            )
        };
        let dir = self.source.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(local)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".pacs-nodes-")
            .tempfile_in(dir)
            .map_err(local)?;
        // tempfile creates the file readable by its owner only (0600).
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(local)?;
        temp.persist(&self.source).map_err(|e| local(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_saved_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hilum").join("pacs-nodes.toml");
        let mut book = NodeBook::load(&path).unwrap();
        let node = SavedNode {
            url: "http://127.0.0.1:8042/dicom-web".into(),
            user: Some("reader".into()),
            ..Default::default()
        };
        book.save_node("orthanc", node.clone()).unwrap();
        assert_eq!(NodeBook::load(&path).unwrap().nodes["orthanc"], node);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let bad = SavedNode {
            url: "ftp://x".into(),
            ..Default::default()
        };
        assert!(book.save_node("other", bad).is_err());
        assert!(book.save_node("http://x", node).is_err());
    }

    #[test]
    fn urls_and_dicom_addresses_parse() {
        let web = Node::parse("http://127.0.0.1:8042/dicom-web/").unwrap();
        assert_eq!(web.label(), "http://127.0.0.1:8042/dicom-web");
        let dimse = Node::parse("dicom://ORTHANC@127.0.0.1:4242").unwrap();
        assert_eq!(
            dimse,
            Node::Dimse(DimseNode {
                called_aet: "ORTHANC".into(),
                host: "127.0.0.1".into(),
                port: 4242
            })
        );
        assert_eq!(
            Node::parse("dicom://PACS@[::1]:104").unwrap().label(),
            "PACS@[::1]:104"
        );
    }

    #[test]
    fn bad_nodes_say_why_and_never_echo_a_password() {
        let err = Node::parse("http://reader:hunter2@pacs:8042/dicom-web").unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("credentials") && !shown.contains("hunter2"),
            "{shown}"
        );
        for (text, why) in [
            ("dicom://127.0.0.1:104", "AET@host"),
            ("dicom://THIS_TITLE_IS_TOO_LONG@h:104", "1 to 16"),
            ("dicom://PACS@host", "no port"),
            ("dicom://PACS@host:0", "1 to 65535"),
            ("ftp://x/y", "unknown scheme"),
        ] {
            let err = Node::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn saved_nodes_resolve_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pacs-nodes.toml");
        std::fs::write(
            &path,
            "[nodes.main]\nurl = \"dicom://PACS@10.0.0.5:104\"\naet = \"READER1\"\n",
        )
        .unwrap();
        let book = NodeBook::load(&path).unwrap();
        let (node, saved) = Node::resolve("main", &book).unwrap();
        assert_eq!(node.label(), "PACS@10.0.0.5:104");
        assert_eq!(saved.aet.as_deref(), Some("READER1"));
        let err = Node::resolve("other", &book).unwrap_err().to_string();
        assert!(err.contains("saved nodes: main"), "{err}");
        assert!(
            NodeBook::load(&dir.path().join("none.toml"))
                .unwrap()
                .nodes
                .is_empty()
        );
    }
}
