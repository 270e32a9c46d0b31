//! DIMSE command sets (PS3.7 9.3 and E.1): the group 0000 elements that
//! head every message, always encoded in Implicit VR Little Endian whatever
//! the presentation context says (PS3.7 6.3.1), and the status codes of the
//! responses (PS3.7 C, PS3.4 B.2.3, C.4).
//!
//! The encoder and decoder are written out here rather than going through
//! `dicom-object`: a command set is a flat list of a few dozen known
//! elements, and a hand-written decoder can bound every length it reads
//! from a peer and never panic on a malformed one.

/// C-STORE-RQ.
pub const C_STORE_RQ: u16 = 0x0001;
/// C-STORE-RSP.
pub const C_STORE_RSP: u16 = 0x8001;
/// C-GET-RQ.
pub const C_GET_RQ: u16 = 0x0010;
/// C-GET-RSP.
pub const C_GET_RSP: u16 = 0x8010;
/// C-FIND-RQ.
pub const C_FIND_RQ: u16 = 0x0020;
/// C-FIND-RSP.
pub const C_FIND_RSP: u16 = 0x8020;
/// C-MOVE-RQ.
pub const C_MOVE_RQ: u16 = 0x0021;
/// C-MOVE-RSP.
pub const C_MOVE_RSP: u16 = 0x8021;
/// C-ECHO-RQ.
pub const C_ECHO_RQ: u16 = 0x0030;
/// C-ECHO-RSP.
pub const C_ECHO_RSP: u16 = 0x8030;
/// C-CANCEL-RQ.
pub const C_CANCEL_RQ: u16 = 0x0FFF;

/// Command Data Set Type value meaning "no data set follows".
const NO_DATA_SET: u16 = 0x0101;
/// The value sent when a data set follows (any other value means that).
const DATA_SET_PRESENT: u16 = 0x0000;

/// The largest command set accepted from a peer. Real ones are a few
/// hundred bytes; the bound keeps a hostile peer from growing the buffer.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// A DIMSE command set. Only the elements Hilum sends or reads are kept;
/// others a peer sends are skipped when decoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// Command Field (0000,0100).
    pub field: u16,
    /// Affected SOP Class UID (0000,0002).
    pub affected_sop_class: Option<String>,
    /// Requested SOP Class UID (0000,0003).
    pub requested_sop_class: Option<String>,
    /// Message ID (0000,0110).
    pub message_id: Option<u16>,
    /// Message ID Being Responded To (0000,0120).
    pub responding_to: Option<u16>,
    /// Move Destination (0000,0600).
    pub move_destination: Option<String>,
    /// Priority (0000,0700): 0 medium, 1 high, 2 low.
    pub priority: Option<u16>,
    /// Whether a data set follows the command (0000,0800).
    pub has_data_set: bool,
    /// Status (0000,0900).
    pub status: Option<u16>,
    /// Error Comment (0000,0902).
    pub error_comment: Option<String>,
    /// Affected SOP Instance UID (0000,1000).
    pub affected_sop_instance: Option<String>,
    /// Number of Remaining Sub-operations (0000,1020).
    pub remaining: Option<u16>,
    /// Number of Completed Sub-operations (0000,1021).
    pub completed: Option<u16>,
    /// Number of Failed Sub-operations (0000,1022).
    pub failed: Option<u16>,
    /// Number of Warning Sub-operations (0000,1023).
    pub warning: Option<u16>,
    /// Move Originator Application Entity Title (0000,1030).
    pub move_originator_aet: Option<String>,
    /// Move Originator Message ID (0000,1031).
    pub move_originator_id: Option<u16>,
}

impl Command {
    /// A request of `field` for `sop_class` with `message_id`, medium
    /// priority (C-ECHO and C-CANCEL carry no priority, PS3.7 9.3).
    pub fn request(field: u16, sop_class: &str, message_id: u16, has_data_set: bool) -> Self {
        let with_priority = !matches!(field, C_ECHO_RQ | C_CANCEL_RQ);
        Command {
            field,
            affected_sop_class: (field != C_CANCEL_RQ).then(|| sop_class.to_string()),
            message_id: (field != C_CANCEL_RQ).then_some(message_id),
            responding_to: (field == C_CANCEL_RQ).then_some(message_id),
            priority: with_priority.then_some(0),
            has_data_set,
            ..Default::default()
        }
    }

    /// The response to `request` with `status`, echoing its SOP class and
    /// instance as PS3.7 requires.
    pub fn response_to(request: &Command, status: u16) -> Self {
        Command {
            field: request.field | 0x8000,
            affected_sop_class: request.affected_sop_class.clone(),
            responding_to: request.message_id,
            status: Some(status),
            affected_sop_instance: request.affected_sop_instance.clone(),
            ..Default::default()
        }
    }

