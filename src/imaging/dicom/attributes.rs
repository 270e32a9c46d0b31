//! Reading attributes: typed accessors, descriptive metadata, the pixel
//! description, and the pipeline parameters (Modality LUT, VOI, palette),
//! including enhanced objects' functional groups.

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{Element, Kind};
use crate::imaging::image::{Photometric, PixelDescription};
use crate::imaging::metadata::Metadata;
use crate::imaging::modality::{LookupTable, ModalityLut};
use crate::imaging::palette::{Palette, expand_segmented};
use crate::imaging::voi::{Voi, VoiFunction, Window};

/// The element `tag` when it has a value (an empty element counts as
/// absent).
pub(crate) fn element(ds: &InMemDicomObject, tag: Tag) -> Option<&Element> {
    ds.get(tag).filter(|e| {
        !e.value()
            .primitive()
            .is_some_and(|p| matches!(p, PrimitiveValue::Empty))
    })
}

/// The text of `tag`, trimmed of padding; `None` when absent or empty.
pub(crate) fn text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = element(ds, tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn float(ds: &InMemDicomObject, tag: Tag) -> Option<f64> {
    element(ds, tag)?
        .to_float64()
        .ok()
        .filter(|v| v.is_finite())
}

fn floats(ds: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    element(ds, tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.is_finite())
        .collect()
}

pub(super) fn int(ds: &InMemDicomObject, tag: Tag) -> Option<i64> {
    element(ds, tag)?.to_int::<i64>().ok()
}

fn fixed<const N: usize>(ds: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    floats(ds, tag).try_into().ok()
}

pub(super) fn items(ds: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    ds.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The values of an element as 16-bit words, whatever VR it was read with.
fn words(e: &Element) -> Option<Vec<u16>> {
    match e.value() {
        Value::Primitive(PrimitiveValue::U16(v)) => Some(v.to_vec()),
        Value::Primitive(PrimitiveValue::I16(v)) => Some(v.iter().map(|&x| x as u16).collect()),
        Value::Primitive(PrimitiveValue::U8(v)) => Some(
            v.chunks(2)
                .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect(),
        ),
        Value::Primitive(p) => p
            .to_multi_int::<i64>()
            .ok()
            .map(|v| v.into_iter().map(|x| x as u16).collect()),
        _ => None,
    }
}

/// Reads a LUT Descriptor + LUT Data pair (Modality, VOI or palette LUT).
fn lookup_table(
    descriptor: Option<&Element>,
    data: Option<&Element>,
    signed_first: bool,
) -> Result<Option<LookupTable>, String> {
    let (Some(descriptor), Some(data)) = (descriptor, data) else {
        return Ok(None);
    };
    let d = words(descriptor).ok_or("LUT Descriptor is not numeric")?;
    if d.len() < 3 {
        return Err(format!("LUT Descriptor has {} values, expected 3", d.len()));
    }
    let entries = if d[0] == 0 { 65536 } else { d[0] as usize };
    let first_mapped = if signed_first {
        d[1] as i16 as i64
    } else {
        d[1] as i64
    };
    let bits = d[2];
    if !(1..=16).contains(&bits) {
        return Err(format!("LUT Descriptor declares {bits} bits per entry"));
    }
    let mut values = words(data).ok_or("LUT Data is not numeric")?;
    // 8-bit entries may be packed two to a word in OW data.
    if bits <= 8 && values.len() * 2 == entries {
        values = values.iter().flat_map(|w| [(w & 0xFF), (w >> 8)]).collect();
    }
    if values.is_empty() {
        return Err("LUT Data is empty".into());
    }
    values.truncate(entries);
    Ok(Some(LookupTable {
        first_mapped,
        bits,
        data: values,
    }))
}

pub(super) fn read_metadata(ds: &InMemDicomObject) -> Metadata {
    Metadata {
        sop_class_uid: text(ds, tags::SOP_CLASS_UID),
        sop_instance_uid: text(ds, tags::SOP_INSTANCE_UID),
        modality: text(ds, tags::MODALITY),
        patient_name: text(ds, tags::PATIENT_NAME),
        patient_id: text(ds, tags::PATIENT_ID),
        patient_birth_date: text(ds, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(ds, tags::PATIENT_SEX),
        patient_age: text(ds, tags::PATIENT_AGE),
        study_instance_uid: text(ds, tags::STUDY_INSTANCE_UID),
        study_date: text(ds, tags::STUDY_DATE),
        study_description: text(ds, tags::STUDY_DESCRIPTION),
        accession_number: text(ds, tags::ACCESSION_NUMBER),
        institution_name: text(ds, tags::INSTITUTION_NAME),
        series_instance_uid: text(ds, tags::SERIES_INSTANCE_UID),
        series_number: int(ds, tags::SERIES_NUMBER),
        series_description: text(ds, tags::SERIES_DESCRIPTION),
        body_part_examined: text(ds, tags::BODY_PART_EXAMINED),
        view_position: text(ds, tags::VIEW_POSITION),
        instance_number: int(ds, tags::INSTANCE_NUMBER),
        image_position_patient: fixed(ds, tags::IMAGE_POSITION_PATIENT).or_else(|| {
            functional_group(ds, 0, tags::PLANE_POSITION_SEQUENCE, |i| {
                fixed(i, tags::IMAGE_POSITION_PATIENT)
            })
        }),
        image_orientation_patient: fixed(ds, tags::IMAGE_ORIENTATION_PATIENT).or_else(|| {
            functional_group(ds, 0, tags::PLANE_ORIENTATION_SEQUENCE, |i| {
                fixed(i, tags::IMAGE_ORIENTATION_PATIENT)
            })
        }),
        patient_orientation: text(ds, tags::PATIENT_ORIENTATION)
            .map(|s| s.split('\\').map(|p| p.trim().to_string()).collect()),
        pixel_spacing: fixed(ds, tags::PIXEL_SPACING).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_MEASURES_SEQUENCE, |i| {
                fixed(i, tags::PIXEL_SPACING)
            })
        }),
        imager_pixel_spacing: fixed(ds, tags::IMAGER_PIXEL_SPACING),
        slice_thickness: float(ds, tags::SLICE_THICKNESS).or_else(|| {
            functional_group(ds, 0, tags::PIXEL_MEASURES_SEQUENCE, |i| {
                float(i, tags::SLICE_THICKNESS)
            })
        }),
        frame_of_reference_uid: text(ds, tags::FRAME_OF_REFERENCE_UID),
        burned_in_annotation: text(ds, tags::BURNED_IN_ANNOTATION),
    }
}

