//! The heatmap as a DICOM Parametric Map (PS3.3 A.75): float32 pixel data
//! on the source image's grid, a Real World Value Mapping that says what
//! the values are (normalised saliency, no units), and the algorithm, the
//! method, the target and the faithfulness verdict as coded content in the
//! mapping's Quantity Definition Sequence. It references its source image
//! (Common Instance Reference, Source Image Sequence) and shares its Frame
//! of Reference, so a viewer lays it over the image it explains.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use super::deid::new_uid;
use super::dicom_out::{Built, Context, code, ds_value, el, local, seq, text, text_item};
use crate::ai::saliency::Heatmap;

/// Parametric Map Storage.
pub const PARAMETRIC_MAP: &str = "1.2.840.10008.5.1.4.1.1.30";

/// Series number of the exported map (the SC is 9001, the SR 9002).
const SERIES_NUMBER: i32 = 9003;

/// LO values are at most 64 characters.
fn lo(text: &str) -> String {
    text.chars().take(64).collect()
}

fn strs(values: &[&str]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|v| v.to_string()).collect())
}

/// The map's geometry: the source's pixel spacing, orientation and
/// position when it has them (cross-sectional images), in the source's
/// Frame of Reference. A radiograph has no patient-space geometry, but the
/// IOD requires the Pixel Measures, Plane Orientation and Plane Position
/// groups: such a map gets its own new Frame of Reference with the identity
/// orientation, origin 0 and the detector spacing (1 mm nominal when the
/// source has none), which claims nothing about the patient; it lines up
/// with its source through the identical pixel grid and the Source Image
/// Sequence. Returns the shared groups, the per-frame position group and
/// whether the source's Frame of Reference applies.
fn geometry(source: Option<&InMemDicomObject>) -> (Vec<InMemDicomObject>, InMemDicomObject, bool) {
    let get = |tag: Tag| source.and_then(|s| s.get(tag)).cloned();
    let orientation = get(tags::IMAGE_ORIENTATION_PATIENT);
    let position = get(tags::IMAGE_POSITION_PATIENT);
    let patient_space = orientation.is_some() && position.is_some();
    let spacing = get(tags::PIXEL_SPACING)
        .or_else(|| get(tags::IMAGER_PIXEL_SPACING))
        .map(|e| e.value().clone())
        .unwrap_or_else(|| dicom_core::DicomValue::Primitive(strs(&["1", "1"])));
    let mut measures = InMemDicomObject::from_element_iter([DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        spacing,
    )]);
    if patient_space
        && let Some(thickness) = get(tags::SLICE_THICKNESS)
        && thickness.to_str().is_ok_and(|t| !t.trim().is_empty())
    {
        measures.put(thickness);
    }
    let (orientation, position) = match (orientation, position) {
        (Some(o), Some(p)) if patient_space => (o, p),
        _ => (
            el(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                strs(&["1", "0", "0", "0", "1", "0"]),
            ),
            el(tags::IMAGE_POSITION_PATIENT, VR::DS, strs(&["0", "0", "0"])),
        ),
    };
    let shared = vec![
        InMemDicomObject::from_element_iter([seq(tags::PIXEL_MEASURES_SEQUENCE, vec![measures])]),
        InMemDicomObject::from_element_iter([seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([orientation])],
        )]),
    ];
    let position = InMemDicomObject::from_element_iter([seq(
        tags::PLANE_POSITION_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([position])],
    )]);
    (shared, position, patient_space)
}

/// A coded description of how the map was made: algorithm (the model's id)
/// and version, method, target, settings and the deletion test's verdict.
fn quantity_definition(heatmap: &Heatmap) -> Vec<InMemDicomObject> {
    // `Heatmap::model` is "<id> <version>".
    let (id, version) = heatmap
        .model
        .rsplit_once(' ')
        .unwrap_or((heatmap.model.as_str(), ""));
    let mut items = vec![
        text_item(code("111001", "DCM", "Algorithm Name"), id),
        text_item(code("111003", "DCM", "Algorithm Version"), version),
        text_item(
            local("SALMETH", "Saliency method"),
            heatmap.method.display_name(),
        ),
        text_item(
            local("SALTGT", "Saliency target class"),
            &heatmap.target_label,
        ),
        text_item(
            local("SALSET", "Saliency method settings"),
            &heatmap.settings,
        ),
    ];
    match &heatmap.faithfulness {
        Some(f) => {
            items.push(text_item(
                local("SALVER", "Saliency map faithfulness verdict"),
                f.verdict.as_str(),
            ));
            items.push(text_item(
                local("SALWHY", "Saliency map faithfulness reason"),
                &f.reason,
            ));
        }
        None => items.push(text_item(
            local("SALVER", "Saliency map faithfulness verdict"),
            "not measured",
        )),
    }
    items
}