    /// The status class of this response (failure when it has none: a
    /// response without a status cannot be taken as success).
    pub fn status_class(&self) -> StatusClass {
        self.status
            .map(StatusClass::of)
            .unwrap_or(StatusClass::Failure)
    }

    /// Encodes the command set in Implicit VR Little Endian, with its
    /// Command Group Length first.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(256);
        let text = |body: &mut Vec<u8>, element: u16, value: &Option<String>, pad: u8| {
            if let Some(value) = value {
                put_text(body, element, value, pad);
            }
        };
        let number = |body: &mut Vec<u8>, element: u16, value: Option<u16>| {
            if let Some(value) = value {
                put(body, element, &value.to_le_bytes());
            }
        };
        // Elements in ascending tag order (PS3.5 7.1).
        text(&mut body, 0x0002, &self.affected_sop_class, 0);
        text(&mut body, 0x0003, &self.requested_sop_class, 0);
        number(&mut body, 0x0100, Some(self.field));
        number(&mut body, 0x0110, self.message_id);
        number(&mut body, 0x0120, self.responding_to);
        text(&mut body, 0x0600, &self.move_destination, b' ');
        number(&mut body, 0x0700, self.priority);
        let data_set = if self.has_data_set {
            DATA_SET_PRESENT
        } else {
            NO_DATA_SET
        };
        number(&mut body, 0x0800, Some(data_set));
        number(&mut body, 0x0900, self.status);
        text(&mut body, 0x0902, &self.error_comment, b' ');
        text(&mut body, 0x1000, &self.affected_sop_instance, 0);
        number(&mut body, 0x1020, self.remaining);
        number(&mut body, 0x1021, self.completed);
        number(&mut body, 0x1022, self.failed);
        number(&mut body, 0x1023, self.warning);
        text(&mut body, 0x1030, &self.move_originator_aet, b' ');
        number(&mut body, 0x1031, self.move_originator_id);
        let mut out = Vec::with_capacity(body.len() + 12);
        put(&mut out, 0x0000, &(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a command set received from a peer. Unknown elements are
    /// skipped; a truncated element, a tag outside group 0000, a value of
    /// the wrong size or a missing Command Field is an error.
    pub fn decode(bytes: &[u8]) -> Result<Command, String> {
        if bytes.len() > MAX_COMMAND_BYTES {
            return Err(format!(
                "a command set of {} bytes is too large",
                bytes.len()
            ));
        }
        let mut command = Command::default();
        let mut field = None;
        let mut data_set_type = None;
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some((header, after)) = rest.split_first_chunk::<8>() else {
                return Err("a command element is truncated".into());
            };
            let group = u16::from_le_bytes([header[0], header[1]]);
            let element = u16::from_le_bytes([header[2], header[3]]);
            let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
            if group != 0 {
                // Orthanc 1.10 appends its C-GET failure identifier (Failed
                // SOP Instance UID List, group 0008) to the command set's
                // fragment; what follows a complete command set is ignored.
                if field.is_some() {
                    break;
                }
                return Err(format!(
                    "element ({group:04X},{element:04X}) is not a command element"
                ));
            }
            if length > after.len() {
                return Err(format!(
                    "command element (0000,{element:04X}) claims {length} bytes, {} remain",
                    after.len()
                ));
            }
            let (value, next) = after.split_at(length);
            rest = next;
            let us = || -> Result<u16, String> {
                match value {
                    [a, b] => Ok(u16::from_le_bytes([*a, *b])),
                    _ => Err(format!(
                        "command element (0000,{element:04X}) should hold 2 bytes, not {length}"
                    )),
                }
            };
            match element {
                0x0002 => command.affected_sop_class = Some(text_value(value)),
                0x0003 => command.requested_sop_class = Some(text_value(value)),
                0x0100 => field = Some(us()?),
                0x0110 => command.message_id = Some(us()?),
                0x0120 => command.responding_to = Some(us()?),
                0x0600 => command.move_destination = Some(text_value(value)),
                0x0700 => command.priority = Some(us()?),
                0x0800 => data_set_type = Some(us()?),
                0x0900 => command.status = Some(us()?),
                0x0902 => command.error_comment = Some(text_value(value)),
                0x1000 => command.affected_sop_instance = Some(text_value(value)),
                0x1020 => command.remaining = Some(us()?),
                0x1021 => command.completed = Some(us()?),
                0x1022 => command.failed = Some(us()?),
                0x1023 => command.warning = Some(us()?),
                0x1030 => command.move_originator_aet = Some(text_value(value)),
                0x1031 => command.move_originator_id = Some(us()?),
                _ => {}
            }
        }
        command.field = field.ok_or("the command set has no Command Field")?;
        command.has_data_set =
            data_set_type.ok_or("the command set has no Command Data Set Type")? != NO_DATA_SET;
        Ok(command)
    }
}

/// One element: tag, 4-byte length, value.
fn put(out: &mut Vec<u8>, element: u16, value: &[u8]) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

/// A text element padded to even length: UIDs with NUL, other text with a
/// space (PS3.5 6.2).
fn put_text(out: &mut Vec<u8>, element: u16, value: &str, pad: u8) {
    let mut bytes = value.as_bytes().to_vec();
    if bytes.len() % 2 == 1 {
        bytes.push(pad);
    }
    put(out, element, &bytes);
}

/// A text value without its padding; bytes that are not UTF-8 are replaced
/// rather than refused (these are UIDs, AE titles and comments).
fn text_value(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .trim_start()
        .to_string()
}

/// What a status code means for the operation (PS3.7 C.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 0x0000.
    Success,
    /// 0xFF00, 0xFF01: more responses follow.
    Pending,
    /// 0xFE00: the operation was cancelled.
    Cancel,
    /// 0x0001, 0x0107, 0x0116, 0xBxxx: done, with warnings.
    Warning,
    /// Anything else.
    Failure,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: u16) -> Self {
        match status {
            0x0000 => StatusClass::Success,
            0xFF00 | 0xFF01 => StatusClass::Pending,
            0xFE00 => StatusClass::Cancel,
            0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => StatusClass::Warning,
            _ => StatusClass::Failure,
        }
    }
}

