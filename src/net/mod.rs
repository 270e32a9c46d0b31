//! PACS: finding, retrieving and sending studies over DICOMweb ([`web`]) and
//! DIMSE ([`dimse`]).
//!
//! Both protocols share one vocabulary: a [`Node`] names the peer, a
//! [`QueryKeys`] says what to look for and the answer is a list of [`Row`]s
//! keyed by DICOM keyword; retrieved instances go through an
//! [`InstanceWriter`], which writes each one atomically under a name made
//! from checked values only. Nothing here depends on the viewer.

pub mod cache;
pub mod dimse;
pub mod error;
pub mod node;
pub mod query;
pub mod secret;
pub mod session;
pub mod store;
pub mod web;

pub use self::error::{NetError, NetErrorKind, NetResult};
pub use self::node::{DimseNode, Node, WebNode};
pub use self::query::{Level, QueryKeys, Row};
pub use self::secret::{Credentials, Secret};
pub use self::session::{DimseMethod, Progress, Session};
pub use self::store::{InstanceWriter, RetrieveSummary};
