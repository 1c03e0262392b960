//! Reading one response from a stream: the head with `httparse`, then the body by its framing.
//!
//! Bounded everywhere: header bytes and count (also for chunked trailers), chunk-size lines, and
//! a kept body. A body that is not kept is only counted.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{H1Error, Limits};

/// Hard ceiling for the header array (kept on the stack only during parsing).
const HEADER_ARRAY: usize = 128;
/// Longest chunk-size line accepted (size, extensions, CRLF).
const MAX_CHUNK_LINE: usize = 4096;

/// What to keep from a response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    /// Keep the response headers (otherwise only the framing headers are looked at, and only a
    /// redirect's headers are kept, for its `Location`).
    pub headers: bool,
    /// Keep the body up to [`Limits::max_body`] (otherwise it is only counted).
    pub body: bool,
}

/// One kept response header: name as received, raw value.
pub type Header = (Box<str>, Box<[u8]>);

/// A complete response.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    /// Response headers in order, when asked for.
    pub headers: Option<Vec<Header>>,
    /// The body, when asked for (empty otherwise).
    pub body: Vec<u8>,
    /// Body bytes received (decoded, without chunk framing), kept or not.
    pub body_len: u64,
    /// The request was sent twice because a reused connection had been closed by the server
    /// before it accepted anything of the first attempt: count it once.
    pub retried: bool,
    /// The request went out on a connection that had already served a response.
    pub reused: bool,
}

impl Response {
    /// The first header named `name` (case-insensitive), when headers were kept.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .as_ref()?
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    Close,
}

struct Head {
    status: u16,
    keep_alive: bool,
    framing: Framing,
    headers: Option<Vec<Header>>,
    len: usize,
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a head from `buf`; `Ok(None)` when more bytes are needed.
fn parse_head(
    buf: &[u8],
    limits: &Limits,
    head_req: bool,
    want: Want,
) -> Result<Option<Head>, H1Error> {
    let max = limits.max_headers.min(HEADER_ARRAY);
    let mut array = [httparse::EMPTY_HEADER; HEADER_ARRAY];
    let mut resp = httparse::Response::new(&mut array[..max]);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            if buf.len() >= limits.max_header_bytes {
                return Err(H1Error::HeaderTooLarge(limits.max_header_bytes));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(H1Error::TooManyHeaders(max)),
        Err(_) => return Err(H1Error::Malformed("invalid status line or header")),
    };
    if len > limits.max_header_bytes {
        return Err(H1Error::HeaderTooLarge(limits.max_header_bytes));
    }
    let status = resp.code.ok_or(H1Error::Malformed("no status code"))?;
    let version = resp.version.unwrap_or(1);
    let mut keep_alive = version == 1;
    let mut length: Option<u64> = None;
    let mut chunked = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let s =
                std::str::from_utf8(h.value).map_err(|_| H1Error::Malformed("content-length"))?;
            let n: u64 = s
                .trim()
                .parse()
                .map_err(|_| H1Error::Malformed("content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(H1Error::Malformed("conflicting content-length"));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h.value.rsplit(|b| *b == b',').next().unwrap_or(b"");
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            if has_token(h.value, "close") {
                keep_alive = false;
            } else if has_token(h.value, "keep-alive") {
                keep_alive = true;
            }
        }
    }
    let framing = if head_req || (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::None
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::Close,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::Close,
        }
    };
    if framing == Framing::Close {
        keep_alive = false;
    }
    let headers = (want.headers || (300..400).contains(&status)).then(|| {
        resp.headers
            .iter()
            .map(|h| (Box::from(h.name), Box::from(h.value)))
            .collect()
    });
    Ok(Some(Head {
        status,
        keep_alive,
        framing,
        headers,
        len,
    }))
}

/// A stream with its read buffer; reads count whether any response byte arrived.
pub(crate) struct Reader<'a, S> {
    pub io: &'a mut S,
    pub buf: &'a mut BytesMut,
    pub limits: &'a Limits,
    pub received: bool,
}