/// Success.
pub const SUCCESS: u16 = 0x0000;
/// Pending (matches or sub-operations continue).
pub const PENDING: u16 = 0xFF00;
/// Refused: out of resources (what Hilum answers when it cannot write a
/// received instance).
pub const OUT_OF_RESOURCES: u16 = 0xA700;
/// Refused: SOP Class not supported.
pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Error: cannot understand (a data set that does not parse).
pub const CANNOT_UNDERSTAND: u16 = 0xC000;

/// What `status` means, in words (PS3.4 B.2.3, C.4.1.1.4, C.4.2.1.5,
/// C.4.3.1.4 and PS3.7 C).
pub fn status_meaning(status: u16) -> &'static str {
    match status {
        0x0000 => "success",
        0xFF00 | 0xFF01 => "pending",
        0xFE00 => "cancelled",
        0x0001 => "warning: requested optional attributes are not supported",
        0x0107 => "warning: attribute list error",
        0x0116 => "warning: attribute value out of range",
        0xB000 => "warning: sub-operations complete, one or more failures or warnings",
        0xB006 => "warning: elements discarded",
        0xB007 => "warning: data set does not match SOP class",
        0xA701 => "refused: out of resources, unable to calculate the number of matches",
        0xA702 => "refused: out of resources, unable to perform sub-operations",
        0xA700..=0xA7FF => "refused: out of resources",
        0xA801 => "refused: move destination unknown",
        0xA900..=0xA9FF => "error: identifier does not match SOP class",
        0xC000..=0xCFFF => "error: unable to process",
        0x0122 => "refused: SOP class not supported",
        0x0124 => "refused: not authorized",
        0x0110 => "processing failure",
        0x0111 => "duplicate SOP instance",
        0x0117 => "invalid SOP instance",
        0x0118 => "no such SOP class",
        0x0119 => "class-instance conflict",
        0x0210 => "duplicate invocation",
        0x0211 => "unrecognized operation",
        0x0212 => "mistyped argument",
        0x0213 => "resource limitation",
        0xB001..=0xBFFF => "warning",
        _ => "failure",
    }
}

/// `0xA700 (refused: out of resources)`, the way errors name a status.
pub fn describe_status(status: u16) -> String {
    format!("0x{status:04X} ({})", status_meaning(status))
}

/// The status of a response as text, or a note that it had none.
pub fn describe_response_status(command: &Command) -> String {
    match command.status {
        Some(status) => describe_status(status),
        None => "missing (the response has no Status)".into(),
    }
}

