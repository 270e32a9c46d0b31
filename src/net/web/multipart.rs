//! A streaming `multipart/related` reader (RFC 2046 §5.1, as WADO-RS sends
//! instances, PS3.18 8.6.1.2): parts are read as their bytes arrive, so a
//! study of any size passes through a fixed buffer straight to disk.
//!
//! Hand-written: the multipart crates on crates.io parse requests on the
//! server side (`multer` is async, `multipart` reads form data), and
//! `dicom-web` buffers each part into an in-memory object.

use std::io::{self, Read};

/// Bytes read from the source at a time.
const CHUNK: usize = 64 * 1024;
/// The most header bytes a part may have.
const MAX_HEADER: usize = 16 * 1024;

/// The headers of one part that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartHeaders {
    /// `Content-Type`, without parameters, lower case (empty if absent).
    pub content_type: String,
    /// `Content-Length`, when given.
    pub content_length: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a delimiter (the preamble, or the end of a part's content).
    AtDelimiter,
    /// Inside a part's content.
    InPart,
    /// After the close delimiter.
    Done,
}

/// Reads the parts of a multipart body one after the other.
pub struct Multipart<R> {
    source: R,
    /// `\r\n--boundary`: the delimiter, with the line break that belongs
    /// to it (RFC 2046: the CRLF before `--` is part of the delimiter).
    delimiter: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    state: State,
}

fn malformed(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

impl<R: Read> Multipart<R> {
    /// A reader of `source`, split on `boundary`.
    pub fn new(source: R, boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let finder = memchr::memmem::Finder::new(&delimiter).into_owned();
        Multipart {
            source,
            delimiter,
            finder,
            // A body may start with its first delimiter without a line
            // break before it: supply one so the same search finds it.
            buf: b"\r\n".to_vec(),
            pos: 0,
            eof: false,
            state: State::AtDelimiter,
        }
    }

    /// Reads more of the source into the buffer; false at its end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + CHUNK, 0);
        let n = loop {
            match self.source.read(&mut self.buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(start + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Moves to the next part and returns its headers, or `None` after the
    /// close delimiter. Unread content of the current part is skipped.
    pub fn next_part(&mut self) -> io::Result<Option<PartHeaders>> {
        if self.state == State::InPart {
            io::copy(&mut PartReader { multipart: self }, &mut io::sink())?;
        }
        if self.state == State::Done {
            return Ok(None);
        }
        // Find the delimiter (skipping a preamble the first time).
        loop {
            if let Some(at) = self.finder.find(&self.buf[self.pos..]) {
                self.pos += at + self.delimiter.len();
                break;
            }
            // Keep a tail that may hold the start of the delimiter.
            let keep = self.delimiter.len() - 1;
            self.pos = self.pos.max(self.buf.len().saturating_sub(keep));
            if !self.fill()? {
                return Err(malformed("the multipart body has no boundary delimiter"));
            }
        }
        // `--` after the delimiter closes the body; else transport padding
        // (spaces, tabs) and a line break lead to the part's headers.
        while self.buf.len() - self.pos < 2 {
            if !self.fill()? {
                return Err(malformed("the multipart body ends after a delimiter"));
            }
        }
        if &self.buf[self.pos..self.pos + 2] == b"--" {
            self.state = State::Done;
            return Ok(None);
        }
        let headers = self.read_headers()?;
        self.state = State::InPart;
        Ok(Some(headers))
    }

    fn read_headers(&mut self) -> io::Result<PartHeaders> {
        let end = loop {
            if let Some(end) = memchr::memmem::find(&self.buf[self.pos..], b"\r\n\r\n") {
                break end;
            }
            if self.buf.len() - self.pos > MAX_HEADER {
                return Err(malformed("a part's headers are longer than 16 KiB"));
            }
            if !self.fill()? {
                return Err(malformed("the multipart body ends inside a part's headers"));
            }
        };
        let text = String::from_utf8_lossy(&self.buf[self.pos..self.pos + end]).into_owned();
        self.pos += end + 4;
        let mut lines = text.split("\r\n");
        let padding = lines.next().unwrap_or("");
        if !padding.trim_matches([' ', '\t']).is_empty() {
            return Err(malformed("text after a boundary delimiter"));
        }
        let mut headers = PartHeaders::default();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(malformed(format!(
                    "a part header without a colon: {line:?}"
                )));
            };
            let value = value.trim();
            if name.trim().eq_ignore_ascii_case("content-type") {
                headers.content_type = media_type(value);
            } else if name.trim().eq_ignore_ascii_case("content-length") {
                headers.content_length = Some(
                    value
                        .parse()
                        .map_err(|_| malformed(format!("a bad part Content-Length {value:?}")))?,
                );
            }
        }
        Ok(headers)
    }

    /// Reads from the current part's content; 0 at its end.
    pub fn read_part(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.state != State::InPart || out.is_empty() {
            return Ok(0);
        }
        loop {
            let available = &self.buf[self.pos..];
            if let Some(at) = self.finder.find(available) {
                if at == 0 {
                    self.state = State::AtDelimiter;
                    return Ok(0);
                }
                let n = at.min(out.len());
                out[..n].copy_from_slice(&available[..n]);
                self.pos += n;
                return Ok(n);
            }
            // Everything but a tail that may start the delimiter is content.
            let safe = available.len().saturating_sub(self.delimiter.len() - 1);
            if safe > 0 {
                let n = safe.min(out.len());
                out[..n].copy_from_slice(&available[..n]);
                self.pos += n;
                return Ok(n);
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the multipart body ended inside a part (the connection closed early?)",
                ));
            }
        }
    }

    /// A reader of the current part's content.
    pub fn part(&mut self) -> PartReader<'_, R> {
        PartReader { multipart: self }
    }
}

