//! The TID 1500 SR and the presentation states read back exactly.

use super::*;

fn report() -> StructuredReport {
    let ForeignObject::StructuredReport(sr) = read("sr_tid1500.dcm") else {
        panic!("not a structured report");
    };
    sr
}

#[test]
fn tid1500_report_lists_findings_measurements_and_coordinates() {
    let sr = report();
    assert_eq!(sr.template.as_deref(), Some("1500"));
    assert_eq!(
        sr.title.as_ref().unwrap().meaning,
        "Imaging Measurement Report"
    );
    assert_eq!(
        sr.header.series_description.as_deref(),
        Some("Test measurement report")
    );
    assert_eq!(
        sr.header.algorithm.as_deref(),
        Some("Test AI"),
        "device observer name"
    );
    assert!(
        sr.context
            .iter()
            .any(|(n, v)| n == "Procedure reported" && v == "CT unspecified body region"),
        "{:?}",
        sr.context
    );
    assert_eq!(sr.groups.len(), 1);
    let group = &sr.groups[0];
    assert_eq!(group.tracking_id.as_deref(), Some("Lesion 1"));
    assert!(group.tracking_uid.is_some());
    assert_eq!(group.finding.as_ref().unwrap().meaning, "Nodule");
    assert_eq!(group.title().as_deref(), Some("Lesion 1"));

    assert_eq!(sr.measurements.len(), 1);
    let area = &sr.measurements[0];
    assert_eq!(area.name, "Area");
    assert_eq!(area.value, Some(123.5));
    assert!(area.units.as_ref().unwrap().is("mm2", "UCUM"));
    assert_eq!(area.unit_text(), "mm2");
    assert_eq!(area.group, Some(0));

    let findings: Vec<(&str, &str)> = sr
        .findings
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(findings, [("Finding", "Nodule"), ("Margin", "Spiculated")]);
    assert!(sr.findings.iter().all(|f| f.group == Some(0)));

    assert_eq!(sr.coordinates.len(), 1);
    let region = &sr.coordinates[0];
    assert_eq!(region.name, "Image Region");
    assert_eq!(region.graphic_type, GraphicType::Polyline);
    assert_eq!(
        region.points,
        points(&[(10.5, 20.0), (40.0, 20.0), (40.0, 50.25), (10.5, 20.0)])
    );
    let image = region.image.as_ref().unwrap();
    assert_eq!(image.sop_instance_uid, ct_uid());
    assert!(image.frames.is_empty());
    assert_eq!(region.group, Some(0));
    assert_eq!(sr.group_coordinates(0).count(), 1);
    assert!(sr.header.notes.is_empty(), "{:?}", sr.header.notes);

    let m = &match_references(
        &[ForeignObject::StructuredReport(sr)],
        &[image_ref("CT_small.dcm")],
    )[0];
    assert!(m.is_complete(), "{m:?}");
    let coordinate: Vec<_> = m.resolved_for(Referrer::Coordinate(0)).collect();
    assert_eq!((coordinate[0].image, coordinate[0].frame), (0, Some(0)));
}

#[test]
fn a_frame_the_image_does_not_have_is_listed() {
    let mut sr = report();
    sr.coordinates[0].image.as_mut().unwrap().frames = vec![2];
    let m = &match_references(
        &[ForeignObject::StructuredReport(sr)],
        &[image_ref("CT_small.dcm")],
    )[0];
    let u = &m.unresolved[0];
    assert_eq!(u.referrer, Referrer::Coordinate(0));
    assert_eq!(u.frame_number, Some(2));
    assert_eq!(u.reason, UnresolvedReason::FrameOutOfRange { frames: 1 });
}

fn presentation(name: &str) -> PresentationState {
    let ForeignObject::PresentationState(ps) = read(name) else {
        panic!("{name} is not a presentation state");
    };
    ps
}

