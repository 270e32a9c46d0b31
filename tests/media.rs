//! Removable media and archives: a DICOMDIR made by dcmtk's `dcmmkdir`
//! over real corpus files, then written to disk in lower case (as many CD
//! drivers show it), opens the files it lists through `hilum info`, by
//! folder and by the DICOMDIR itself; a missing file is named; a Referenced
//! File ID that tries to leave the medium is refused. Zip archives (made by
//! Python's `zipfile`) open like folders, a zipped CD through its DICOMDIR;
//! bombs and members escaping the archive are refused; nothing unpacked is
//! left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::corpus_dir;
use serde_json::Value;

/// Corpus files put on the medium, in order, as IMAGES/IM000<n>.
const ON_MEDIUM: [&str; 5] = [
    "CT_small.dcm",
    "MR_small.dcm",
    "RG3_J2KI.dcm",
    "JPEG2000.dcm",
    "US1_J2KI.dcm",
];

/// A medium in `root`: the files, and a DICOMDIR by `dcmmkdir`.
fn make_medium(root: &Path) {
    std::fs::create_dir_all(root.join("IMAGES")).unwrap();
    for (i, name) in ON_MEDIUM.iter().enumerate() {
        std::fs::copy(
            corpus_dir().join(name),
            root.join(format!("IMAGES/IM000{}", i + 1)),
        )
        .unwrap();
    }
    // -Nxc: the corpus holds compressed files, which the default
    // (uncompressed CD) profile rejects.
    let out = Command::new("dcmmkdir")
        .args(["-Nxc", "--invent", "+r", "IMAGES"])
        .current_dir(root)
        .output()
        .expect("dcmtk's dcmmkdir runs (Debian package dcmtk; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "dcmmkdir: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.join("DICOMDIR").is_file());
}

/// Renames every file and folder below `root` to lower case.
fn lower_case(root: &Path) {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    // Deepest first, so a folder is renamed after its contents.
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in paths {
        let name = path.file_name().unwrap().to_str().unwrap().to_lowercase();
        std::fs::rename(&path, path.with_file_name(name)).unwrap();
    }
}

/// `hilum info --json PATHS`, with its temporary folder in `tmp` when
/// given: the image records, stderr and the exit code.
fn run_info(paths: &[&Path], tmp: Option<&Path>) -> (Vec<Value>, String, Option<i32>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hilum"));
    command.args(["info", "--json"]).args(paths);
    if let Some(tmp) = tmp {
        command.env("TMPDIR", tmp);
    }
    let out = command.output().expect("hilum runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("info --json {paths:?}: {e}\n{stderr}"));
    let images = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "image")
        .cloned()
        .collect();
    (images, stderr, out.status.code())
}

fn info(path: &Path) -> (Vec<Value>, String, Option<i32>) {
    run_info(&[path], None)
}

