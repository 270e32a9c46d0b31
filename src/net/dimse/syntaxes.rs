//! The SOP classes and transfer syntaxes Hilum negotiates: which storage
//! classes it offers to receive, which encodings it can take (those its
//! loader decodes, `imaging::dicom`), and how they become presentation
//! contexts within the 128 an association allows (PS3.8 9.3.2.2: odd
//! context IDs 1..=255).

use dicom_dictionary_std::uids;

/// Verification SOP Class (C-ECHO).
pub const VERIFICATION: &str = uids::VERIFICATION;
/// Study Root Query/Retrieve Information Model – FIND.
pub const STUDY_ROOT_FIND: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND;
/// Study Root Query/Retrieve Information Model – GET.
pub const STUDY_ROOT_GET: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET;
/// Study Root Query/Retrieve Information Model – MOVE.
pub const STUDY_ROOT_MOVE: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE;

/// Implicit VR Little Endian: the default every peer supports.
pub const IMPLICIT_VR_LE: &str = uids::IMPLICIT_VR_LITTLE_ENDIAN;
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = uids::EXPLICIT_VR_LITTLE_ENDIAN;
/// Explicit VR Big Endian (retired, still met in old archives; by value
/// since its constant is deprecated).
pub const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_EXPLICIT_VR_LE: &str = uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;

/// The maximum number of presentation contexts in one association.
pub const MAX_CONTEXTS: usize = 128;

/// The transfer syntaxes whose pixel data is native (not encapsulated),
/// so one can be rewritten as another by `dicom-object` without a codec.
pub const NATIVE: &[&str] = &[
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    EXPLICIT_VR_BE,
    DEFLATED_EXPLICIT_VR_LE,
];

/// The compressed transfer syntaxes Hilum's loader decodes, lossless
/// first: when a peer transcodes to what the requester lists first, a
/// lossless original must not become lossy on the way.
pub const COMPRESSED: &[&str] = &[
    uids::JPEG_LOSSLESS_SV1,
    uids::JPEG_LOSSLESS,
    uids::JPEGLS_LOSSLESS,
    uids::JPEG2000_LOSSLESS,
    uids::HTJ2K_LOSSLESS,
    uids::HTJ2K_LOSSLESS_RPCL,
    uids::RLE_LOSSLESS,
    uids::JPEG_BASELINE8_BIT,
    uids::JPEG_EXTENDED12_BIT,
    uids::JPEGLS_NEAR_LOSSLESS,
    uids::JPEG2000,
    uids::HTJ2K,
];

/// Whether `ts` keeps pixel data native (see [`NATIVE`]).
pub fn is_native(ts: &str) -> bool {
    NATIVE.contains(&ts)
}

/// Every transfer syntax Hilum accepts for a received instance, in order
/// of preference: uncompressed first (a transcoding peer then never
/// compresses lossily for us), then the compressed ones as stored.
pub fn accepted_transfer_syntaxes() -> Vec<&'static str> {
    NATIVE.iter().chain(COMPRESSED).copied().collect()
}