#[test]
fn pydicom_gsps_reads_every_field() {
    let ps = presentation("gsps_full.dcm");
    assert_eq!(ps.header.content_label.as_deref(), Some("ANNOTATED"));
    assert_eq!(ps.header.modality.as_deref(), Some("PR"));
    assert_eq!(ps.layers.len(), 1);
    assert_eq!((ps.layers[0].name.as_str(), ps.layers[0].order), ("AI", 1));
    assert_eq!(ps.layers[0].description.as_deref(), Some("findings"));
    assert_eq!(ps.annotations.len(), 1);
    let a = &ps.annotations[0];
    assert_eq!(a.layer, "AI");
    assert_eq!(a.images.len(), 2);

    let boxed = &a.texts[0];
    assert_eq!(boxed.text, "Nodule 12 mm");
    let bb = boxed.bounding_box.as_ref().unwrap();
    assert_eq!(bb.units, Units::Pixel);
    assert_eq!(
        (bb.top_left, bb.bottom_right),
        (Point::new(5.0, 6.0), Point::new(60.0, 16.0))
    );
    assert_eq!(bb.justification.as_deref(), Some("LEFT"));
    assert!(boxed.anchor.is_none());
    let anchored = &a.texts[1];
    let anchor = anchored.anchor.as_ref().unwrap();
    assert_eq!(
        (anchor.units, anchor.point, anchor.visible),
        (Units::Display, Point::new(0.25, 0.75), true)
    );

    let poly = &a.graphics[0];
    assert_eq!(
        (poly.graphic_type.clone(), poly.units, poly.filled),
        (GraphicType::Polyline, Units::Pixel, false)
    );
    assert_eq!(
        poly.points,
        points(&[(10.0, 10.0), (50.5, 10.0), (50.5, 40.0)])
    );
    let circle = &a.graphics[1];
    assert_eq!(
        (circle.graphic_type.clone(), circle.units, circle.filled),
        (GraphicType::Circle, Units::Display, true)
    );
    assert_eq!(circle.points, points(&[(0.5, 0.5), (0.625, 0.5)]));

    let area = &ps.displayed_areas[0];
    assert_eq!((area.top_left, area.bottom_right), ([1, 1], [100, 120]));
    assert_eq!(area.size_mode.as_deref(), Some("SCALE TO FIT"));
    assert_eq!(area.pixel_spacing, Some([0.661468, 0.661468]));
    assert_eq!(
        area.pixel_rect(),
        (Point::new(0.0, 0.0), Point::new(100.0, 120.0))
    );
    let window = &ps.windows[0];
    assert_eq!((window.center, window.width), (Some(40.0), Some(400.0)));
    assert_eq!(window.explanation.as_deref(), Some("soft tissue"));
    assert_eq!(ps.presentation_lut_shape.as_deref(), Some("IDENTITY"));
    assert!(ps.header.notes.is_empty(), "{:?}", ps.header.notes);

    // The annotation also names an image that is not loaded: listed.
    let m = &match_references(
        &[ForeignObject::PresentationState(ps)],
        &[image_ref("CT_small.dcm")],
    )[0];
    for referrer in [
        Referrer::Annotation(0),
        Referrer::DisplayedArea(0),
        Referrer::Window(0),
        Referrer::Object,
    ] {
        let r: Vec<_> = m.resolved_for(referrer).collect();
        assert_eq!(r.len(), 1, "{referrer:?}");
        assert_eq!((r[0].image, r[0].frame), (0, Some(0)));
    }
    assert_eq!(m.missing_uids(), ["1.2.826.0.1.3680043.9.7433.99.1"]);
    assert_eq!(m.unresolved[0].referrer, Referrer::Annotation(0));
}

#[test]
fn dcmtk_gsps_gives_displayed_area_and_modality_lut() {
    let ps = presentation("gsps_dcmtk.dcm");
    assert_eq!(ps.header.sop_class_uid, "1.2.840.10008.5.1.4.1.1.11.1");
    assert!(ps.annotations.is_empty());
    let area = &ps.displayed_areas[0];
    assert_eq!((area.top_left, area.bottom_right), ([1, 1], [128, 128]));
    assert_eq!(area.images[0].sop_instance_uid, ct_uid());
    assert_eq!(ps.rescale, Some((1.0, -1024.0)));
    assert_eq!(ps.all_images().next().unwrap().sop_instance_uid, ct_uid());
    let m = &match_references(
        &[ForeignObject::PresentationState(ps)],
        &[image_ref("CT_small.dcm")],
    )[0];
    assert!(m.is_complete() && m.images() == [0], "{m:?}");
}
