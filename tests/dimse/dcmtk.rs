//! Against dcmtk's peers: `dcmqrscp` (echo, find, C-MOVE, C-GET of every
//! transfer syntax), `storescp` (C-STORE) and `storescu` (Hilum's Store SCP).

use super::*;

#[test]
fn echo_find_and_move_against_dcmqrscp() {
    require_isolated_network();
    let study = default_study();
    let latin1 = named_study(study.dir.path(), 2, "ISO_IR 100", b"M\xFCller^J\xFCrgen");
    let utf8 = named_study(
        study.dir.path(),
        3,
        "ISO_IR 192",
        "Müller^Jürgen".as_bytes(),
    );
    assert!(
        std::fs::read(&latin1)
            .unwrap()
            .windows(6)
            .any(|w| w == b"M\xFCller")
    );
    let move_port = free_port();
    let mut all = study.files.clone();
    all.extend([latin1, utf8]);
    let qr = start_qr(&all, &[], move_port);
    let peer = node(QR_AET, qr.port);

    // C-ECHO, and a called AE title the peer does not have.
    let round_trip = dimse::echo(&peer, &options("HILUM")).unwrap();
    assert!(round_trip < Duration::from_secs(5));
    let err = dimse::echo(&node("NOSUCHAE", qr.port), &options("HILUM")).unwrap_err();
    assert!(
        matches!(&err.kind, NetErrorKind::Refused(why) if why.contains("called AE title not recognized")),
        "{err}"
    );

    // Study level: names decoded per their character set.
    let rows = dimse::find(&peer, &options("HILUM"), &QueryKeys::default()).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for n in [2, 3] {
        let uid = format!("{UID_ROOT}.{n}");
        let row = rows
            .iter()
            .find(|r| r["StudyInstanceUID"] == uid.as_str())
            .unwrap_or_else(|| panic!("no row for study {uid}: {rows:?}"));
        assert_eq!(row["PatientName"], "Müller^Jürgen", "study {n}");
    }
    // Series and instance levels.
    let series_keys = QueryKeys {
        level: Level::Series,
        study_uid: Some(study.study.clone()),
        ..Default::default()
    };
    let rows = dimse::find(&peer, &options("HILUM"), &series_keys).unwrap();
    let mut series: Vec<&str> = rows
        .iter()
        .map(|r| r["SeriesInstanceUID"].as_str().unwrap())
        .collect();
    series.sort();
    assert_eq!(
        series,
        vec![study.series[0].as_str(), study.series[1].as_str()]
    );
    let instance_keys = QueryKeys {
        level: Level::Instance,
        study_uid: Some(study.study.clone()),
        series_uid: Some(study.series[0].clone()),
        ..Default::default()
    };
    let rows = dimse::find(&peer, &options("HILUM"), &instance_keys).unwrap();
    let mut instances: Vec<&str> = rows
        .iter()
        .map(|r| r["SOPInstanceUID"].as_str().unwrap())
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        vec![format!("{UID_ROOT}.1.1.1"), format!("{UID_ROOT}.1.1.2")]
    );

    // C-MOVE to Hilum's own Store SCP (known to dcmqrscp as HILUM).
    let out = tempfile::tempdir().unwrap();
    let mut writer = InstanceWriter::new(out.path()).unwrap();
    let mut reported = Vec::new();
    dimse::move_to_self(
        &peer,
        &options("HILUM"),
        &study.study,
        None,
        move_port,
        &mut writer,
        &mut |p, s| reported.push((p, s.sop_instance_uid.clone())),
    )
    .unwrap();
    assert_eq!(reported.len(), 3, "{reported:?}");
    assert_received(&study.files, out.path(), true);

    // A move destination the peer does not know fails, naming the status.
    let out = tempfile::tempdir().unwrap();
    let mut writer = InstanceWriter::new(out.path()).unwrap();
    let err = dimse::move_to_self(
        &peer,
        &options("STRANGER"),
        &study.study,
        None,
        free_port(),
        &mut writer,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err.kind,
            NetErrorKind::Refused(_) | NetErrorKind::Incomplete(_)
        ),
        "{err}"
    );
    assert!(err.to_string().contains("0x"), "{err}");
    drop(qr.peer);
}

