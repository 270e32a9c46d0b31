//! Peers written here that fail on purpose.

use super::*;

/// Peers written here to fail on purpose.
mod fake {
    use std::net::{TcpListener, TcpStream};

    use dicom_ul::association::server::ServerAssociationOptions;
    use dicom_ul::association::{ServerAssociation, SyncAssociation};
    use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
    use hilum::net::dimse::command::Command;
    use hilum::net::dimse::syntaxes::{STORAGE_CLASSES, STUDY_ROOT_FIND, STUDY_ROOT_GET};

    pub type Assoc = ServerAssociation<TcpStream>;

    /// Accepts one association for FIND, GET and the storage classes.
    pub fn accept(listener: &TcpListener) -> Assoc {
        let (stream, _) = listener.accept().unwrap();
        let mut options = ServerAssociationOptions::new()
            .accept_any()
            .ae_title("FAKE")
            // Hilum's C-GET request proposes 128 contexts: about 50 KB.
            .max_pdu_length(256 * 1024)
            .with_abstract_syntax(STUDY_ROOT_FIND)
            .with_abstract_syntax(STUDY_ROOT_GET);
        for class in STORAGE_CLASSES {
            options = options.with_abstract_syntax(*class);
        }
        options.establish(stream).unwrap()
    }

    pub fn send(assoc: &mut Assoc, context: u8, kind: PDataValueType, bytes: &[u8], last: bool) {
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context,
                value_type: kind,
                is_last: last,
                data: bytes.to_vec(),
            }],
        };
        SyncAssociation::send(assoc, &pdu).unwrap();
    }

    pub fn send_message(assoc: &mut Assoc, context: u8, command: &Command, data: Option<&[u8]>) {
        send(
            assoc,
            context,
            PDataValueType::Command,
            &command.encode(),
            true,
        );
        if let Some(data) = data {
            // In two fragments, to exercise reassembly.
            let half = data.len() / 2;
            send(assoc, context, PDataValueType::Data, &data[..half], false);
            send(assoc, context, PDataValueType::Data, &data[half..], true);
        }
    }

    /// Receives one message: its command and context (data skipped).
    pub fn receive(assoc: &mut Assoc) -> (u8, Command) {
        let mut command = Vec::new();
        loop {
            let Pdu::PData { data } = SyncAssociation::receive(assoc).unwrap() else {
                panic!("expected P-DATA");
            };
            for pdv in data {
                if pdv.value_type == PDataValueType::Command {
                    command.extend_from_slice(&pdv.data);
                    if pdv.is_last {
                        let command = Command::decode(&command).unwrap();
                        if !command.has_data_set {
                            return (pdv.presentation_context_id, command);
                        }
                    }
                } else if pdv.is_last {
                    return (
                        pdv.presentation_context_id,
                        Command::decode(&command).unwrap(),
                    );
                }
            }
        }
    }

    /// The accepted context for `class`.
    pub fn context(assoc: &Assoc, class: &str) -> u8 {
        assoc
            .presentation_contexts()
            .iter()
            .find(|pc| {
                pc.abstract_syntax == class
                    && pc.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance
            })
            .map(|pc| pc.id)
            .unwrap()
    }
}

