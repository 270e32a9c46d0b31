//! Parametric Maps and Segmentations read back exactly.

use super::*;

#[test]
fn float_parametric_map_gives_real_world_values() {
    let ForeignObject::ParametricMap(map) = read("pm_float.dcm") else {
        panic!("not a parametric map");
    };
    let h = &map.header;
    assert_eq!(h.sop_class_uid, "1.2.840.10008.5.1.4.1.1.30");
    assert_eq!(h.content_label.as_deref(), Some("RAMP_MAP"));
    assert_eq!(h.content_description.as_deref(), Some("a float ramp"));
    assert_eq!(h.series_description.as_deref(), Some("Test parametric map"));
    assert_eq!(h.manufacturer.as_deref(), Some("Hilum test suite"));
    assert_eq!(h.model_name.as_deref(), Some("foreign-objects"));
    assert_eq!((map.rows, map.columns, map.frames.len()), (128, 128, 1));

    let mapping = map.mapping(0).unwrap();
    assert_eq!(mapping.label.as_deref(), Some("RAMP"));
    assert_eq!(mapping.explanation.as_deref(), Some("test ramp"));
    let units = mapping.units.as_ref().unwrap();
    assert!(units.is("[hnsf'U]", "UCUM"), "{units:?}");
    assert_eq!(mapping.unit_text(), "HU");
    assert_eq!(
        mapping.transform,
        ValueTransform::Linear {
            slope: 2.0,
            intercept: -1.0
        }
    );
    // Stored ramp: row × 0.5 + column × 0.25; real world: 2 × stored − 1.
    for (x, y) in [(0, 0), (1, 0), (0, 1), (37, 91), (127, 127)] {
        let stored = y as f64 * 0.5 + x as f64 * 0.25;
        assert_eq!(map.stored_at(0, x, y), Some(stored));
        assert_eq!(
            map.value_at(0, x, y),
            Some(2.0 * stored - 1.0),
            "({x}, {y})"
        );
    }
    assert_eq!(map.value_at(0, 128, 0), None);
    assert_eq!(map.value_at(1, 0, 0), None);
    assert_eq!(map.frames[0].value_range, Some((-1.0, 2.0 * 95.25 - 1.0)));
    assert_eq!(map.value_range(), map.frames[0].value_range);
    assert_eq!(map.window, Some((64.0, 128.0)));
    let values = map.frame_values(0).unwrap();
    assert_eq!(
        values[5 * 128 + 9],
        (2.0 * (5.0 * 0.5 + 9.0 * 0.25) - 1.0) as f32
    );

    let sources = &map.frames[0].sources;
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].sop_instance_uid, ct_uid());
    let object = ForeignObject::ParametricMap(map);
    let m = &match_references(
        &[object],
        &[image_ref("MR_small.dcm"), image_ref("CT_small.dcm")],
    )[0];
    assert!(m.is_complete(), "{m:?}");
    let frame0: Vec<_> = m.resolved_for(Referrer::Frame(0)).collect();
    assert_eq!(frame0.len(), 1);
    assert_eq!((frame0[0].image, frame0[0].frame), (1, Some(0)));
}

#[test]
fn integer_parametric_map_uses_its_lut() {
    let ForeignObject::ParametricMap(map) = read("pm_lut.dcm") else {
        panic!("not a parametric map");
    };
    let mapping = map.mapping(0).unwrap();
    assert_eq!(mapping.label.as_deref(), Some("LUTMAP"));
    assert_eq!(mapping.first_mapped, Some(0.0));
    assert_eq!(mapping.last_mapped, Some(255.0));
    assert!(matches!(&mapping.transform, ValueTransform::Lut { data } if data.len() == 256));
    assert_eq!(mapping.unit_text(), "", "UCUM 1 has no unit to print");
    for (x, y) in [(0, 0), (3, 4), (127, 127), (100, 20)] {
        let stored = ((x + y) % 256) as f64;
        assert_eq!(map.stored_at(0, x, y), Some(stored));
        assert_eq!(
            map.value_at(0, x, y),
            Some(10.0 + 0.5 * stored),
            "({x}, {y})"
        );
    }
    assert_eq!(map.frames[0].value_range, Some((10.0, 10.0 + 0.5 * 254.0)));
}