/// The Parametric Map of `heatmap`, made for `context`'s source image,
/// whose data set is `source` for a DICOM source.
pub fn parametric_map(
    context: &Context,
    source: Option<&InMemDicomObject>,
    heatmap: &Heatmap,
) -> Built {
    let mut ds = context.common(PARAMETRIC_MAP, "OT", SERIES_NUMBER);
    let image_type = ["DERIVED", "PRIMARY", "STATIC", "QUANTITY"];
    let verdict = heatmap
        .faithfulness
        .as_ref()
        .map_or("faithfulness not measured", |f| f.verdict.as_str());
    let description = lo(&format!(
        "{} for {}; {verdict}",
        heatmap.method.display_name(),
        heatmap.target_label
    ));
    let (mut shared, position, patient_space) = geometry(source);
    let source_frame_of_reference = source
        .filter(|_| patient_space)
        .and_then(|s| text(s, tags::FRAME_OF_REFERENCE_UID));
    let position_reference = source
        .filter(|_| source_frame_of_reference.is_some())
        .and_then(|s| s.get(tags::POSITION_REFERENCE_INDICATOR).cloned())
        .unwrap_or_else(|| DataElement::empty(tags::POSITION_REFERENCE_INDICATOR, VR::LO));
    let frame_of_reference = source_frame_of_reference.unwrap_or_else(new_uid);
    let dimension_uid = new_uid();
    let mapping = InMemDicomObject::from_element_iter([
        el(
            tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_FIRST_VALUE_MAPPED,
            VR::FD,
            0.0f64,
        ),
        el(
            tags::DOUBLE_FLOAT_REAL_WORLD_VALUE_LAST_VALUE_MAPPED,
            VR::FD,
            1.0f64,
        ),
        el(tags::REAL_WORLD_VALUE_INTERCEPT, VR::FD, 0.0f64),
        el(tags::REAL_WORLD_VALUE_SLOPE, VR::FD, 1.0f64),
        el(
            tags::LUT_EXPLANATION,
            VR::LO,
            lo(&format!(
                "{} saliency for {}, 0-1; {verdict}",
                heatmap.method.display_name(),
                heatmap.target_label
            )),
        ),
        el(tags::LUT_LABEL, VR::SH, "SALIENCY"),
        seq(
            tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
            vec![code("1", "UCUM", "no units")],
        ),
        seq(
            tags::QUANTITY_DEFINITION_SEQUENCE,
            quantity_definition(heatmap),
        ),
    ]);
    shared.extend([
        InMemDicomObject::from_element_iter([seq(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::RESCALE_INTERCEPT, VR::DS, "0"),
                el(tags::RESCALE_SLOPE, VR::DS, "1"),
                el(tags::RESCALE_TYPE, VR::LO, "US"),
            ])],
        )]),
        InMemDicomObject::from_element_iter([seq(
            tags::FRAME_VOILUT_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::WINDOW_CENTER, VR::DS, ds_value(0.5)),
                el(tags::WINDOW_WIDTH, VR::DS, ds_value(1.0)),
                el(tags::VOILUT_FUNCTION, VR::CS, "LINEAR"),
            ])],
        )]),
        InMemDicomObject::from_element_iter([seq(
            tags::PARAMETRIC_MAP_FRAME_TYPE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([el(
                tags::FRAME_TYPE,
                VR::CS,
                strs(&image_type),
            )])],
        )]),
        InMemDicomObject::from_element_iter([seq(
            tags::REAL_WORLD_VALUE_MAPPING_SEQUENCE,
            vec![mapping],
        )]),
    ]);
    // One shared item holding every shared functional group.
    let shared_item = InMemDicomObject::from_element_iter(
        shared
            .into_iter()
            .flat_map(|group| group.into_iter().collect::<Vec<InMemElement>>()),
    );
    let mut per_frame = InMemDicomObject::from_element_iter([
        seq(tags::DERIVATION_IMAGE_SEQUENCE, Vec::new()),
        seq(
            tags::FRAME_CONTENT_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::STACK_ID, VR::SH, "1"),
                el(tags::IN_STACK_POSITION_NUMBER, VR::UL, 1u32),
                el(tags::DIMENSION_INDEX_VALUES, VR::UL, 1u32),
            ])],
        ),
    ]);
    for e in position {
        per_frame.put(e);
    }
    let values: Vec<f32> = heatmap.values.clone();
    for e in [
        el(
            tags::SERIES_DESCRIPTION,
            VR::LO,
            "Hilum AI heatmap (Parametric Map)",
        ),
        DataElement::empty(tags::LATERALITY, VR::CS),
        el(tags::MANUFACTURER_MODEL_NAME, VR::LO, "Hilum"),
        el(
            tags::DEVICE_SERIAL_NUMBER,
            VR::LO,
            "not applicable (software)",
        ),
        el(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame_of_reference),
        position_reference,
        el(tags::IMAGE_TYPE, VR::CS, strs(&image_type)),
        el(tags::CONTENT_LABEL, VR::CS, "HEATMAP"),
        el(tags::CONTENT_DESCRIPTION, VR::LO, description),
        DataElement::empty(tags::CONTENT_CREATOR_NAME, VR::PN),
        el(tags::CONTENT_QUALIFICATION, VR::CS, "RESEARCH"),
        el(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        el(tags::RECOGNIZABLE_VISUAL_FEATURES, VR::CS, "NO"),
        el(tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY"),
        el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        el(tags::PIXEL_PRESENTATION, VR::CS, "MONOCHROME"),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, heatmap.height as u16),
        el(tags::COLUMNS, VR::US, heatmap.width as u16),
        el(tags::BITS_ALLOCATED, VR::US, 32u16),
        el(tags::NUMBER_OF_FRAMES, VR::IS, "1"),
        seq(tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new()),
        seq(
            tags::DIMENSION_ORGANIZATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([el(
                tags::DIMENSION_ORGANIZATION_UID,
                VR::UI,
                dimension_uid.as_str(),
            )])],
        ),
        seq(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(
                    tags::DIMENSION_ORGANIZATION_UID,
                    VR::UI,
                    dimension_uid.as_str(),
                ),
                el(
                    tags::DIMENSION_INDEX_POINTER,
                    VR::AT,
                    PrimitiveValue::from(tags::IN_STACK_POSITION_NUMBER),
                ),
                el(
                    tags::FUNCTIONAL_GROUP_POINTER,
                    VR::AT,
                    PrimitiveValue::from(tags::FRAME_CONTENT_SEQUENCE),
                ),
                el(
                    tags::DIMENSION_DESCRIPTION_LABEL,
                    VR::LO,
                    "In-Stack Position",
                ),
            ])],
        ),
        seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared_item]),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, vec![per_frame]),
        el(
            tags::FLOAT_PIXEL_DATA,
            VR::OF,
            PrimitiveValue::F32(values.into()),
        ),
    ] {
        ds.put(e);
    }
    if let Some((class, instance, series)) = &context.source {
        let reference = || {
            let mut item = InMemDicomObject::from_element_iter([
                el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class.as_str()),
                el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance.as_str()),
            ]);
            if let Some(frame) = context.source_frame {
                item.put(el(tags::REFERENCED_FRAME_NUMBER, VR::IS, frame.to_string()));
            }
            item
        };
        ds.put(seq(tags::SOURCE_IMAGE_SEQUENCE, vec![reference()]));
        ds.put(seq(
            tags::REFERENCED_SERIES_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::SERIES_INSTANCE_UID, VR::UI, series.as_str()),
                seq(tags::REFERENCED_INSTANCE_SEQUENCE, vec![reference()]),
            ])],
        ));
    }
    Built { dataset: ds }
}