#[test]
fn failures_of_the_peer_are_typed_errors() {
    use hilum::net::dimse::command::{self, Command};
    use hilum::net::dimse::syntaxes::STUDY_ROOT_GET;

    require_isolated_network();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mr = std::fs::read(corpus_dir().join("MR_small.dcm")).unwrap();
    let meta = dicom_object::open_file(corpus_dir().join("MR_small.dcm")).unwrap();
    let dataset = mr[132 + 12 + meta.meta().information_group_length as usize..].to_vec();
    std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            // 1. C-FIND answered with a failure status.
            let mut assoc = fake::accept(&listener);
            let (context, request) = fake::receive(&mut assoc);
            let mut response = Command::response_to(&request, 0xA700);
            response.has_data_set = false;
            fake::send_message(&mut assoc, context, &response, None);
            let _ = SyncAssociationExt::receive_release(&mut assoc);

            // 2. C-GET: first the C-FINDs that look up the study's SOP
            // classes (study level, then series level; answered: no
            // matches); then one instance, and the association drops in
            // the middle of the second's data set.
            for _ in 0..2 {
                let mut assoc = fake::accept(&listener);
                let (context, request) = fake::receive(&mut assoc);
                let mut no_matches = Command::response_to(&request, 0x0000);
                no_matches.has_data_set = false;
                fake::send_message(&mut assoc, context, &no_matches, None);
                let _ = SyncAssociationExt::receive_release(&mut assoc);
            }
            let mut assoc = fake::accept(&listener);
            let (get_context, _) = fake::receive(&mut assoc);
            let store_context = fake::context(&assoc, dicom_dictionary_std::uids::MR_IMAGE_STORAGE);
            let mut store = Command::request(
                command::C_STORE_RQ,
                dicom_dictionary_std::uids::MR_IMAGE_STORAGE,
                2,
                true,
            );
            store.affected_sop_instance = Some(format!("{UID_ROOT}.30.1"));
            fake::send_message(&mut assoc, store_context, &store, Some(&dataset));
            let (_, answer) = fake::receive(&mut assoc);
            assert_eq!(answer.status, Some(0));
            let pending = Command {
                field: command::C_GET_RSP,
                responding_to: Some(1),
                status: Some(command::PENDING),
                remaining: Some(1),
                completed: Some(1),
                failed: Some(0),
                warning: Some(0),
                affected_sop_class: Some(STUDY_ROOT_GET.into()),
                ..Default::default()
            };
            fake::send_message(&mut assoc, get_context, &pending, None);
            store.message_id = Some(3);
            store.affected_sop_instance = Some(format!("{UID_ROOT}.30.2"));
            fake::send(
                &mut assoc,
                store_context,
                dicom_ul::pdu::PDataValueType::Command,
                &store.encode(),
                true,
            );
            fake::send(
                &mut assoc,
                store_context,
                dicom_ul::pdu::PDataValueType::Data,
                &dataset[..dataset.len() / 2],
                false,
            );
            drop(assoc);

            // 3. A peer that accepts the connection and never answers.
            let (silent, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_secs(4));
            drop(silent);

            // 4. A peer that closes at once.
            let (closing, _) = listener.accept().unwrap();
            drop(closing);
        });

        let peer = node("FAKE", port);
        let err = dimse::find(&peer, &options("HILUM"), &QueryKeys::default()).unwrap_err();
        assert!(
            matches!(&err.kind, NetErrorKind::Refused(why) if why.contains("0xA700") && why.contains("out of resources")),
            "{err}"
        );

        let out = tempfile::tempdir().unwrap();
        let mut writer = InstanceWriter::new(out.path()).unwrap();
        let mut reported = 0;
        let err = dimse::get(
            &peer,
            &options("HILUM"),
            "1.2.3",
            None,
            &mut writer,
            &mut |_, _| reported += 1,
        )
        .unwrap_err();
        assert!(
            matches!(&err.kind, NetErrorKind::Connection(why) if why.contains("after 1 instance")),
            "{err}"
        );
        assert_eq!(reported, 1);
        assert_no_partial_files(out.path());
        assert_eq!(
            files_in(out.path()),
            vec![out.path().join(format!("{UID_ROOT}.30.1.dcm"))]
        );

        let mut quick = options("HILUM");
        quick.timeout = Duration::from_secs(1);
        let start = Instant::now();
        let err = dimse::echo(&peer, &quick).unwrap_err();
        assert!(matches!(err.kind, NetErrorKind::Timeout(_)), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );

        let err = dimse::echo(&peer, &options("HILUM")).unwrap_err();
        assert!(matches!(err.kind, NetErrorKind::Connection(_)), "{err}");
        server.join().unwrap();
    });
}

/// Waits for the requester's A-RELEASE-RQ and answers it.
trait SyncAssociationExt {
    fn receive_release(&mut self) -> Result<(), ()>;
}

impl SyncAssociationExt for fake::Assoc {
    fn receive_release(&mut self) -> Result<(), ()> {
        use dicom_ul::association::SyncAssociation;
        match SyncAssociation::receive(self) {
            Ok(dicom_ul::pdu::Pdu::ReleaseRQ) => {
                SyncAssociation::send(self, &dicom_ul::pdu::Pdu::ReleaseRP).map_err(|_| ())
            }
            _ => Err(()),
        }
    }
}
