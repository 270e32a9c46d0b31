//! `hilum triage` over an archive of about 300 images (corpus files,
//! bundled X-rays, generated DICOM in 30 studies, broken files): sharding
//! is deterministic and exact, sharded-and-merged equals one process,
//! a killed task resumes without duplicates, existing results are not
//! overwritten, a merge says what is missing; and (`slurm`) the job-array
//! script in `scripts/slurm/` on a real Slurm started by the test.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel that `scripts/test.sh`
//! installs into `$HILUM_VENV`; without it the runs fail.

#[path = "../common/mod.rs"]
mod common;

mod archive;
mod partition;
mod runs;
mod slurm;