/// Corpus files grouped by the transfer syntax dcmqrscp is told to prefer
/// (it has no codecs: it sends a file only in its own syntax, or converts
/// between uncompressed ones), so each group comes back as stored.
const GET_GROUPS: &[(&str, &[&str])] = &[
    ("+x=", &["MR_small.dcm", "CT_small.dcm", "SC_rgb.dcm"]),
    ("+xi", &["MR_small_implicit.dcm", "rtdose.dcm"]),
    ("+xb", &["MR_small_bigendian.dcm"]),
    ("+xd", &["image_dfl.dcm"]),
    ("+xr", &["MR_small_RLE.dcm", "SC_rgb_rle_16bit_2frame.dcm"]),
    ("+xv", &["MR_small_jp2klossless.dcm"]),
    ("+xw", &["JPEG2000.dcm", "US1_J2KI.dcm"]),
    ("+xt", &["MR_small_jpeg_ls_lossless.dcm"]),
    ("+xu", &["JPEGLSNearLossless_16.dcm"]),
    ("+xs", &["JPGLosslessP14SV1_1s_1f_8b.dcm"]),
    ("+xy", &["SC_rgb_dcmtk_+eb+cy+np.dcm"]),
    ("+xx", &["JPGExtended.dcm"]),
];

#[test]
fn c_get_keeps_every_transfer_syntax_and_pixel() {
    require_isolated_network();
    for (index, (flag, names)) in GET_GROUPS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let study = format!("{UID_ROOT}.10{index}");
        let files: Vec<PathBuf> = names
            .iter()
            .enumerate()
            .map(|(n, name)| {
                prepare(
                    dir.path(),
                    name,
                    (&study, &format!("{study}.{n}"), &format!("{study}.{n}.1")),
                    &[],
                )
            })
            .collect();
        let qr = start_qr(&files, &[flag], free_port());
        let out = tempfile::tempdir().unwrap();
        let mut writer = InstanceWriter::new(out.path()).unwrap();
        let mut seen: Vec<GetProgress> = Vec::new();
        dimse::get(
            &node(QR_AET, qr.port),
            &options("HILUM"),
            &study,
            None,
            &mut writer,
            &mut |p, _| seen.push(p),
        )
        .unwrap_or_else(|e| panic!("{flag} {names:?}: {e}"));
        assert_eq!(
            seen.len(),
            files.len(),
            "{flag}: one progress report per instance"
        );
        assert_eq!(
            seen.last().unwrap().completed as usize,
            files.len(),
            "{flag}: {seen:?}"
        );
        assert_received(&files, out.path(), true);
    }
    // One series of a study.
    let study = default_study();
    let qr = start_qr(&study.files, &[], free_port());
    let out = tempfile::tempdir().unwrap();
    let mut writer = InstanceWriter::new(out.path()).unwrap();
    dimse::get(
        &node(QR_AET, qr.port),
        &options("HILUM"),
        &study.study,
        Some(&study.series[1]),
        &mut writer,
        &mut |_, _| {},
    )
    .unwrap();
    assert_received(&study.files[2..], out.path(), true);
}