impl<S: AsyncRead + Unpin> Reader<'_, S> {
    /// Reads more bytes; `Ok(0)` at EOF.
    async fn fill(&mut self) -> Result<usize, H1Error> {
        if self.buf.capacity() - self.buf.len() < 512 {
            self.buf.reserve(self.limits.read_buf.max(1024));
        }
        let n = self.io.read_buf(self.buf).await.map_err(H1Error::Read)?;
        self.received |= n > 0;
        Ok(n)
    }

    async fn fill_or_eof(&mut self) -> Result<(), H1Error> {
        match self.fill().await? {
            0 => Err(H1Error::UnexpectedEof),
            _ => Ok(()),
        }
    }

    /// Reads one final response (skipping 1xx). Returns it and whether the connection stays open.
    pub async fn response(
        &mut self,
        head_req: bool,
        want: Want,
    ) -> Result<(Response, bool), H1Error> {
        let head = loop {
            match parse_head(self.buf, self.limits, head_req, want)? {
                Some(h) if h.status == 101 => return Err(H1Error::Upgrade),
                Some(h) if (100..200).contains(&h.status) => self.buf.advance(h.len),
                Some(h) => break h,
                None => self.fill_or_eof().await?,
            }
        };
        self.buf.advance(head.len);
        let mut sink = Sink {
            keep: want.body,
            limit: self.limits.max_body,
            body: Vec::new(),
            len: 0,
        };
        match head.framing {
            Framing::None => {}
            Framing::Length(n) => {
                if sink.keep {
                    if n > sink.limit as u64 {
                        return Err(H1Error::BodyTooLarge { limit: sink.limit });
                    }
                    sink.body.reserve_exact(n as usize);
                }
                self.exact(n, &mut sink).await?;
            }
            Framing::Chunked => self.chunked(&mut sink).await?,
            Framing::Close => loop {
                let take = self.buf.len();
                sink.put(&self.buf[..take])?;
                self.buf.advance(take);
                if self.fill().await? == 0 {
                    break;
                }
            },
        }
        let keep_alive = head.keep_alive && self.buf.is_empty();
        let resp = Response {
            status: head.status,
            headers: head.headers,
            body: sink.body,
            body_len: sink.len,
            retried: false,
            reused: false,
        };
        Ok((resp, keep_alive))
    }

    async fn exact(&mut self, mut remaining: u64, sink: &mut Sink) -> Result<(), H1Error> {
        loop {
            let take = (self.buf.len() as u64).min(remaining) as usize;
            sink.put(&self.buf[..take])?;
            self.buf.advance(take);
            remaining -= take as u64;
            if remaining == 0 {
                return Ok(());
            }
            self.fill_or_eof().await?;
        }
    }

    async fn chunked(&mut self, sink: &mut Sink) -> Result<(), H1Error> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(self.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.buf.advance(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_CHUNK_LINE => {
                        self.fill_or_eof().await?
                    }
                    _ => return Err(H1Error::Malformed("invalid chunk size line")),
                }
            };
            if size == 0 {
                return self.trailers().await;
            }
            self.exact(size, sink).await?;
            while self.buf.len() < 2 {
                self.fill_or_eof().await?;
            }
            if &self.buf[..2] != b"\r\n" {
                return Err(H1Error::Malformed("chunk not followed by CRLF"));
            }
            self.buf.advance(2);
        }
    }

    /// Skips trailer lines up to the empty line, bounded like headers.
    async fn trailers(&mut self) -> Result<(), H1Error> {
        let mut total = 0usize;
        let mut count = 0usize;
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(i) => {
                    total += i + 2;
                    count += 1;
                    self.buf.advance(i + 2);
                }
                None => {
                    if total + self.buf.len() >= self.limits.max_header_bytes {
                        return Err(H1Error::HeaderTooLarge(self.limits.max_header_bytes));
                    }
                    self.fill_or_eof().await?;
                }
            }
            if total > self.limits.max_header_bytes {
                return Err(H1Error::HeaderTooLarge(self.limits.max_header_bytes));
            }
            if count > self.limits.max_headers {
                return Err(H1Error::TooManyHeaders(self.limits.max_headers));
            }
        }
    }
}

struct Sink {
    keep: bool,
    limit: usize,
    body: Vec<u8>,
    len: u64,
}

impl Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), H1Error> {
        self.len += bytes.len() as u64;
        if self.keep {
            if self.body.len() + bytes.len() > self.limit {
                return Err(H1Error::BodyTooLarge { limit: self.limit });
            }
            self.body.extend_from_slice(bytes);
        }
        Ok(())
    }
}
