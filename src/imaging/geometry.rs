//! Where an image lies in the patient: its plane from Image Position and
//! Orientation (Patient) and Pixel Spacing, a pixel's patient point, a
//! slice's position along its normal, and the line where another slice's
//! plane crosses it (the reference line a viewer draws).
//!
//! Image coordinates are the viewer's: pixel corners at integers, so the
//! centre of the first pixel (the point Image Position (Patient) names) is
//! (0.5, 0.5).

use super::Image;
use super::series::{add_scaled, dot, slice_normal, sub};

/// Two slice normals are taken as parallel within this angle, degrees.
pub const PARALLEL_DEGREES: f64 = 1.0;

/// An image's plane in patient space (mm), within its Frame of Reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlane {
    /// Frame of Reference UID: planes of different ones are not related.
    pub frame_of_reference: String,
    /// Centre of the first pixel.
    pub origin: [f64; 3],
    /// Direction of increasing column (along a row).
    pub row_direction: [f64; 3],
    /// Direction of increasing row (down a column).
    pub column_direction: [f64; 3],
    /// Row × column direction.
    pub normal: [f64; 3],
    /// Pixel Spacing: between rows, between columns.
    pub spacing: [f64; 2],
    /// Columns and rows.
    pub size: [f64; 2],
}

impl ImagePlane {
    /// The plane of `image`, or `None` when it lacks a Frame of Reference,
    /// Image Position or Orientation (Patient) or Pixel Spacing (a
    /// projection radiograph has no plane in the patient).
    pub fn of(image: &Image) -> Option<Self> {
        let m = &image.metadata;
        let orientation = m.image_orientation_patient?;
        let spacing = m.pixel_spacing?;
        if spacing.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return None;
        }
        Some(Self {
            frame_of_reference: m.frame_of_reference_uid.clone()?,
            origin: m.image_position_patient?,
            row_direction: [orientation[0], orientation[1], orientation[2]],
            column_direction: [orientation[3], orientation[4], orientation[5]],
            normal: slice_normal(&orientation),
            spacing,
            size: [image.pixels.columns as f64, image.pixels.rows as f64],
        })
    }

    /// The patient point at image point (`x`, `y`).
    pub fn patient_point(&self, x: f64, y: f64) -> [f64; 3] {
        let (u, v) = ((x - 0.5) * self.spacing[1], (y - 0.5) * self.spacing[0]);
        add_scaled(
            add_scaled(self.origin, self.row_direction, u),
            self.column_direction,
            v,
        )
    }

    /// The normal turned so that its largest component is positive: the
    /// same sense for every series of one orientation, whichever way its
    /// rows and columns run (head-first or feet-first).
    pub fn canonical_normal(&self) -> [f64; 3] {
        let n = self.normal;
        let largest = n
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(1.0);
        if largest < 0.0 { n.map(|c| -c) } else { n }
    }

    /// The slice's position along its canonical normal, mm.
    pub fn position(&self) -> f64 {
        dot(self.origin, self.canonical_normal())
    }

    /// True when the two planes' normals are parallel (either sense)
    /// within [`PARALLEL_DEGREES`].
    pub fn parallel_to(&self, other: &ImagePlane) -> bool {
        dot(self.normal, other.normal).abs() > PARALLEL_DEGREES.to_radians().cos()
    }

    /// The line where `other`'s plane crosses this image, in this image's
    /// coordinates, clipped to the image: `None` for another Frame of
    /// Reference, parallel planes, or a crossing outside the image.
    pub fn reference_line(&self, other: &ImagePlane) -> Option<[[f64; 2]; 2]> {
        if self.frame_of_reference != other.frame_of_reference || self.parallel_to(other) {
            return None;
        }
        // Points (x, y) of this image on the other plane: a·x + b·y = d.
        let a = self.spacing[1] * dot(self.row_direction, other.normal);
        let b = self.spacing[0] * dot(self.column_direction, other.normal);
        let d = dot(sub(other.origin, self.origin), other.normal) + 0.5 * a + 0.5 * b;
        let [w, h] = self.size;
        let eps = 1e-9;
        let mut ends: Vec<[f64; 2]> = Vec::with_capacity(4);
        if b.abs() > eps {
            for x in [0.0, w] {
                let y = (d - a * x) / b;
                if (-eps..=h + eps).contains(&y) {
                    ends.push([x, y.clamp(0.0, h)]);
                }
            }
        }
        if a.abs() > eps {
            for y in [0.0, h] {
                let x = (d - b * y) / a;
                if (-eps..=w + eps).contains(&x) {
                    ends.push([x.clamp(0.0, w), y]);
                }
            }
        }
        // The two crossings furthest apart (a corner is found twice).
        let mut best: Option<([[f64; 2]; 2], f64)> = None;
        for (i, p) in ends.iter().enumerate() {
            for q in &ends[i + 1..] {
                let length = (p[0] - q[0]).hypot(p[1] - q[1]);
                if length > 1e-6 && best.is_none_or(|(_, l)| length > l) {
                    best = Some(([*p, *q], length));
                }
            }
        }
        best.map(|(line, _)| line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(
        origin: [f64; 3],
        orientation: [f64; 6],
        spacing: [f64; 2],
        size: [f64; 2],
    ) -> ImagePlane {
        ImagePlane {
            frame_of_reference: "1.2.3".into(),
            origin,
            row_direction: [orientation[0], orientation[1], orientation[2]],
            column_direction: [orientation[3], orientation[4], orientation[5]],
            normal: slice_normal(&orientation),
            spacing,
            size,
        }
    }

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    const CORONAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];

    #[test]
    fn an_axial_slice_crosses_a_coronal_image_on_the_row_at_its_height() {
        // Coronal image: 100 columns × 80 rows, 1 mm × 2 mm (row spacing 2),
        // first pixel centre at z = 50, rows going down (−z).
        let coronal = plane([-50.0, 0.0, 50.0], CORONAL, [2.0, 1.0], [100.0, 80.0]);
        // Axial slice at z = 20: (50 − 20) / 2 = 15 rows down from the
        // first pixel centre, i.e. y = 15.5 in image coordinates.
        let axial = plane([-50.0, -50.0, 20.0], AXIAL, [1.0, 1.0], [100.0, 100.0]);
        let line = coronal.reference_line(&axial).unwrap();
        let mut xs = [line[0][0], line[1][0]];
        xs.sort_by(f64::total_cmp);
        assert_eq!(xs, [0.0, 100.0]);
        for end in line {
            assert!((end[1] - 15.5).abs() < 1e-9, "{line:?}");
        }
        // And the coronal plane (y = 0) crosses the axial image on row y
        // where −50 + (y − 0.5) = 0.
        let back = axial.reference_line(&coronal).unwrap();
        for end in back {
            assert!((end[1] - 50.5).abs() < 1e-9, "{back:?}");
        }
    }

    #[test]
    fn no_line_for_parallel_planes_other_frames_or_a_crossing_outside() {
        let a = plane([0.0, 0.0, 0.0], AXIAL, [1.0, 1.0], [10.0, 10.0]);
        let b = plane([0.0, 0.0, 5.0], AXIAL, [1.0, 1.0], [10.0, 10.0]);
        assert_eq!(a.reference_line(&b), None);
        let coronal = plane([0.0, 0.0, 5.0], CORONAL, [1.0, 1.0], [10.0, 10.0]);
        let mut other = coronal.clone();
        other.frame_of_reference = "9.9".into();
        assert!(a.reference_line(&coronal).is_some());
        assert_eq!(a.reference_line(&other), None);
        let far = plane([0.0, 500.0, 5.0], CORONAL, [1.0, 1.0], [10.0, 10.0]);
        assert_eq!(a.reference_line(&far), None);
    }

    #[test]
    fn an_oblique_plane_is_clipped_to_the_image() {
        let a = plane([0.0, 0.0, 0.0], AXIAL, [1.0, 1.0], [10.0, 10.0]);
        // A vertical plane through the image's diagonal (x = y).
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let diagonal = plane(
            [0.0, 0.0, 0.0],
            [s, s, 0.0, 0.0, 0.0, -1.0],
            [1.0, 1.0],
            [10.0, 10.0],
        );
        let line = a.reference_line(&diagonal).unwrap();
        for end in line {
            assert!((end[0] - end[1]).abs() < 1e-9, "{line:?}");
            assert!((0.0..=10.0).contains(&end[0]));
        }
        let length = (line[0][0] - line[1][0]).hypot(line[0][1] - line[1][1]);
        assert!(length > 13.0, "{line:?}");
    }

    #[test]
    fn positions_share_a_sense_across_head_first_and_feet_first_rows() {
        let head_first = plane([0.0, 0.0, 12.0], AXIAL, [1.0, 1.0], [4.0, 4.0]);
        // Rows running the other way flip the normal; the position does not.
        let feet_first = plane(
            [0.0, 0.0, 12.0],
            [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [1.0, 1.0],
            [4.0, 4.0],
        );
        assert_eq!(head_first.position(), 12.0);
        assert_eq!(feet_first.position(), 12.0);
        assert!(head_first.parallel_to(&feet_first));
        let p = head_first.patient_point(0.5, 2.5);
        assert_eq!(p, [0.0, 2.0, 12.0]);
    }
}
