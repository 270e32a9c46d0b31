//! Displaying a reformatted plane: the same VOI and inversion stages as
//! [`render_frame`](crate::imaging::render_frame), applied to the plane's
//! modality values.

use super::reformat::PlaneImage;
use super::{Volume, VolumeError};
use crate::imaging::render::{Rendered, display_modality_value, percentile_rank, resolve_voi_over};
use crate::imaging::voi::{Voi, WindowChoice};

/// The smallest and largest of `values`.
fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    values.iter().fold(None, |acc, &v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The values at the `low` and `high` percentiles, ranked as
/// [`render_frame`](crate::imaging::render_frame)'s auto window ranks them.
fn percentiles(values: &[f64], low: f64, high: f64) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    let n = sorted.len();
    let lo = *sorted
        .select_nth_unstable_by(percentile_rank(low, n), f64::total_cmp)
        .1;
    let hi = *sorted
        .select_nth_unstable_by(percentile_rank(high, n), f64::total_cmp)
        .1;
    Some((lo, hi))
}

/// The VOI a plane is displayed with: an explicit window or preset as
/// asked; the file's window comes from the plane's reference slice (the
/// slice itself for axial planes, the middle slice for reformats); min–max
/// and percentile windows are computed over the plane's own values.
pub fn plane_voi(
    volume: &Volume,
    plane: &PlaneImage,
    choice: &WindowChoice,
) -> Result<Voi, VolumeError> {
    let slice = &volume.slices()[plane.reference_slice];
    let image = &volume.images()[slice.image];
    Ok(resolve_voi_over(
        &image.path,
        image.file_vois(slice.frame),
        choice,
        || min_max(&plane.values),
        |low, high| percentiles(&plane.values, low, high),
    )?)
}

/// Renders a plane to 8 bits with `choice`, inverting as its reference
/// slice's image does (MONOCHROME1). For an axial plane of one slice the
/// result equals `render_frame` of that slice to the bit.
pub fn render_plane(
    volume: &Volume,
    plane: &PlaneImage,
    choice: &WindowChoice,
) -> Result<Rendered, VolumeError> {
    let voi = plane_voi(volume, plane, choice)?;
    Ok(render_plane_with(volume, plane, &voi))
}

/// Renders a plane with an already resolved VOI.
pub fn render_plane_with(volume: &Volume, plane: &PlaneImage, voi: &Voi) -> Rendered {
    let slice = &volume.slices()[plane.reference_slice];
    let invert = volume.images()[slice.image].inverts();
    let pixels = plane
        .values
        .iter()
        .map(|&v| display_modality_value(voi, invert, v))
        .collect();
    Rendered {
        width: plane.width,
        height: plane.height,
        channels: 1,
        pixels,
    }
}