/// Looks a value up in an enhanced object's functional groups for `frame`:
/// the per-frame item first, then the shared item (PS3.3 C.7.6.16).
pub(super) fn functional_group<T>(
    ds: &InMemDicomObject,
    frame: usize,
    macro_tag: Tag,
    get: impl Fn(&InMemDicomObject) -> Option<T>,
) -> Option<T> {
    let from = |group: Option<&InMemDicomObject>| {
        group
            .and_then(|g| items(g, macro_tag).first())
            .and_then(&get)
    };
    from(items(ds, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(frame))
        .or_else(|| from(items(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first()))
}

/// How many frames need their own pipeline parameters: every frame when
/// the object has per-frame functional groups (Number of Frames is bounded
/// by the pixel data before this runs), else one.
fn per_frame_count(ds: &InMemDicomObject, desc: &PixelDescription) -> usize {
    if items(ds, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).is_empty() {
        1
    } else {
        desc.frames
    }
}

fn u16_attr(ds: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<u16>, Kind> {
    match int(ds, tag) {
        None => Ok(None),
        Some(v) if (0..=u16::MAX as i64).contains(&v) => Ok(Some(v as u16)),
        Some(v) => Err(Kind::InvalidAttribute {
            name,
            reason: format!("value {v} out of range"),
        }),
    }
}

fn required(v: Option<u16>, name: &'static str) -> Result<u16, Kind> {
    v.ok_or(Kind::InvalidAttribute {
        name,
        reason: "missing".into(),
    })
}

pub(super) fn describe_pixels(ds: &InMemDicomObject) -> Result<PixelDescription, Kind> {
    let bad = |name: &'static str, reason: String| Kind::InvalidAttribute { name, reason };
    let rows = required(u16_attr(ds, tags::ROWS, "Rows")?, "Rows")?;
    let columns = required(u16_attr(ds, tags::COLUMNS, "Columns")?, "Columns")?;
    let bits_allocated = required(
        u16_attr(ds, tags::BITS_ALLOCATED, "BitsAllocated")?,
        "BitsAllocated",
    )?;
    let bits_stored = u16_attr(ds, tags::BITS_STORED, "BitsStored")?.unwrap_or(bits_allocated);
    let high_bit =
        u16_attr(ds, tags::HIGH_BIT, "HighBit")?.unwrap_or(bits_stored.saturating_sub(1));
    let samples_per_pixel = u16_attr(ds, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
    let pixel_representation =
        u16_attr(ds, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0);
    let planar_configuration = u16_attr(ds, tags::PLANAR_CONFIGURATION, "PlanarConfiguration")?;
    let frames = match int(ds, tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(n) if n >= 1 => n as usize,
        Some(0) => 1,
        Some(n) => return Err(bad("NumberOfFrames", format!("value {n}"))),
    };
    if rows == 0 || columns == 0 {
        return Err(bad(
            "Rows/Columns",
            format!("{rows}x{columns} has no pixels"),
        ));
    }
    if ![1, 8, 16, 32].contains(&bits_allocated) {
        return Err(bad(
            "BitsAllocated",
            format!("{bits_allocated} is not supported (1, 8, 16 or 32)"),
        ));
    }
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(bad(
            "BitsStored",
            format!("{bits_stored} with BitsAllocated {bits_allocated}"),
        ));
    }
    if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
        return Err(bad(
            "HighBit",
            format!("{high_bit} with BitsStored {bits_stored} and BitsAllocated {bits_allocated}"),
        ));
    }
    if pixel_representation > 1 {
        return Err(bad(
            "PixelRepresentation",
            format!("{pixel_representation}"),
        ));
    }
    let photometric_name = text(ds, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| {
        if samples_per_pixel == 3 {
            "RGB".into()
        } else {
            "MONOCHROME2".into()
        }
    });
    let photometric = Photometric::parse(&photometric_name).ok_or_else(|| {
        bad(
            "PhotometricInterpretation",
            format!("{photometric_name} is not supported"),
        )
    })?;
    let expected_spp = match photometric {
        Photometric::Color(_) => 3,
        _ => 1,
    };
    if samples_per_pixel != expected_spp {
        return Err(bad(
            "SamplesPerPixel",
            format!("{samples_per_pixel} with PhotometricInterpretation {photometric_name}"),
        ));
    }
    Ok(PixelDescription {
        rows: rows as u32,
        columns: columns as u32,
        frames,
        samples_per_pixel,
        bits_allocated,
        bits_stored,
        high_bit,
        signed: pixel_representation == 1,
        planar_configuration,
        photometric_name,
        photometric,
        warnings: Vec::new(),
    })
}

pub(super) fn modality_luts(
    ds: &InMemDicomObject,
    desc: &PixelDescription,
) -> Result<Vec<ModalityLut>, Kind> {
    if let Some(item) = items(ds, tags::MODALITY_LUT_SEQUENCE).first() {
        let lut = lookup_table(
            item.get(tags::LUT_DESCRIPTOR),
            item.get(tags::LUT_DATA),
            desc.signed,
        )
        .map_err(|reason| Kind::InvalidAttribute {
            name: "ModalityLUTSequence",
            reason,
        })?;
        if let Some(lut) = lut {
            return Ok(vec![ModalityLut::Table(lut)]);
        }
    }
    let rescale = |g: &InMemDicomObject| {
        let slope = float(g, tags::RESCALE_SLOPE);
        let intercept = float(g, tags::RESCALE_INTERCEPT);
        (slope.is_some() || intercept.is_some()).then(|| ModalityLut::Rescale {
            slope: slope.filter(|s| *s != 0.0).unwrap_or(1.0),
            intercept: intercept.unwrap_or(0.0),
        })
    };
    if let Some(lut) = rescale(ds) {
        return Ok(vec![lut]);
    }
    // Per-frame values only exist where the per-frame functional groups do;
    // without them every frame shares one (no allocation per frame).
    let per_frame: Vec<ModalityLut> = (0..per_frame_count(ds, desc))
        .map(|f| {
            functional_group(ds, f, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, rescale)
                .unwrap_or_default()
        })
        .collect();
    if per_frame.iter().all(|l| l == &per_frame[0]) {
        Ok(vec![per_frame[0].clone()])
    } else {
        Ok(per_frame)
    }
}

fn windows_in(g: &InMemDicomObject) -> (Vec<Voi>, Vec<String>) {
    let centers = floats(g, tags::WINDOW_CENTER);
    let widths = floats(g, tags::WINDOW_WIDTH);
    let functions: Vec<VoiFunction> = text(g, tags::VOILUT_FUNCTION)
        .map(|s| s.split('\\').map(VoiFunction::parse).collect())
        .unwrap_or_default();
    let explanations: Vec<String> = text(g, tags::WINDOW_CENTER_WIDTH_EXPLANATION)
        .map(|s| s.split('\\').map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    let vois = centers
        .iter()
        .zip(&widths)
        .enumerate()
        .map(|(i, (&center, &width))| {
            Voi::Window(Window {
                center,
                width,
                function: functions
                    .get(i)
                    .or(functions.first())
                    .copied()
                    .unwrap_or_default(),
            })
        })
        .collect();
    (vois, explanations)
}

pub(super) fn voi_luts(
    ds: &InMemDicomObject,
    desc: &PixelDescription,
) -> (Vec<Vec<Voi>>, Vec<String>) {
    let (mut top, explanations) = windows_in(ds);
    for item in items(ds, tags::VOILUT_SEQUENCE) {
        // The VOI LUT input is a modality value: signed when the modality
        // output can be negative, which for a plain rescale follows the
        // pixel representation.
        if let Ok(Some(lut)) = lookup_table(
            item.get(tags::LUT_DESCRIPTOR),
            item.get(tags::LUT_DATA),
            desc.signed,
        ) {
            top.push(Voi::Table(lut));
        }
    }
    if !top.is_empty() {
        return (vec![top], explanations);
    }
    let per_frame: Vec<Vec<Voi>> = (0..per_frame_count(ds, desc))
        .map(|f| {
            functional_group(ds, f, tags::FRAME_VOILUT_SEQUENCE, |g| {
                let (v, _) = windows_in(g);
                (!v.is_empty()).then_some(v)
            })
            .unwrap_or_default()
        })
        .collect();
    if per_frame.iter().all(|v| v == &per_frame[0]) {
        (vec![per_frame[0].clone()], explanations)
    } else {
        (per_frame, explanations)
    }
}

pub(super) fn palette(ds: &InMemDicomObject) -> Result<Option<Palette>, Kind> {
    let channel = |descriptor: Tag, data: Tag, segmented: Tag, name: &'static str| {
        let bad = |reason: String| Kind::InvalidAttribute { name, reason };
        let desc = ds
            .get(descriptor)
            .ok_or_else(|| bad("missing descriptor".into()))?;
        if let Some(seg) = ds.get(segmented) {
            let d = words(desc)
                .filter(|d| d.len() >= 3)
                .ok_or_else(|| bad("bad descriptor".into()))?;
            let entries = if d[0] == 0 { 65536 } else { d[0] as usize };
            let raw = words(seg).ok_or_else(|| bad("segmented data is not numeric".into()))?;
            let mut expanded = expand_segmented(&raw, 65536).map_err(bad)?;
            expanded.resize(entries.max(1), *expanded.last().unwrap_or(&0));
            let bits = d[2];
            if !(1..=16).contains(&bits) {
                return Err(bad(format!("{bits} bits per entry")));
            }
            return Ok(LookupTable {
                first_mapped: d[1] as i64,
                bits,
                data: expanded,
            });
        }
        lookup_table(Some(desc), ds.get(data), false)
            .map_err(bad)?
            .ok_or_else(|| bad("missing LUT data".into()))
    };
    Ok(Some(Palette {
        red: channel(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "RedPaletteColorLookupTable",
        )?,
        green: channel(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "GreenPaletteColorLookupTable",
        )?,
        blue: channel(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "BluePaletteColorLookupTable",
        )?,
    }))
}
