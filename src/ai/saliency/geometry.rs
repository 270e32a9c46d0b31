//! From a model-space map back to the source image's pixel grid, undoing
//! the preprocessing's resize and letterbox.
//!
//! A map of `rows × cols` cells covers the model input evenly; cell
//! centres sit at `(i + 0.5) · input / cells`. A source pixel centre is
//! carried into the input through the content rectangle the image was
//! resized into, then sampled bilinearly from the map (edges clamped), so
//! the same map lines up with the image at any zoom and in exports.

use crate::ai::preprocess::InputGeometry;

/// One output axis: for each output index, the two map cells to blend and
/// the weight of the second.
fn axis(out: u32, cells: u32, map_coordinate: impl Fn(f64) -> f64) -> Vec<(usize, usize, f32)> {
    let last = cells.saturating_sub(1) as f64;
    (0..out)
        .map(|i| {
            let c = map_coordinate(i as f64 + 0.5).clamp(0.0, last);
            let lo = c.floor();
            let hi = (lo + 1.0).min(last);
            (lo as usize, hi as usize, (c - lo) as f32)
        })
        .collect()
}

fn bilinear(
    map: &[f32],
    cols: u32,
    xs: &[(usize, usize, f32)],
    ys: &[(usize, usize, f32)],
) -> Vec<f32> {
    let cols = cols as usize;
    let mut out = vec![0f32; xs.len() * ys.len()];
    let mut blended_row = vec![0f32; cols];
    let mut previous: Option<(usize, usize, f32)> = None;
    for (out_row, &(y0, y1, wy)) in out.chunks_exact_mut(xs.len().max(1)).zip(ys) {
        // Output rows between the same two map rows at the same weight
        // share one blended map row.
        if previous != Some((y0, y1, wy)) {
            let (r0, r1) = (&map[y0 * cols..][..cols], &map[y1 * cols..][..cols]);
            for ((b, &a0), &a1) in blended_row.iter_mut().zip(r0).zip(r1) {
                *b = a0 + (a1 - a0) * wy;
            }
            previous = Some((y0, y1, wy));
        }
        for (o, &(x0, x1, wx)) in out_row.iter_mut().zip(xs) {
            let (a, b) = (blended_row[x0], blended_row[x1]);
            *o = a + (b - a) * wx;
        }
    }
    out
}

/// A model-space map's grid: cells of `cell_width × cell_height` input
/// pixels from the input's top-left corner (a Grad-CAM feature map tiles
/// the input; occlusion windows sit every stride).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapGrid {
    /// Rows of cells.
    pub rows: u32,
    /// Columns of cells.
    pub cols: u32,
    /// Cell width in input pixels.
    pub cell_width: f64,
    /// Cell height in input pixels.
    pub cell_height: f64,
}

impl MapGrid {
    /// `rows × cols` cells tiling an input of `width × height`.
    pub fn tiling(rows: u32, cols: u32, width: u32, height: u32) -> Self {
        Self {
            rows,
            cols,
            cell_width: width as f64 / cols as f64,
            cell_height: height as f64 / rows as f64,
        }
    }
}

/// Resamples a model-space map (row-major, `grid.rows × grid.cols`) to the
/// source image's grid (`source_width × source_height`).
pub fn to_source_grid(map: &[f32], grid: MapGrid, geometry: &InputGeometry) -> Vec<f32> {
    let g = geometry;
    let to_map = |cell: f64, offset: u32, content: u32, source: u32| {
        let scale = content as f64 / source as f64;
        move |source_centre: f64| (offset as f64 + source_centre * scale) / cell - 0.5
    };
    let xs = axis(
        g.source_width,
        grid.cols,
        to_map(
            grid.cell_width,
            g.content_x,
            g.content_width,
            g.source_width,
        ),
    );
    let ys = axis(
        g.source_height,
        grid.rows,
        to_map(
            grid.cell_height,
            g.content_y,
            g.content_height,
            g.source_height,
        ),
    );
    bilinear(map, grid.cols, &xs, &ys)
}

/// Resamples a model-space map to the input's own pixel grid
/// (`input_width × input_height`), as the deletion metric needs.
pub fn to_input_grid(map: &[f32], grid: MapGrid, input_width: u32, input_height: u32) -> Vec<f32> {
    let xs = axis(input_width, grid.cols, |c| c / grid.cell_width - 0.5);
    let ys = axis(input_height, grid.rows, |c| c / grid.cell_height - 0.5);
    bilinear(map, grid.cols, &xs, &ys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(
        sw: u32,
        sh: u32,
        iw: u32,
        ih: u32,
        content: (u32, u32, u32, u32),
    ) -> InputGeometry {
        InputGeometry {
            source_width: sw,
            source_height: sh,
            input_width: iw,
            input_height: ih,
            content_x: content.0,
            content_y: content.1,
            content_width: content.2,
            content_height: content.3,
        }
    }

    #[test]
    fn a_map_the_size_of_the_source_comes_back_unchanged() {
        let map: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let g = geometry(4, 3, 4, 3, (0, 0, 4, 3));
        assert_eq!(to_source_grid(&map, MapGrid::tiling(3, 4, 4, 3), &g), map);
    }

    #[test]
    fn a_stretched_cell_lands_on_the_matching_source_region() {
        // A 2×2 map with one hot cell (top right), a 40×20 source stretched
        // to a 10×10 input: the hot quarter is source x ≥ 20, y < 10.
        let map = [0.0, 1.0, 0.0, 0.0];
        let g = geometry(40, 20, 10, 10, (0, 0, 10, 10));
        let out = to_source_grid(&map, MapGrid::tiling(2, 2, 10, 10), &g);
        let at = |x: usize, y: usize| out[y * 40 + x];
        assert_eq!(at(39, 0), 1.0);
        assert_eq!(at(0, 19), 0.0);
        assert!(at(25, 5) > 0.5 && at(15, 5) < 0.5);
        // Symmetric about the cell boundary at x = 20.
        assert!((at(19, 0) + at(20, 0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn letterbox_padding_is_undone() {
        // A 20×10 source letterboxed into a 20×20 input: content rows 5..15.
        // A map whose top and bottom quarters are hot (the padding) and the
        // middle cold must come back cold over the middle of the source.
        let map = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let g = geometry(20, 10, 20, 20, (0, 5, 20, 10));
        let out = to_source_grid(&map, MapGrid::tiling(4, 2, 20, 20), &g);
        let mid = out[5 * 20 + 10];
        assert!(mid < 0.01, "{mid}");
    }
}
