//! Test data generators shared by the benchmarks and the viewer tests:
//! series and large images built from the bundled `CT_small.dcm` (real
//! pixels and attributes, new geometry and identifiers).

#![allow(dead_code)]

use std::path::Path;

use dicom_core::VR;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;

/// The bundled CT slice every generator starts from.
pub fn ct_template() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/CT_small.dcm")
}

/// A tiny deterministic generator (no `rand` dependency needed).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next pseudo-random value.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Slices in the benchmark series.
pub const SLICES: usize = 500;
/// Root of the generated UIDs.
pub const UID_ROOT: &str = "1.2.826.0.1.3680043.8.498.4242";

/// Side of a full-size CT slice.
pub const CT_SIDE: u32 = 512;

/// Writes a `slices`-slice CT series (copies of `CT_small.dcm` with new SOP
/// Instance UID, Instance Number and z position 1.25 mm apart) under
/// shuffled file names.
pub fn write_series(dir: &Path, slices: usize) {
    let template = dicom_object::open_file(ct_template()).expect("CT_small.dcm opens");
    write_series_from(dir, slices, template);
}

/// Like [`write_series`], with each slice enlarged to `side`×`side`
/// (nearest neighbour, Pixel Spacing scaled to match): the size of a
/// clinical CT slice for memory measurements.
pub fn write_series_sized(dir: &Path, slices: usize, side: u32) {
    let mut template = dicom_object::open_file(ct_template()).expect("CT_small.dcm opens");
    let rows = template
        .element(tags::ROWS)
        .unwrap()
        .to_int::<u32>()
        .unwrap();
    let columns = template
        .element(tags::COLUMNS)
        .unwrap()
        .to_int::<u32>()
        .unwrap();
    let bytes = template
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    let samples: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let pixels: Vec<u16> = (0..side * side)
        .map(|i| {
            let (x, y) = (i % side, i / side);
            samples[((y * rows / side) * columns + x * columns / side) as usize]
        })
        .collect();
    let spacing = template
        .element(tags::PIXEL_SPACING)
        .unwrap()
        .to_multi_float64()
        .unwrap();
    let us = |tag, v: u16| InMemElement::new(tag, VR::US, PrimitiveValue::from(v));
    template.put(us(tags::ROWS, side as u16));
    template.put(us(tags::COLUMNS, side as u16));
    template.put(InMemElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::Strs(
            spacing
                .iter()
                .map(|v| format!("{:.6}", v * rows as f64 / side as f64))
                .collect(),
        ),
    ));
    template.put(InMemElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    write_series_from(dir, slices, template);
}

fn write_series_from(dir: &Path, slices: usize, template: dicom_object::DefaultDicomObject) {
    let ipp = template
        .element(tags::IMAGE_POSITION_PATIENT)
        .expect("CT_small has Image Position (Patient)")
        .to_multi_float64()
        .expect("numeric position");
    // Shuffled order of file names: file k on disk holds slice perm[k].
    let mut perm: Vec<usize> = (0..slices).collect();
    let mut rng = Lcg(0x5eed);
    for i in (1..perm.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    for (k, &slice) in perm.iter().enumerate() {
        let mut obj = template.clone();
        let uid = format!("{UID_ROOT}.{}", slice + 1);
        obj.put(InMemElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid.as_str()),
        ));
        obj.put(InMemElement::new(
            tags::INSTANCE_NUMBER,
            VR::IS,
            PrimitiveValue::from((slice + 1).to_string()),
        ));
        let z = slice as f64 * 1.25;
        obj.put(InMemElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs([ipp[0], ipp[1], z].iter().map(|v| format!("{v}")).collect()),
        ));
        obj.update_meta(|m| m.media_storage_sop_instance_uid = uid.clone());
        obj.write_to_file(dir.join(format!("IM{k:04}.dcm")))
            .expect("writes a slice");
    }
}

/// Side of the large image.
pub const SIDE: u32 = 3000;

/// Writes a 3000×3000 unsigned 16-bit CT image (`bits_stored` 12 or 16) by
/// rewriting `CT_small.dcm`'s pixel module.
pub fn write_big(path: &Path, bits_stored: u16) {
    let mut obj = dicom_object::open_file(ct_template()).expect("CT_small.dcm opens");
    let max = (1u32 << bits_stored) - 1;
    let mut rng = Lcg(42);
    let pixels: Vec<u16> = (0..SIDE * SIDE)
        .map(|i| {
            let (x, y) = (i % SIDE, i / SIDE);
            let gradient = (x + y) as u64 * max as u64 / (2 * SIDE as u64 - 2);
            let noise = rng.next() % 64;
            (gradient + noise).min(max as u64) as u16
        })
        .collect();
    let us = |tag, v: u16| InMemElement::new(tag, VR::US, PrimitiveValue::from(v));
    obj.put(us(tags::ROWS, SIDE as u16));
    obj.put(us(tags::COLUMNS, SIDE as u16));
    obj.put(us(tags::BITS_ALLOCATED, 16));
    obj.put(us(tags::BITS_STORED, bits_stored));
    obj.put(us(tags::HIGH_BIT, bits_stored - 1));
    obj.put(us(tags::PIXEL_REPRESENTATION, 0));
    obj.put(us(tags::SAMPLES_PER_PIXEL, 1));
    obj.put(InMemElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("MONOCHROME2"),
    ));
    obj.put(InMemElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from("CT"),
    ));
    obj.put(InMemElement::new(
        tags::RESCALE_SLOPE,
        VR::DS,
        PrimitiveValue::from("1"),
    ));
    obj.put(InMemElement::new(
        tags::RESCALE_INTERCEPT,
        VR::DS,
        PrimitiveValue::from("-1024"),
    ));
    obj.put(InMemElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    obj.write_to_file(path).expect("writes the big image");
}
