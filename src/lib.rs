//! Hilum: a radiology viewer with built-in, honest AI assistance.
//!
//! Layers, bottom up: [`imaging`] (loading, the pixel pipeline, series) and
//! the [`cli`] and the `app` (the egui viewer, only with the `viewer`
//! feature) on top. See `DESIGN.md` for module ownership and invariants.
//!
//! `unsafe` is denied everywhere but in the OpenJPEG binding
//! (`imaging::dicom::openjpeg`), which allows it for itself.

#![deny(unsafe_code)]

pub mod ai;
pub mod annotations;
#[cfg(feature = "viewer")]
pub mod app;
pub mod cli;
pub mod error;
pub mod fonts;
pub mod imaging;
pub mod net;
pub mod output;
pub mod reports;
pub mod triage;

pub use error::{ImagingError, ImagingErrorKind, ImagingResult};