/// The storage SOP classes Hilum offers to receive in C-GET (and accepts
/// as a Store SCP), most common first: when a peer's association cannot
/// hold them all, the rare ones are the ones left out.
pub const STORAGE_CLASSES: &[&str] = &[
    uids::CT_IMAGE_STORAGE,
    uids::MR_IMAGE_STORAGE,
    uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
    uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    uids::DIGITAL_MAMMOGRAPHY_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::DIGITAL_MAMMOGRAPHY_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    uids::ULTRASOUND_IMAGE_STORAGE,
    uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE,
    uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::ENHANCED_MR_IMAGE_STORAGE,
    uids::NUCLEAR_MEDICINE_IMAGE_STORAGE,
    uids::POSITRON_EMISSION_TOMOGRAPHY_IMAGE_STORAGE,
    uids::ENHANCED_PET_IMAGE_STORAGE,
    uids::X_RAY_ANGIOGRAPHIC_IMAGE_STORAGE,
    uids::X_RAY_RADIOFLUOROSCOPIC_IMAGE_STORAGE,
    uids::ENHANCED_XA_IMAGE_STORAGE,
    uids::BREAST_TOMOSYNTHESIS_IMAGE_STORAGE,
    uids::DIGITAL_INTRA_ORAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::X_RAY3_D_ANGIOGRAPHIC_IMAGE_STORAGE,
    uids::RT_IMAGE_STORAGE,
    uids::RT_DOSE_STORAGE,
    uids::RT_STRUCTURE_SET_STORAGE,
    uids::RT_PLAN_STORAGE,
    uids::SEGMENTATION_STORAGE,
    uids::PARAMETRIC_MAP_STORAGE,
    uids::MULTI_FRAME_SINGLE_BIT_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_BYTE_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_WORD_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_TRUE_COLOR_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::VL_ENDOSCOPIC_IMAGE_STORAGE,
    uids::VL_MICROSCOPIC_IMAGE_STORAGE,
    uids::VL_PHOTOGRAPHIC_IMAGE_STORAGE,
    uids::VL_SLIDE_COORDINATES_MICROSCOPIC_IMAGE_STORAGE,
    uids::VL_WHOLE_SLIDE_MICROSCOPY_IMAGE_STORAGE,
    uids::VIDEO_ENDOSCOPIC_IMAGE_STORAGE,
    uids::OPHTHALMIC_PHOTOGRAPHY8_BIT_IMAGE_STORAGE,
    uids::OPHTHALMIC_PHOTOGRAPHY16_BIT_IMAGE_STORAGE,
    uids::OPHTHALMIC_TOMOGRAPHY_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_PET_IMAGE_STORAGE,
    uids::ENHANCED_US_VOLUME_STORAGE,
    uids::GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::COLOR_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE,
    uids::BASIC_TEXT_SR_STORAGE,
    uids::ENHANCED_SR_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::COMPREHENSIVE3_DSR_STORAGE,
    uids::X_RAY_RADIATION_DOSE_SR_STORAGE,
    uids::MAMMOGRAPHY_CADSR_STORAGE,
    uids::ENCAPSULATED_PDF_STORAGE,
    uids::RAW_DATA_STORAGE,
    uids::SPATIAL_REGISTRATION_STORAGE,
    // Retired classes still found in archives (the corpus has one), by
    // value since their constants are deprecated: Ultrasound Image
    // Storage, Ultrasound Multi-frame Image Storage, Nuclear Medicine Image
    // Storage (all retired).
    "1.2.840.10008.5.1.4.1.1.6",
    "1.2.840.10008.5.1.4.1.1.3",
    "1.2.840.10008.5.1.4.1.1.5",
];

/// One proposed presentation context: an abstract syntax and the transfer
/// syntaxes offered for it, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedContext {
    /// The SOP class.
    pub abstract_syntax: String,
    /// The transfer syntaxes, preferred first.
    pub transfer_syntaxes: Vec<String>,
}

impl ProposedContext {
    /// A context for `abstract_syntax` with `transfer_syntaxes`.
    pub fn new(abstract_syntax: &str, transfer_syntaxes: &[&str]) -> Self {
        ProposedContext {
            abstract_syntax: abstract_syntax.to_string(),
            transfer_syntaxes: transfer_syntaxes.iter().map(|ts| ts.to_string()).collect(),
        }
    }
}

/// The contexts of a C-GET association.
///
/// A context carries one transfer syntax, chosen by the peer when the
/// association is made, and a peer that sends instances as stored and
/// cannot transcode (Orthanc 1.10 refuses "Cannot transcode", dcmtk's
/// `dcmqrscp`) needs a context in exactly the instance's syntax. So the
/// classes the study holds (`present`, found by a C-FIND before the GET)
/// get one context per decodable syntax; then every other storage class
/// one context offering all of them (uncompressed first, so a transcoding
/// peer never compresses lossily for us); then, while room remains under
/// [`MAX_CONTEXTS`], a second, compressed-only context per class.
pub fn get_contexts(present: &[String]) -> Vec<ProposedContext> {
    let all = accepted_transfer_syntaxes();
    let mut contexts = vec![ProposedContext::new(
        STUDY_ROOT_GET,
        &[EXPLICIT_VR_LE, IMPLICIT_VR_LE],
    )];
    let mut present: Vec<&str> = present.iter().map(String::as_str).collect();
    present.dedup();
    let others: Vec<&str> = STORAGE_CLASSES
        .iter()
        .copied()
        .filter(|class| !present.contains(class))
        .collect();
    // Room for every other class once, as far as possible.
    let reserve = others.len().min(MAX_CONTEXTS / 2);
    for class in &present {
        if contexts.len() + all.len() + reserve > MAX_CONTEXTS {
            contexts.push(ProposedContext::new(class, &all));
            continue;
        }
        for ts in &all {
            contexts.push(ProposedContext::new(class, &[ts]));
        }
    }
    for class in &others {
        if contexts.len() >= MAX_CONTEXTS {
            break;
        }
        contexts.push(ProposedContext::new(class, &all));
    }
    for class in &others {
        if contexts.len() >= MAX_CONTEXTS {
            break;
        }
        contexts.push(ProposedContext::new(class, COMPRESSED));
    }
    contexts.truncate(MAX_CONTEXTS);
    contexts
}