#[test]
fn binary_segmentation_reads_masks_labels_and_colours() {
    let ForeignObject::Segmentation(seg) = read("seg_binary.dcm") else {
        panic!("not a segmentation");
    };
    assert_eq!(seg.kind, SegmentationKind::Binary);
    assert_eq!(seg.header.content_label.as_deref(), Some("TWO_SEGMENTS"));
    assert_eq!(
        seg.header.series_description.as_deref(),
        Some("Test binary segmentation")
    );
    assert_eq!(seg.header.algorithm.as_deref(), Some("test-segmenter 2.1"));
    let labels: Vec<_> = seg
        .segments
        .iter()
        .map(|s| (s.number, s.label.as_str()))
        .collect();
    assert_eq!(labels, [(1, "Rectangle lesion"), (2, "Disk lesion")]);
    let first = &seg.segments[0];
    assert_eq!(first.algorithm_type.as_deref(), Some("AUTOMATIC"));
    assert_eq!(first.cielab, Some([32768, 48316, 43176]));
    assert_eq!(first.property_type.as_ref().unwrap().meaning, "Neoplasm");
    let ours: Vec<[u8; 3]> = seg.segments.iter().map(|s| s.color).collect();
    assert_eq!(ours, colors("seg_binary_colors"), "same sRGB as highdicom");

    let inside = |segment: u16, x: usize, y: usize| match segment {
        1 => (10..30).contains(&y) && (20..50).contains(&x),
        _ => (y as i64 - 64).pow(2) + (x as i64 - 80).pow(2) <= 15 * 15,
    };
    for number in [1u16, 2] {
        let frames: Vec<usize> = seg.frames_of(number).collect();
        assert_eq!(frames.len(), 1, "segment {number}");
        let f = frames[0];
        assert_eq!(seg.frames[f].sources[0].sop_instance_uid, ct_uid());
        let pixels = seg.frame_pixels(f).unwrap();
        for y in 0..128 {
            for x in 0..128 {
                assert_eq!(
                    pixels[y * 128 + x] == 1,
                    inside(number, x, y),
                    "segment {number} at ({x}, {y})"
                );
            }
        }
        assert_eq!(pixels.iter().filter(|&&p| p > 1).count(), 0);
    }
    assert_eq!(
        seg.fraction_at(seg.frames_of(1).next().unwrap(), 20, 10),
        Some(1.0)
    );
    assert_eq!(seg.value_at(0, 128, 0), None);
}

#[test]
fn fractional_segmentation_keeps_its_fractions() {
    let ForeignObject::Segmentation(seg) = read("seg_fractional.dcm") else {
        panic!("not a segmentation");
    };
    assert_eq!(
        seg.kind,
        SegmentationKind::Fractional {
            fractional_type: Some("PROBABILITY".into()),
            max_value: 255
        }
    );
    assert_eq!(seg.segments[0].label, "Probability");
    assert_eq!(vec![seg.segments[0].color], colors("seg_fractional_colors"));
    let values = expected()["fractional_values"].as_object().unwrap();
    assert_eq!(values.len(), 4);
    for (key, value) in values {
        let (r, c) = key.split_once(',').unwrap();
        let (y, x): (usize, usize) = (r.parse().unwrap(), c.parse().unwrap());
        let v = value.as_u64().unwrap() as u8;
        assert_eq!(v as usize, (x + y) % 256, "the generator's fractions");
        assert_eq!(
            seg.value_at(0, x, y),
            Some(v),
            "({x}, {y}) as pydicom decodes it"
        );
        assert_eq!(seg.fraction_at(0, x, y), Some(f64::from(v) / 255.0));
    }
}

#[test]
fn binary_frames_that_are_not_whole_bytes_run_on_across_frames() {
    let ForeignObject::Segmentation(seg) = read("seg_odd.dcm") else {
        panic!("not a segmentation");
    };
    assert_eq!((seg.rows, seg.columns, seg.frames.len()), (3, 5, 3));
    let mut ours = Vec::new();
    for f in 0..3 {
        ours.extend_from_slice(seg.frame_pixels(f).unwrap());
    }
    let pydicom: Vec<u8> = serde_json::from_value(expected()["odd_pixels"].clone()).unwrap();
    assert_eq!(ours, pydicom);
    // The masks the generator drew: frame 1 row 0, frame 2 column 0 and
    // (row 2, column 4), frame 3 the diagonal.
    for x in 0..5 {
        assert_eq!(seg.value_at(0, x, 0), Some(1));
        assert_eq!(seg.value_at(0, x, 1), Some(0));
    }
    assert_eq!(seg.value_at(1, 0, 2), Some(1));
    assert_eq!(seg.value_at(1, 4, 2), Some(1));
    assert_eq!(seg.value_at(1, 1, 2), Some(0));
    for i in 0..3 {
        assert_eq!(seg.value_at(2, i, i), Some(1));
    }
    // No colour in the file: the default palette.
    assert_eq!(seg.segments[0].cielab, None);
    assert_eq!(seg.segments[0].color, default_color(0));
    assert_eq!(seg.segments[1].color, default_color(1));
    assert_eq!(
        seg.frames.iter().map(|f| f.segment).collect::<Vec<_>>(),
        [1, 2, 1]
    );

    // Frames 1 and 2 are on MR_small; frame 3 names an image nobody has.
    let object = ForeignObject::Segmentation(seg);
    let m = &match_references(&[object], &[image_ref("MR_small.dcm")])[0];
    assert_eq!(m.resolved.len(), 2);
    assert!(
        m.resolved
            .iter()
            .all(|r| r.image == 0 && r.frame == Some(0))
    );
    assert_eq!(m.unresolved.len(), 1);
    assert_eq!(m.unresolved[0].referrer, Referrer::Frame(2));
    assert_eq!(m.unresolved[0].reason, UnresolvedReason::NotLoaded);
    assert_eq!(m.missing_uids(), ["1.2.3.999.1"]);
}