#[test]
fn c_store_into_storescp() {
    require_isolated_network();
    let dir = tempfile::tempdir().unwrap();
    let study = format!("{UID_ROOT}.20");
    let mut files: Vec<PathBuf> = [
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
    ]
    .iter()
    .enumerate()
    .map(|(n, name)| {
        prepare(
            dir.path(),
            name,
            (&study, &format!("{study}.1"), &format!("{study}.1.{n}")),
            &[],
        )
    })
    .collect();
    let not_dicom = dir.path().join("notes.txt");
    std::fs::write(&not_dicom, "not an image").unwrap();
    files.insert(2, not_dicom.clone());

    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = tool("storescp", "dcmtk");
    command
        .args(["-aet", "STORESCP", "+xa", "-od"])
        .arg(out.path())
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut peer = Peer::start("storescp", command);
    peer.wait_for_port(port, Duration::from_secs(10));
    let mut outcomes = Vec::new();
    dimse::store(
        &node("STORESCP", port),
        &options("HILUM"),
        &files,
        &mut |path, outcome| outcomes.push((path.to_path_buf(), outcome)),
    )
    .unwrap();
    assert_eq!(outcomes.len(), files.len());
    for (path, outcome) in &outcomes {
        if *path == not_dicom {
            assert!(
                outcome.as_ref().unwrap_err().contains("Part 10"),
                "{outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "{}: {outcome:?}", path.display());
        }
    }
    files.retain(|p| *p != not_dicom);
    // Compressed files arrive as stored; the big endian one may have been
    // rewritten in another uncompressed syntax, with the same pixels.
    assert_received(&files, out.path(), false);
    for file in files.iter().filter(|f| !is_native(&transfer_syntax(f))) {
        let uid = sop_instance(file);
        let copy = files_in(out.path())
            .into_iter()
            .find(|p| sop_instance(p) == uid)
            .unwrap();
        assert_eq!(
            transfer_syntax(&copy),
            transfer_syntax(file),
            "{}",
            file.display()
        );
    }

    // No association at all is an error, not a report per file.
    let closed = node("STORESCP", free_port());
    let err = dimse::store(&closed, &options("HILUM"), &files, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err.kind, NetErrorKind::Connection(_)), "{err}");
}

#[test]
fn store_scp_takes_from_allowed_callers_only() {
    require_isolated_network();
    let study = default_study();
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let stop = Arc::new(AtomicBool::new(false));
    let scp_options = ScpOptions {
        aet: "HILUMSCP".into(),
        bind: ([127, 0, 0, 1], port).into(),
        allowed_calling_aets: Some(vec!["STORESCU".into()]),
    };
    let mut events = Vec::new();
    let out_dir = out.path().to_path_buf();
    std::thread::scope(|scope| {
        let scp_stop = Arc::clone(&stop);
        let scp = scope.spawn(|| {
            let mut writer = InstanceWriter::new(&out_dir).unwrap();
            let mut seen = Vec::new();
            let result = dimse::serve_with_events(&scp_options, &mut writer, scp_stop, &mut |e| {
                seen.push(e.clone())
            });
            (result, seen)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the Store SCP did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let storescu = |calling: &str| {
            let mut c = tool("storescu", "dcmtk");
            c.args([
                "-aet",
                calling,
                "-aec",
                "HILUMSCP",
                "127.0.0.1",
                &port.to_string(),
            ])
            .args(&study.files);
            common::run_tool(c)
        };
        let (ok, _, err) = storescu("STORESCU");
        assert!(ok, "storescu (allowed): {err}");
        let (ok, _, _) = storescu("STRANGER");
        assert!(!ok, "a calling AE title not on the list must be refused");
        let stopped = Instant::now();
        stop.store(true, Ordering::Relaxed);
        let (result, seen) = scp.join().unwrap();
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "stop took {:?}",
            stopped.elapsed()
        );
        result.unwrap();
        events = seen;
    });
    let stored = events
        .iter()
        .filter(|e| matches!(e, ScpEvent::Stored(_)))
        .count();
    assert_eq!(stored, study.files.len(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ScpEvent::Refused { calling_aet, reason }
            if calling_aet == "STRANGER" && reason.contains("calling AE title not recognized"))),
        "{events:?}"
    );
    assert_received(&study.files, out.path(), true);
}
