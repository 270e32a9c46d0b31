//! The archive the triage tests run over, made once per test process under
//! the target's scratch folder: the 40 corpus files, the 16 bundled chest
//! X-rays, 240 generated DICOM images in 30 studies (each study split
//! across two folders, so that sharding by folder would split it), and
//! four broken files. About 300 images, and what `hilum triage` of the
//! whole folder wrote, the reference every sharded run must equal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dicom_core::VR;
use dicom_dictionary_std::tags;
use serde_json::Value;

use crate::common::{self, gray16_header, pixel_data_u16, text, write_dicom};

/// Studies generated; every fifth is a CT (outside the model's scope).
pub const STUDIES: usize = 30;
/// Images per generated study.
pub const IMAGES_PER_STUDY: usize = 8;
/// The broken files, relative to the archive.
pub const BROKEN: [&str; 4] = [
    "broken/empty.dcm",
    "broken/noise.dcm",
    "broken/header-cut.dcm",
    "broken/pixels-cut.dcm",
];

/// A file in the archive that is no image (found in a folder, it is not
/// one of the images: no line).
pub const NOT_AN_IMAGE: &str = "broken/notes.txt";

/// The archive and the single-process reference run over it.
pub struct Archive {
    /// The archive folder (absolute).
    pub root: PathBuf,
    /// Every image file in it (absolute paths, [`NOT_AN_IMAGE`] left out),
    /// sorted.
    pub files: Vec<PathBuf>,
    /// `hilum triage ROOT --threads 2` (the results' lines).
    pub reference: Vec<Value>,
}

/// The archive, made on first use.
pub fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let scratch = scratch("archive");
        let root = scratch.join("images");
        build(&root);
        let not_an_image = root.join(NOT_AN_IMAGE);
        let files: Vec<PathBuf> = list_files(&root)
            .into_iter()
            .filter(|f| *f != not_an_image)
            .collect();
        let out = scratch.join("reference.jsonl");
        let run = triage(
            &[root.to_str().unwrap()],
            &out,
            &["--threads", "2", "--force"],
        );
        assert!(
            run.status.success(),
            "reference run failed: {}",
            stderr(&run)
        );
        let reference = read_lines(&out);
        let written: Vec<PathBuf> = reference
            .iter()
            .map(|line| PathBuf::from(line["path"].as_str().expect("a path")))
            .collect();
        let mut sorted = written.clone();
        sorted.sort();
        assert_eq!(
            sorted, files,
            "one line per image file, none for {NOT_AN_IMAGE}"
        );
        Archive {
            root,
            files,
            reference,
        }
    })
}

/// A fresh folder `name` under the target's scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("triage")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Runs `hilum triage SOURCES --out OUT EXTRA`.
pub fn triage(sources: &[&str], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["triage"];
    args.extend(sources);
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    common::hilum(&args)
}

/// A process's standard error, for messages.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON lines of a results file (every line must parse).
pub fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: bad line {line:?}: {e}", path.display()))
        })
        .collect()
}

/// Lines keyed by path, timing removed; fails on a path written twice.
pub fn by_path(lines: &[Value]) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for line in lines {
        let mut line = line.clone();
        let object = line.as_object_mut().expect("a JSON object per line");
        object.remove("inference_ms");
        let path = object["path"].as_str().expect("a path").to_string();
        assert!(
            map.insert(path.clone(), line).is_none(),
            "{path} written twice"
        );
    }
    map
}

/// Every file under `dir` (absolute), sorted.
pub fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn build(root: &Path) {
    let corpus = root.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for entry in std::fs::read_dir(common::corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dcm") {
            std::fs::copy(&path, corpus.join(path.file_name().unwrap())).unwrap();
        }
    }
    let xrays = root.join("xray");
    std::fs::create_dir_all(&xrays).unwrap();
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/chest-xray");
    for entry in std::fs::read_dir(bundled).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpeg") {
            std::fs::copy(&path, xrays.join(path.file_name().unwrap())).unwrap();
        }
    }
    for study in 0..STUDIES {
        for image in 0..IMAGES_PER_STUDY {
            let part = if image % 2 == 0 { "part-a" } else { "part-b" };
            let folder = root
                .join("generated")
                .join(part)
                .join(format!("study-{study:02}"));
            std::fs::create_dir_all(&folder).unwrap();
            write_dicom(
                &folder.join(format!("image-{image}.dcm")),
                generated_image(study, image),
            );
        }
    }
    let broken = root.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(root.join(BROKEN[0]), b"").unwrap();
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(root.join(BROKEN[1]), noise).unwrap();
    std::fs::write(root.join(NOT_AN_IMAGE), "scanned on the night shift\n").unwrap();
    let whole = std::fs::read(root.join("generated/part-a/study-01/image-0.dcm")).unwrap();
    std::fs::write(root.join(BROKEN[2]), &whole[..200]).unwrap();
    let other = broken.join("whole.tmp");
    write_dicom(&other, generated_image(STUDIES, 0));
    let whole = std::fs::read(&other).unwrap();
    std::fs::remove_file(&other).unwrap();
    std::fs::write(root.join(BROKEN[3]), &whole[..whole.len() - 4000]).unwrap();
}

/// Image `image` of generated study `study`: 64×64, 16-bit, a gradient
/// whose slope and offset vary so that the model's outputs differ.
fn generated_image(study: usize, image: usize) -> Vec<dicom_object::mem::InMemElement> {
    const ROOT: &str = "1.2.826.0.1.3680043.9.7433.15";
    let mut elements = gray16_header(64, 64, 1, false);
    let ct = study.is_multiple_of(5);
    elements.extend([
        text(
            tags::SOP_CLASS_UID,
            VR::UI,
            if ct {
                "1.2.840.10008.5.1.4.1.1.2"
            } else {
                "1.2.840.10008.5.1.4.1.1.1.1"
            },
        ),
        text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &format!("{ROOT}.3.{study}.{image}"),
        ),
        text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &format!("{ROOT}.1.{study}"),
        ),
        text(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &format!("{ROOT}.2.{study}"),
        ),
        text(tags::MODALITY, VR::CS, if ct { "CT" } else { "DX" }),
        text(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
        text(tags::VIEW_POSITION, VR::CS, "PA"),
        text(tags::PATIENT_AGE, VR::AS, "003Y"),
        text(tags::PATIENT_ID, VR::LO, &format!("TRIAGE-{study:02}")),
        text(tags::INSTANCE_NUMBER, VR::IS, &(image + 1).to_string()),
    ]);
    let slope = 40 + 9 * study + 5 * image;
    let offset = 500 * (image % 4) + 37 * study;
    let pixels = (0..64 * 64)
        .map(|i| {
            let (row, column) = (i / 64, i % 64);
            ((offset + slope * row + (column * column) % 97) % 4096) as u16
        })
        .collect();
    elements.push(pixel_data_u16(pixels));
    elements
}