/// The sub-operation counts of a C-GET or C-MOVE response, as text.
pub fn describe_counts(command: &Command) -> String {
    format!(
        "{} completed, {} failed, {} with warnings",
        command.completed.unwrap_or(0),
        command.failed.unwrap_or(0),
        command.warning.unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_with_group_length_and_even_values() {
        let mut request = Command::request(C_MOVE_RQ, "1.2.840.10008.5.1.4.1.2.2.2", 7, true);
        request.move_destination = Some("HILUM".into());
        let bytes = request.encode();
        // Group length first, counting every byte after it.
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 4, 0, 0, 0]);
        let length = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert_eq!(length, bytes.len() - 12);
        // Odd-length UID padded with NUL, AE title with a space.
        assert!(
            bytes
                .windows(28)
                .any(|w| w == b"1.2.840.10008.5.1.4.1.2.2.2\0")
        );
        assert!(bytes.windows(6).any(|w| w == b"HILUM "));
        let decoded = Command::decode(&bytes).unwrap();
        assert_eq!(decoded, request);

        let mut store = Command::request(C_STORE_RQ, "1.2.840.10008.5.1.4.1.1.4", 3, true);
        store.affected_sop_instance = Some("1.2.3.4".into());
        let response = Command::response_to(&store, OUT_OF_RESOURCES);
        let decoded = Command::decode(&response.encode()).unwrap();
        assert_eq!(decoded.field, C_STORE_RSP);
        assert_eq!(decoded.responding_to, Some(3));
        assert_eq!(decoded.affected_sop_instance.as_deref(), Some("1.2.3.4"));
        assert!(!decoded.has_data_set);
        assert_eq!(decoded.status_class(), StatusClass::Failure);

        let echo = Command::request(C_ECHO_RQ, "1.2.840.10008.1.1", 1, false);
        assert_eq!(echo.priority, None);
        assert_eq!(Command::decode(&echo.encode()).unwrap(), echo);
    }

    #[test]
    fn counts_and_unknown_elements_decode() {
        let mut response = Command {
            field: C_GET_RSP,
            responding_to: Some(1),
            status: Some(PENDING),
            remaining: Some(4),
            completed: Some(2),
            failed: Some(1),
            warning: Some(0),
            ..Default::default()
        };
        let mut bytes = response.encode();
        // An element Hilum does not know (Error ID) is skipped.
        put(&mut bytes, 0x0903, &5u16.to_le_bytes());
        let decoded = Command::decode(&bytes).unwrap();
        assert_eq!(decoded, response);
        assert_eq!(
            describe_counts(&decoded),
            "2 completed, 1 failed, 0 with warnings"
        );
        response.status = None;
        assert_eq!(
            Command::decode(&response.encode()).unwrap().status_class(),
            StatusClass::Failure
        );
    }

    #[test]
    fn malformed_command_sets_are_errors_not_panics() {
        let good = Command::request(C_ECHO_RQ, "1.2.840.10008.1.1", 1, false).encode();
        for cut in 0..good.len() {
            let _ = Command::decode(&good[..cut]);
        }
        assert!(
            Command::decode(&good[..good.len() - 1])
                .unwrap_err()
                .contains("bytes")
        );
        let mut huge_length = good.clone();
        huge_length[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Command::decode(&huge_length).is_err());
        // What Orthanc 1.10 appends to a failed C-GET response's command
        // fragment (group 0008) is ignored once the command set is whole.
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[8, 0, 0x58, 0, 4, 0, 0, 0, b'1', b'.', b'2', 0]);
        assert_eq!(Command::decode(&trailing), Command::decode(&good));
        let mut wrong_group = good.clone();
        wrong_group[0] = 8;
        assert!(
            Command::decode(&wrong_group)
                .unwrap_err()
                .contains("not a command")
        );
        let mut no_field = Vec::new();
        put(&mut no_field, 0x0800, &NO_DATA_SET.to_le_bytes());
        assert!(
            Command::decode(&no_field)
                .unwrap_err()
                .contains("Command Field")
        );
        let mut short_us = Vec::new();
        put(&mut short_us, 0x0100, &[1]);
        assert!(Command::decode(&short_us).unwrap_err().contains("2 bytes"));
        assert!(Command::decode(&vec![0; MAX_COMMAND_BYTES + 1]).is_err());
    }

    #[test]
    fn statuses_are_classified_and_named() {
        assert_eq!(StatusClass::of(0x0000), StatusClass::Success);
        assert_eq!(StatusClass::of(0xFF01), StatusClass::Pending);
        assert_eq!(StatusClass::of(0xFE00), StatusClass::Cancel);
        assert_eq!(StatusClass::of(0xB000), StatusClass::Warning);
        for failure in [0xA700, 0xA900, 0xC000, 0xC123, 0x0122, 0xA801] {
            assert_eq!(
                StatusClass::of(failure),
                StatusClass::Failure,
                "{failure:04X}"
            );
        }
        assert_eq!(
            describe_status(0xA700),
            "0xA700 (refused: out of resources)"
        );
        assert_eq!(
            describe_status(0xA900),
            "0xA900 (error: identifier does not match SOP class)"
        );
        assert_eq!(describe_status(0xC001), "0xC001 (error: unable to process)");
        assert_eq!(
            describe_status(0xA801),
            "0xA801 (refused: move destination unknown)"
        );
    }
}
