//! Requests serialised once: static bytes with numbered slots for the parts a template renders.
//!
//! A [`Prepared`] is built at compile time. A fully static request is one byte string; a request
//! with templated parts is a list of static pieces and slots, filled per request into the
//! connection's reused write buffer (see [`Prepared::write_into`]). When the body is templated the
//! builder emits the Content-Length as computed at write time.

use super::H1Error;

#[derive(Debug, Clone)]
enum Piece {
    Static(Box<[u8]>),
    Slot(usize),
    /// The templated body: `Content-Length: N\r\n\r\n` followed by the slot's bytes.
    BodySlot(usize),
}

/// A request ready to write: method, path, Host, headers and body, with optional slots.
#[derive(Debug, Clone)]
pub struct Prepared {
    pieces: Vec<Piece>,
    slots: usize,
    head: bool,
}

impl Prepared {
    /// A request with no templated part.
    pub fn fixed(
        method: &str,
        path: &str,
        host: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Prepared {
        let mut b = PreparedBuilder::new(method);
        b.text(path).request_line_end(host);
        for (name, value) in headers {
            b.header(name, value);
        }
        b.body(body).finish()
    }

    /// Whether this is a HEAD request (its response never has a body).
    pub fn is_head(&self) -> bool {
        self.head
    }

    /// How many rendered values [`Prepared::write_into`] expects.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Appends the request bytes, with `values[i]` in slot `i`, to `out`.
    pub fn write_into(&self, values: &[&[u8]], out: &mut Vec<u8>) -> Result<(), H1Error> {
        if values.len() != self.slots {
            return Err(H1Error::Slots {
                expected: self.slots,
                given: values.len(),
            });
        }
        for piece in &self.pieces {
            match piece {
                Piece::Static(bytes) => out.extend_from_slice(bytes),
                Piece::Slot(i) => out.extend_from_slice(values[*i]),
                Piece::BodySlot(i) => {
                    let body = values[*i];
                    out.extend_from_slice(b"Content-Length: ");
                    let mut digits = itoa_buf(body.len());
                    out.extend_from_slice(digits.as_bytes_mut());
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(body);
                }
            }
        }
        Ok(())
    }
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(mut n: usize) -> Digits {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buf, start: i }
}

/// Builds a [`Prepared`]: the request line (path pieces may be slots), headers, then the body.
#[derive(Debug)]
pub struct PreparedBuilder {
    pieces: Vec<Piece>,
    current: Vec<u8>,
    slots: usize,
    head: bool,
}

impl PreparedBuilder {
    /// Starts `METHOD ` ; the path follows through [`text`](Self::text) and [`slot`](Self::slot).
    pub fn new(method: &str) -> Self {
        let mut current = Vec::with_capacity(256);
        current.extend_from_slice(method.as_bytes());
        current.push(b' ');
        Self {
            pieces: Vec::new(),
            current,
            slots: 0,
            head: method.eq_ignore_ascii_case("HEAD"),
        }
    }

    /// Appends static text (in the path or a header value).
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.current.extend_from_slice(text.as_bytes());
        self
    }

    /// Appends a slot filled per request; returns its index through `slots()` order.
    pub fn slot(&mut self) -> &mut Self {
        self.flush();
        self.pieces.push(Piece::Slot(self.slots));
        self.slots += 1;
        self
    }

    /// Ends the request line and writes the Host header.
    pub fn request_line_end(&mut self, host: &str) -> &mut Self {
        self.text(" HTTP/1.1\r\nHost: ");
        self.text(host);
        self.text("\r\n")
    }

    /// A complete static header.
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.text(name).text(": ").text(value).text("\r\n")
    }

    /// Starts a header whose value follows through `text`/`slot`; end it with [`header_end`](Self::header_end).
    pub fn header_start(&mut self, name: &str) -> &mut Self {
        self.text(name).text(": ")
    }

    /// Ends a header started with [`header_start`](Self::header_start).
    pub fn header_end(&mut self) -> &mut Self {
        self.text("\r\n")
    }

    /// A static body (or none): Content-Length is serialised now.
    pub fn body(&mut self, body: Option<&[u8]>) -> &mut Self {
        if let Some(body) = body {
            self.text("Content-Length: ");
            let mut d = itoa_buf(body.len());
            self.current.extend_from_slice(d.as_bytes_mut());
            self.text("\r\n\r\n");
            self.current.extend_from_slice(body);
        } else {
            self.text("\r\n");
        }
        self
    }

    /// A templated body: Content-Length is computed when the request is written.
    pub fn body_slot(&mut self) -> &mut Self {
        self.flush();
        self.pieces.push(Piece::BodySlot(self.slots));
        self.slots += 1;
        self
    }

    /// The finished request.
    pub fn finish(&mut self) -> Prepared {
        self.flush();
        Prepared {
            pieces: std::mem::take(&mut self.pieces),
            slots: self.slots,
            head: self.head,
        }
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            let bytes = std::mem::take(&mut self.current).into_boxed_slice();
            self.pieces.push(Piece::Static(bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_request_is_one_piece() {
        let p = Prepared::fixed("POST", "/a", "h:1", &[("X-A", "1")], Some(b"hey"));
        let mut out = Vec::new();
        p.write_into(&[], &mut out).unwrap();
        assert_eq!(
            out,
            b"POST /a HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nhey".to_vec()
        );
        assert_eq!(p.pieces.len(), 1);
    }

    #[test]
    fn slots_and_templated_body() {
        let mut b = PreparedBuilder::new("PUT");
        b.text("/u/").slot().request_line_end("h");
        b.header_start("X-T").slot().header_end().body_slot();
        let p = b.finish();
        assert_eq!(p.slots(), 3);
        let mut out = Vec::new();
        p.write_into(&[b"7", b"tok", b"0123456789"], &mut out)
            .unwrap();
        assert_eq!(
            out,
            b"PUT /u/7 HTTP/1.1\r\nHost: h\r\nX-T: tok\r\nContent-Length: 10\r\n\r\n0123456789"
                .to_vec()
        );
        assert!(p.write_into(&[b"1"], &mut Vec::new()).is_err());
        assert!(Prepared::fixed("HEAD", "/", "h", &[], None).is_head());
    }
}
