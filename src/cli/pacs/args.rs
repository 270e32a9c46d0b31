//! The arguments of `hilum pacs` and its subcommands (the names are the
//! issue's contract: keep them).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::net::{Level, QueryKeys};

use super::DEFAULT_AET;

/// Arguments of `hilum pacs`.
#[derive(Debug, Args)]
pub struct PacsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PacsCommand,
}

/// How to reach and log in to a node: shared by every `pacs` command.
#[derive(Debug, Args, Clone)]
pub struct PeerArgs {
    /// A saved node's name, a DICOMweb root (http(s)://host:port/path) or
    /// a DIMSE peer (dicom://AET@host:port).
    pub node: String,
    /// How to log in.
    #[command(flatten)]
    pub login: LoginArgs,
}

/// How to log in to a node (`pacs` commands, `triage --pacs`).
#[derive(Debug, Args, Clone, Default)]
pub struct LoginArgs {
    /// Hilum's AE title towards a DIMSE peer (default: the saved node's,
    /// else HILUM).
    #[arg(long)]
    pub aet: Option<String>,
    /// User name (else $HILUM_PACS_USER, else the saved node's). The
    /// password comes from $HILUM_PACS_PASSWORD or a prompt on the
    /// terminal; a bearer token from $HILUM_PACS_TOKEN.
    #[arg(long)]
    pub user: Option<String>,
    /// PEM file of CA certificates to trust besides the system's (HTTPS).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the peer to connect or answer (default 30).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

impl LoginArgs {
    /// True when any of these options was given.
    pub fn any(&self) -> bool {
        self.aet.is_some()
            || self.user.is_some()
            || self.ca_file.is_some()
            || self.timeout.is_some()
    }
}

/// The study-level keys of a search (`pacs find`, `triage --pacs`).
#[derive(Debug, Args, Clone, Default)]
pub struct StudyKeysArgs {
    /// Patient ID.
    #[arg(long)]
    pub patient_id: Option<String>,
    /// Patient's Name, with * and ? as wildcards (e.g. "DOE^J*").
    #[arg(long)]
    pub patient_name: Option<String>,
    /// Accession Number.
    #[arg(long)]
    pub accession: Option<String>,
    /// Study Date: YYYYMMDD or YYYYMMDD-YYYYMMDD.
    #[arg(long)]
    pub date: Option<String>,
    /// Modality (in the study, at study level).
    #[arg(long)]
    pub modality: Option<String>,
}

impl StudyKeysArgs {
    /// True when any key was given.
    pub fn any(&self) -> bool {
        self.patient_id.is_some()
            || self.patient_name.is_some()
            || self.accession.is_some()
            || self.date.is_some()
            || self.modality.is_some()
    }

    /// The query for rows at `level` with these keys.
    pub fn query(&self, level: Level) -> QueryKeys {
        QueryKeys {
            level,
            patient_id: self.patient_id.clone(),
            patient_name: self.patient_name.clone(),
            accession: self.accession.clone(),
            date: self.date.clone(),
            modality: self.modality.clone(),
            ..QueryKeys::default()
        }
    }
}

/// How `pacs get` retrieves from a DIMSE peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RetrieveMethod {
    /// C-GET: the instances come back on the same association.
    #[default]
    Get,
    /// C-MOVE to Hilum's own Store SCP (the peer must know Hilum's AE
    /// title at this host and `--move-port`).
    Move,
}

/// The `pacs` subcommands.
#[derive(Debug, Subcommand)]
pub enum PacsCommand {
    /// Check that a node answers (C-ECHO, or a QIDO search for DICOMweb);
    /// prints the round-trip time.
    Echo(PeerArgs),
    /// Search for studies, series or instances.
    Find(FindArgs),
    /// Retrieve a study (or one series) into a folder.
    Get(GetArgs),
    /// Store files (or folders of them) on a node.
    Send(SendArgs),
    /// Receive studies pushed to Hilum (a C-STORE SCP).
    Serve(ServeArgs),
    /// List the local study cache as JSON (or clear it).
    Cache(CacheArgs),
}

/// Arguments of `hilum pacs cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Remove every cached study.
    #[arg(long)]
    pub clear: bool,
}

/// Arguments of `hilum pacs find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    #[command(flatten)]
    pub peer: PeerArgs,
    /// The level of the matches.
    #[arg(long, value_enum, default_value_t)]
    pub level: Level,
    /// Study Instance UID.
    #[arg(long)]
    pub study: Option<String>,
    /// Series Instance UID.
    #[arg(long)]
    pub series: Option<String>,
    /// Patient, accession, date and modality keys.
    #[command(flatten)]
    pub keys: StudyKeysArgs,
    /// Print the matches as one JSON array (else a table).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `hilum pacs get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub peer: PeerArgs,
    /// Study Instance UID.
    #[arg(long)]
    pub study: String,
    /// Only this series of the study.
    #[arg(long)]
    pub series: Option<String>,
    /// The folder the instances are written into (created if missing).
    #[arg(long, required_unless_present = "cache")]
    pub out: Option<PathBuf>,
    /// Retrieve into Hilum's study cache instead (where the viewer opens
    /// PACS studies from), resuming an interrupted retrieval.
    #[arg(long, conflicts_with = "out")]
    pub cache: bool,
    /// DIMSE only: C-GET (default) or C-MOVE to Hilum.
    #[arg(long, value_enum, default_value_t)]
    pub method: RetrieveMethod,
    /// DIMSE C-MOVE: the port Hilum's Store SCP listens on (loopback).
    #[arg(long, default_value_t = 11112)]
    pub move_port: u16,
}

/// Arguments of `hilum pacs send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub peer: PeerArgs,
    /// DICOM files, or folders searched recursively.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `hilum pacs serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Hilum's AE title (the called AE title peers must use).
    #[arg(long, default_value = DEFAULT_AET)]
    pub aet: String,
    /// The port to listen on.
    #[arg(long, default_value_t = 11112)]
    pub port: u16,
    /// The address to listen on (loopback unless set).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// A calling AE title allowed to store (repeat for several); no other
    /// peer is accepted. Without any, any caller is accepted, which is
    /// allowed only on loopback (the default address).
    #[arg(long = "allow", value_name = "AET")]
    pub allow: Vec<String>,
    /// The folder received instances are written into.
    #[arg(long)]
    pub out: PathBuf,
}
