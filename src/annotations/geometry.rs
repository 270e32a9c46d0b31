//! Shape geometry for editing, independent of any UI: the handles a
//! reader drags, moving one, outlines, and hit testing. Shapes are in
//! source-pixel coordinates; hit testing happens in screen space through a
//! caller's `to_screen` mapping, so a pick distance stays the same at every
//! zoom.

use super::{Point, Shape};

/// A position on screen (x, y), in the caller's units (e.g. points).
pub type ScreenPos = [f32; 2];

/// The ellipse inscribed in the box with corners `a` and `b` (an ellipse
/// ROI is drawn by dragging its bounding box).
pub fn ellipse_in_box(a: Point, b: Point) -> Shape {
    Shape::Ellipse {
        center: Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0),
        radius_x: (b.x - a.x).abs() / 2.0,
        radius_y: (b.y - a.y).abs() / 2.0,
    }
}

/// The points a reader can drag to edit `shape`.
pub fn handles(shape: &Shape) -> Vec<Point> {
    match shape {
        Shape::Length { start, end } => vec![*start, *end],
        Shape::Angle {
            first,
            vertex,
            second,
        } => vec![*first, *vertex, *second],
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => vec![
            *center,
            Point::new(center.x + radius_x, center.y + radius_y),
        ],
        Shape::Rectangle { corner, opposite } => vec![*corner, *opposite],
        Shape::Arrow { tail, head } => vec![*tail, *head],
        Shape::Text { anchor, .. } => vec![*anchor],
    }
}

/// Moves handle `handle` of `shape` to `p` (an ellipse's centre handle
/// moves it whole; its corner handle sets the radii).
pub fn move_handle(shape: &mut Shape, handle: usize, p: Point) {
    match shape {
        Shape::Length { start, end } => *[start, end][handle.min(1)] = p,
        Shape::Angle {
            first,
            vertex,
            second,
        } => *[first, vertex, second][handle.min(2)] = p,
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => {
            if handle == 0 {
                *center = p;
            } else {
                *radius_x = (p.x - center.x).abs();
                *radius_y = (p.y - center.y).abs();
            }
        }
        Shape::Rectangle { corner, opposite } => *[corner, opposite][handle.min(1)] = p,
        Shape::Arrow { tail, head } => *[tail, head][handle.min(1)] = p,
        Shape::Text { anchor, .. } => *anchor = p,
    }
}

/// The outline of `shape` as a polyline in image coordinates (an ellipse
/// as 64 segments).
pub fn outline(shape: &Shape) -> Vec<Point> {
    match shape {
        Shape::Length { start, end } => vec![*start, *end],
        Shape::Arrow { tail, head } => vec![*tail, *head],
        Shape::Angle {
            first,
            vertex,
            second,
        } => vec![*first, *vertex, *second],
        Shape::Rectangle { corner, opposite } => vec![
            *corner,
            Point::new(opposite.x, corner.y),
            *opposite,
            Point::new(corner.x, opposite.y),
            *corner,
        ],
        Shape::Ellipse {
            center,
            radius_x,
            radius_y,
        } => (0..=64)
            .map(|i| {
                let a = i as f64 / 64.0 * std::f64::consts::TAU;
                Point::new(center.x + radius_x * a.cos(), center.y + radius_y * a.sin())
            })
            .collect(),
        Shape::Text { anchor, .. } => vec![*anchor],
    }
}

fn distance(a: ScreenPos, b: ScreenPos) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// The distance from `p` to the segment `a`–`b`.
pub fn segment_distance(p: ScreenPos, a: ScreenPos, b: ScreenPos) -> f32 {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let len2 = ab[0] * ab[0] + ab[1] * ab[1];
    if len2 == 0.0 {
        return distance(p, a);
    }
    let s = (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / len2).clamp(0.0, 1.0);
    distance(p, [a[0] + ab[0] * s, a[1] + ab[1] * s])
}

/// The first handle of `shape` within `radius` of `pos` on screen.
pub fn handle_at(
    shape: &Shape,
    to_screen: &dyn Fn(Point) -> ScreenPos,
    pos: ScreenPos,
    radius: f32,
) -> Option<usize> {
    handles(shape)
        .iter()
        .position(|p| distance(to_screen(*p), pos) <= radius)
}

/// True when `pos` is within `radius` of `shape`'s outline or one of its
/// handles on screen.
pub fn hits(
    shape: &Shape,
    to_screen: &dyn Fn(Point) -> ScreenPos,
    pos: ScreenPos,
    radius: f32,
) -> bool {
    outline(shape)
        .windows(2)
        .any(|w| segment_distance(pos, to_screen(w[0]), to_screen(w[1])) <= radius)
        || handle_at(shape, to_screen, pos, radius).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Screen = image × 2 (a 200% zoom).
    fn zoom2(p: Point) -> ScreenPos {
        [p.x as f32 * 2.0, p.y as f32 * 2.0]
    }

    #[test]
    fn an_ellipse_fills_its_box_and_its_corner_handle_sets_the_radii() {
        let mut e = ellipse_in_box(Point::new(10.0, 20.0), Point::new(30.0, 60.0));
        assert_eq!(
            e,
            Shape::Ellipse {
                center: Point::new(20.0, 40.0),
                radius_x: 10.0,
                radius_y: 20.0
            }
        );
        assert_eq!(handles(&e)[1], Point::new(30.0, 60.0));
        move_handle(&mut e, 1, Point::new(25.0, 35.0));
        assert_eq!(handles(&e)[1], Point::new(25.0, 45.0));
        move_handle(&mut e, 0, Point::new(0.0, 0.0));
        assert_eq!(handles(&e)[0], Point::new(0.0, 0.0));
    }

    #[test]
    fn picking_is_in_screen_space_on_outlines_and_handles() {
        let rect = Shape::Rectangle {
            corner: Point::new(10.0, 10.0),
            opposite: Point::new(50.0, 30.0),
        };
        assert_eq!(outline(&rect).len(), 5);
        // The top edge runs at screen y = 20 from x = 20 to 100.
        assert!(hits(&rect, &zoom2, [60.0, 25.0], 6.0));
        assert!(!hits(&rect, &zoom2, [60.0, 27.0], 6.0));
        // The inside of a rectangle is not its outline.
        assert!(!hits(&rect, &zoom2, [60.0, 40.0], 6.0));
        assert_eq!(handle_at(&rect, &zoom2, [101.0, 61.0], 6.0), Some(1));
        assert_eq!(handle_at(&rect, &zoom2, [60.0, 40.0], 6.0), None);
        let mut line = Shape::Length {
            start: Point::new(0.0, 0.0),
            end: Point::new(10.0, 0.0),
        };
        move_handle(&mut line, 7, Point::new(5.0, 5.0));
        assert_eq!(
            handles(&line)[1],
            Point::new(5.0, 5.0),
            "clamped to the last"
        );
    }

    #[test]
    fn segment_distance_is_to_the_nearest_point_of_the_segment() {
        assert_eq!(segment_distance([5.0, 3.0], [0.0, 0.0], [10.0, 0.0]), 3.0);
        assert_eq!(segment_distance([13.0, 4.0], [0.0, 0.0], [10.0, 0.0]), 5.0);
        assert_eq!(segment_distance([3.0, 4.0], [0.0, 0.0], [0.0, 0.0]), 5.0);
    }
}