/// The last two components of each image's path (`images/im0001`), sorted.
fn file_names(images: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = images
        .iter()
        .map(|i| {
            let parts: Vec<String> = Path::new(i["path"].as_str().unwrap())
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            parts[parts.len().saturating_sub(2)..].join("/")
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_lower_case_medium_opens_what_its_dicomdir_lists() {
    let dir = tempfile::tempdir().unwrap();
    let medium = dir.path().join("cdrom");
    make_medium(&medium);
    lower_case(&medium);
    // A file on the medium that the DICOMDIR does not list is not opened:
    // the DICOMDIR says what the medium holds.
    std::fs::copy(
        corpus_dir().join("CT_small.dcm"),
        medium.join("unlisted.dcm"),
    )
    .unwrap();
    let expected: Vec<String> = (1..=ON_MEDIUM.len())
        .map(|i| format!("images/im000{i}"))
        .collect();

    let (images, stderr, code) = info(&medium);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(file_names(&images), expected, "{stderr}");
    let (images, stderr, code) = info(&medium.join("dicomdir"));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(file_names(&images), expected, "{stderr}");

    // A listed file that is gone is named; the others still open.
    std::fs::remove_file(medium.join("images/im0003")).unwrap();
    let (images, stderr, code) = info(&medium);
    assert_eq!(code, Some(1));
    assert_eq!(images.len(), ON_MEDIUM.len() - 1);
    assert!(
        stderr.contains("IM0003") && stderr.contains("not on the medium"),
        "{stderr}"
    );
}

#[test]
fn a_referenced_file_id_that_leaves_the_medium_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let medium = dir.path().join("medium");
    make_medium(&medium);
    // What the hostile ID points at: a real image outside the medium.
    std::fs::copy(
        corpus_dir().join("MR_small.dcm"),
        dir.path().join("OUTSIDE001"),
    )
    .unwrap();
    // Rewrite one ID in place, same length: IMAGES\IM0001 -> ..\OUTSIDE001
    // names that file, beside the medium (13 characters either way).
    let dicomdir = medium.join("DICOMDIR");
    let mut bytes = std::fs::read(&dicomdir).unwrap();
    let from = b"IMAGES\\IM0001";
    let to = b"..\\OUTSIDE001";
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the ID is in the DICOMDIR");
    bytes[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&dicomdir, bytes).unwrap();

    let (images, stderr, code) = info(&medium);
    assert_eq!(code, Some(1));
    assert_eq!(images.len(), ON_MEDIUM.len() - 1, "{stderr}");
    assert!(
        images
            .iter()
            .all(|i| !i["path"].as_str().unwrap().contains("OUTSIDE")),
        "a file outside the medium was opened"
    );
    assert!(stderr.contains("not a plain path"), "{stderr}");
    assert!(stderr.contains("DICOMDIR"), "{stderr}");
}

/// The Referenced File IDs of a DICOMDIR as pydicom reads them, joined
/// with `/`, sorted.
fn pydicom_listing(dicomdir: &Path) -> Vec<String> {
    let script = "import json, sys, pydicom\n\
        ds = pydicom.dcmread(sys.argv[1])\n\
        ids = []\n\
        for r in ds.DirectoryRecordSequence:\n\
        \x20   v = r.get('ReferencedFileID')\n\
        \x20   if v is None: continue\n\
        \x20   ids.append('/'.join([v] if isinstance(v, str) else list(v)))\n\
        print(json.dumps(sorted(set(ids))))";
    serde_json::from_str(&common::python(script, &[dicomdir.to_str().unwrap()])).unwrap()
}

/// pydicom's own test media (`dicomdirtests`, shipped in its package): a
/// real medium with DICOMDIRs in explicit and implicit little endian, big
/// endian, without offsets and with records reordered. Each, put in place
/// as the medium's DICOMDIR, opens exactly the files pydicom says it lists.
/// The one without offsets is malformed (its last record declares 24 bytes
/// more than the file holds; pydicom and dcmtk stop at the sequence's end):
/// that is reported, naming the DICOMDIR, and the medium's folder is
/// walked instead, which finds the same files.
#[test]
fn pydicoms_test_media_open_as_pydicom_lists_them() {
    let located = common::python(
        "import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), \
         'data', 'test_files', 'dicomdirtests'))",
        &[],
    );
    let source = PathBuf::from(located.trim());
    assert!(source.join("DICOMDIR").is_file(), "{}", source.display());
    for variant in [
        "DICOMDIR",
        "DICOMDIR-implicit",
        "DICOMDIR-bigEnd",
        "DICOMDIR-nooffset",
        "DICOMDIR-reordered",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let medium = dir.path().join("medium");
        for entry in walkdir::WalkDir::new(&source) {
            let entry = entry.unwrap();
            let relative = entry.path().strip_prefix(&source).unwrap();
            let to = medium.join(relative);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else if !relative.to_string_lossy().starts_with("DICOMDIR") {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
        std::fs::copy(source.join(variant), medium.join("DICOMDIR")).unwrap();
        let expected = pydicom_listing(&medium.join("DICOMDIR"));
        assert!(expected.len() > 20, "{variant}: {expected:?}");

        let (images, stderr, code) = info(&medium);
        if variant == "DICOMDIR-nooffset" {
            assert_eq!(code, Some(1), "{variant}: {stderr}");
            assert!(
                stderr.contains("DICOMDIR") && stderr.contains("past the end"),
                "{stderr}"
            );
        } else {
            assert_eq!(code, Some(0), "{variant}: {stderr}");
        }
        let mut opened: Vec<String> = images
            .iter()
            .map(|i| {
                Path::new(i["path"].as_str().unwrap())
                    .strip_prefix(&medium)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        opened.sort();
        assert_eq!(opened, expected, "{variant}");
    }
}

/// Writes a zip archive with Python's `zipfile` (deflated): `members` are
/// (name in the archive, file on disk) pairs; a file of `"zeros:N"` is N
/// zero bytes, for a bomb.
fn write_zip(zip: &Path, members: &[(&str, String)]) {
    let script = "import sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   for name, source in zip(sys.argv[2::2], sys.argv[3::2]):\n\
        \x20       if source.startswith('zeros:'):\n\
        \x20           z.writestr(zipfile.ZipInfo(name), bytes(int(source[6:])), zipfile.ZIP_DEFLATED)\n\
        \x20       else:\n\
        \x20           z.write(source, arcname=name)";
    let mut args = vec![zip.to_str().unwrap().to_string()];
    for (name, source) in members {
        args.push(name.to_string());
        args.push(source.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::python(script, &args);
}

/// `hilum info --json ARGS` with its temporary folder in `tmp`: the image
/// paths (sorted), stderr and the exit code.
fn info_in(tmp: &Path, args: &[&Path]) -> (Vec<String>, String, Option<i32>) {
    let (images, stderr, code) = run_info(args, Some(tmp));
    let mut paths: Vec<String> = images
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    (paths, stderr, code)
}

fn corpus(name: &str) -> String {
    corpus_dir().join(name).to_str().unwrap().to_string()
}

/// Nothing is left in the process's temporary folder once it has ended.
fn assert_empty(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_zip_opens_like_a_folder_and_names_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let zip = dir.path().join("study.zip");
    write_zip(
        &zip,
        &[
            ("study/ct.dcm", corpus("CT_small.dcm")),
            ("study/mr/1.dcm", corpus("MR_small.dcm")),
            ("study/j2k", corpus("RG3_J2KI.dcm")),
            ("readme.txt", corpus("reference.json")),
        ],
    );
    let (paths, stderr, code) = info_in(tmp.path(), &[&zip]);
    assert_eq!(code, Some(0), "{stderr}");
    let z = zip.display();
    assert_eq!(
        paths,
        [
            format!("{z}!study/ct.dcm"),
            format!("{z}!study/j2k"),
            format!("{z}!study/mr/1.dcm")
        ]
    );
    assert_empty(tmp.path());
}

#[test]
fn a_zipped_cd_opens_through_its_dicomdir() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let medium = dir.path().join("CD");
    make_medium(&medium);
    let mut members = vec![("CD/DICOMDIR".to_string(), medium.join("DICOMDIR"))];
    for i in 1..=ON_MEDIUM.len() {
        members.push((
            format!("CD/IMAGES/IM000{i}"),
            medium.join(format!("IMAGES/IM000{i}")),
        ));
    }
    // Not listed in the DICOMDIR: not opened.
    members.push(("CD/EXTRA.dcm".into(), corpus_dir().join("CT_small.dcm")));
    let members: Vec<(&str, String)> = members
        .iter()
        .map(|(n, p)| (n.as_str(), p.to_str().unwrap().to_string()))
        .collect();
    let zip = dir.path().join("cd.zip");
    write_zip(&zip, &members);
    let (paths, stderr, code) = info_in(tmp.path(), &[&zip]);
    assert_eq!(code, Some(0), "{stderr}");
    let expected: Vec<String> = (1..=ON_MEDIUM.len())
        .map(|i| format!("{}!CD/IMAGES/IM000{i}", zip.display()))
        .collect();
    assert_eq!(paths, expected);
    assert_empty(tmp.path());
}

#[test]
fn zip_bombs_and_escaping_members_are_refused_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let good = corpus_dir().join("CT_small.dcm");
    // 400 MB of zeros deflate to about 0.4 MB: a ratio near 1000.
    let bomb = dir.path().join("bomb.zip");
    write_zip(
        &bomb,
        &[
            ("a.dcm", corpus("MR_small.dcm")),
            ("b.dcm", "zeros:400000000".into()),
        ],
    );
    let (paths, stderr, code) = info_in(tmp.path(), &[&good, &bomb]);
    assert_eq!(code, Some(1));
    assert_eq!(paths, [good.display().to_string()], "{stderr}");
    assert!(
        stderr.contains("bomb.zip") && stderr.contains("zip bomb"),
        "{stderr}"
    );
    assert_empty(tmp.path());

    let evil = dir.path().join("evil.zip");
    write_zip(
        &evil,
        &[
            ("ok.dcm", corpus("MR_small.dcm")),
            ("../../escaped.dcm", corpus("CT_small.dcm")),
        ],
    );
    let (paths, stderr, code) = info_in(tmp.path(), &[&good, &evil]);
    assert_eq!(code, Some(1));
    assert_eq!(paths, [good.display().to_string()], "{stderr}");
    assert!(
        stderr.contains("evil.zip") && stderr.contains("outside the archive"),
        "{stderr}"
    );
    assert_empty(tmp.path());
    assert!(!dir.path().join("escaped.dcm").exists());
    assert!(!tmp.path().parent().unwrap().join("escaped.dcm").exists());
}