/// Whether `uid` names a storage SOP class Hilum's Store SCP accepts:
/// those listed, and any other under the storage root
/// (1.2.840.10008.5.1.4.1.1), since a peer only proposes classes it means
/// to send and Hilum stores them as they come.
pub fn is_storage_class(uid: &str) -> bool {
    STORAGE_CLASSES.contains(&uid) || uid.starts_with("1.2.840.10008.5.1.4.1.1.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_contexts_fit_one_association_and_offer_every_decoded_syntax() {
        // Nothing known about the study: every class once with every
        // syntax, then compressed-only second contexts.
        let contexts = get_contexts(&[]);
        assert!(contexts.len() <= MAX_CONTEXTS);
        assert_eq!(contexts[0].abstract_syntax, STUDY_ROOT_GET);
        let ct: Vec<&ProposedContext> = contexts
            .iter()
            .filter(|c| c.abstract_syntax == uids::CT_IMAGE_STORAGE)
            .collect();
        assert_eq!(ct.len(), 2, "CT gets a second, compressed-only context");
        assert_eq!(ct[0].transfer_syntaxes[0], EXPLICIT_VR_LE);
        for ts in [
            uids::JPEG2000,
            uids::JPEGLS_LOSSLESS,
            uids::RLE_LOSSLESS,
            DEFLATED_EXPLICIT_VR_LE,
        ] {
            assert!(ct[0].transfer_syntaxes.iter().any(|t| t == ts), "{ts}");
        }
        assert!(ct[1].transfer_syntaxes.iter().all(|t| !is_native(t)));
        for class in STORAGE_CLASSES {
            assert!(
                contexts.iter().any(|c| c.abstract_syntax == *class),
                "{class}"
            );
        }
        // Lossless before lossy.
        let position = |ts| COMPRESSED.iter().position(|t| *t == ts).unwrap();
        assert!(position(uids::JPEG2000_LOSSLESS) < position(uids::JPEG2000));
        assert!(position(uids::JPEGLS_LOSSLESS) < position(uids::JPEG_BASELINE8_BIT));
    }

    #[test]
    fn classes_the_study_holds_get_a_context_per_syntax() {
        let present = vec![
            uids::CT_IMAGE_STORAGE.to_string(),
            uids::MR_IMAGE_STORAGE.to_string(),
        ];
        let contexts = get_contexts(&present);
        assert!(contexts.len() <= MAX_CONTEXTS);
        for class in &present {
            let offered: Vec<&str> = contexts
                .iter()
                .filter(|c| &c.abstract_syntax == class && c.transfer_syntaxes.len() == 1)
                .map(|c| c.transfer_syntaxes[0].as_str())
                .collect();
            assert_eq!(offered, accepted_transfer_syntaxes(), "{class}");
        }
        // The other classes are still offered once each.
        for class in STORAGE_CLASSES {
            assert!(
                contexts.iter().any(|c| c.abstract_syntax == *class),
                "{class}"
            );
        }
    }

    #[test]
    fn storage_classes_are_recognised() {
        assert!(is_storage_class(uids::CT_IMAGE_STORAGE));
        assert!(is_storage_class("1.2.840.10008.5.1.4.1.1.9.1.1"));
        assert!(!is_storage_class(VERIFICATION));
        assert!(!is_storage_class(STUDY_ROOT_GET));
        let mut seen = std::collections::HashSet::new();
        assert!(
            STORAGE_CLASSES.iter().all(|c| seen.insert(*c)),
            "no duplicates"
        );
    }
}