/// The content of the current part, as a [`Read`].
pub struct PartReader<'a, R> {
    multipart: &'a mut Multipart<R>,
}

impl<R: Read> Read for PartReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.multipart.read_part(out)
    }
}

/// The media type of a Content-Type value, lower case, without parameters.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a Content-Type value (`boundary`, `type`), unquoted.
pub fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|part| {
        let (key, val) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| val.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn body(parts: &[&[u8]], boundary: &str) -> Vec<u8> {
        let mut out = b"preamble to ignore\r\n".to_vec();
        for part in parts {
            out.extend_from_slice(
                format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
            );
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    fn read_all<R: Read>(mut multipart: Multipart<R>) -> io::Result<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        while let Some(headers) = multipart.next_part()? {
            assert_eq!(headers.content_type, "application/dicom");
            let mut content = Vec::new();
            multipart.part().read_to_end(&mut content)?;
            parts.push(content);
        }
        Ok(parts)
    }

    #[test]
    fn parts_come_out_whole_whatever_the_read_sizes() {
        // Content holding CRLFs, dashes and a near-miss of the boundary.
        let a: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let b = b"\r\n--bound\r\n--boundar".to_vec();
        let data = body(&[&a, &b, b""], "boundary");
        for step in [1, 7, 4096, 1 << 20] {
            let parts =
                read_all(Multipart::new(Trickle { data: &data, step }, "boundary")).unwrap();
            assert_eq!(parts, vec![a.clone(), b.clone(), Vec::new()], "step {step}");
        }
    }

    #[test]
    fn a_body_cut_short_or_without_boundaries_is_an_error() {
        // Cut inside the part's content: the close delimiter never comes.
        let data = body(&[b"0123456789"], "b1");
        let cut = &data[..data.len() - 14];
        let err = read_all(Multipart::new(cut, "b1")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        // Cut inside the part's headers.
        let cut = &data[..data.len() - 30];
        let err = read_all(Multipart::new(cut, "b1")).unwrap_err();
        assert!(err.to_string().contains("inside a part's headers"), "{err}");
        let err = read_all(Multipart::new(&b"no parts here"[..], "b1")).unwrap_err();
        assert!(err.to_string().contains("no boundary"), "{err}");
        let bad = b"--b1\r\nno colon header\r\n\r\nx\r\n--b1--".to_vec();
        assert!(read_all(Multipart::new(&bad[..], "b1")).is_err());
    }

    #[test]
    fn content_type_parameters_parse() {
        let value = "multipart/related; type=\"application/dicom\"; boundary=\"abc def\"";
        assert_eq!(media_type(value), "multipart/related");
        assert_eq!(parameter(value, "boundary").as_deref(), Some("abc def"));
        assert_eq!(
            parameter(value, "TYPE").as_deref(),
            Some("application/dicom")
        );
        assert_eq!(parameter(value, "start"), None);
    }
}
