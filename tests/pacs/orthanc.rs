//! A real Orthanc (Debian packages `orthanc`, `orthanc-dicomweb`) started
//! on free ports with authentication on, DICOMweb and DIMSE enabled and its
//! storage in a temporary folder; stopped by its pid when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common;
use crate::common::peers::{Peer, free_port, require_isolated_network};

/// The user the tests log in as.
pub const USER: &str = "reader";
/// Its password (never to appear in any output).
pub const PASSWORD: &str = "s3cret-Pa55word";
/// Orthanc's AE title.
pub const AET: &str = "ORTHANC";

/// A running Orthanc (behind a TLS front when started with a certificate:
/// Orthanc 1.10's own HTTPS server crashes on the first connection with
/// Debian 12's OpenSSL 3, so `socat` terminates TLS in front of it, as a
/// reverse proxy would in a hospital).
pub struct Orthanc {
    _process: Peer,
    tls_front: Option<(Peer, u16)>,
    /// Its HTTP port (REST and DICOMweb).
    pub http_port: u16,
    /// Its DICOM port.
    pub dicom_port: u16,
    /// The port Hilum's Store SCP must listen on for C-MOVE (Orthanc knows
    /// it as AE `HILUM` at 127.0.0.1).
    pub move_port: u16,
    /// Its storage and configuration.
    _storage: tempfile::TempDir,
}

impl Orthanc {
    /// Starts Orthanc over plain HTTP.
    pub fn start() -> Orthanc {
        Orthanc::start_with(None)
    }

    /// Starts Orthanc, reached over HTTPS with the PEM `certificate`
    /// (certificate and key) when given.
    pub fn start_with(certificate: Option<&Path>) -> Orthanc {
        require_isolated_network();
        let dir = tempfile::tempdir().unwrap();
        let (http_port, dicom_port, move_port) = (free_port(), free_port(), free_port());
        let plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
        assert!(
            Path::new(plugin).is_file(),
            "{plugin} not found: install the Debian package `orthanc-dicomweb` (see .ci/run)"
        );
        let config = serde_json::json!({
            "Name": "HilumTest",
            "StorageDirectory": dir.path().join("db"),
            "IndexDirectory": dir.path().join("db"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": AET,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": true,
            "RegisteredUsers": { USER: PASSWORD },
            "Plugins": [plugin],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" },
            "DicomAlwaysAllowEcho": true,
            "DicomAlwaysAllowStore": true,
            "DicomAlwaysAllowFind": true,
            "DicomAlwaysAllowGet": true,
            "DicomAlwaysAllowMove": true,
            "DicomModalities": { "hilum": ["HILUM", "127.0.0.1", move_port] },
            "UnknownSopClassAccepted": true,
            "StorageCompression": false,
            "HttpCompressionEnabled": false,
        });
        let config_path = dir.path().join("orthanc.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("orthanc.log")).unwrap();
        let mut command = common::tool("Orthanc", "orthanc");
        command
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let mut peer = Peer::start("Orthanc", command);
        peer.wait_for_port(http_port, Duration::from_secs(30));
        peer.wait_for_port(dicom_port, Duration::from_secs(30));
        let tls_front = certificate.map(|certificate| {
            let tls_port = free_port();
            let mut command = common::tool("socat", "socat");
            command
                .arg(format!(
                    "openssl-listen:{tls_port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={}",
                    certificate.display()
                ))
                .arg(format!("tcp:127.0.0.1:{http_port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut front = Peer::start("socat (TLS in front of Orthanc)", command);
            front.wait_for_port(tls_port, Duration::from_secs(30));
            (front, tls_port)
        });
        Orthanc {
            _process: peer,
            tls_front,
            http_port,
            dicom_port,
            move_port,
            _storage: dir,
        }
    }

    /// The DICOMweb root.
    pub fn web_root(&self) -> String {
        match &self.tls_front {
            Some((_, port)) => format!("https://localhost:{port}/dicom-web"),
            None => format!("http://127.0.0.1:{}/dicom-web", self.http_port),
        }
    }

    /// The DIMSE address.
    pub fn dimse(&self) -> String {
        format!("dicom://{AET}@127.0.0.1:{}", self.dicom_port)
    }

    /// Uploads files through Orthanc's REST API (not through Hilum).
    pub fn upload(&self, paths: &[std::path::PathBuf]) {
        use base64::Engine as _;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        for path in paths {
            let bytes = std::fs::read(path).unwrap();
            let response = agent
                .post(format!("http://127.0.0.1:{}/instances", self.http_port))
                .header("Authorization", &authorization)
                .send(&bytes[..])
                .unwrap_or_else(|e| panic!("uploading {}: {e}", path.display()));
            assert!(
                response.status().is_success(),
                "Orthanc refused {}: {}",
                path.display(),
                response.status()
            );
        }
    }
}
