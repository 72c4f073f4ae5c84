//! Server-sent events: the one way every streaming route answers ([`response`]), and
//! reading our own events back ([`DataLines`]: the Responses route and `n` streams re-shape
//! chat streams).

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;

/// An SSE response of `events`, with keep-alive comments every `keep_alive` and the
/// headers that stop proxies from buffering or caching it.
pub fn response<S>(events: S, keep_alive: Duration) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response();
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    resp
}

/// Collects bytes and yields the `data:` payloads of the lines they complete (comments and
/// other fields skipped).
#[derive(Debug, Default)]
pub struct DataLines {
    buf: Vec<u8>,
}

impl DataLines {
    /// Adds bytes; returns the payloads of the lines now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(d) = line.trim_end_matches(['\r', '\n']).strip_prefix("data:") {
                out.push(d.trim_start().to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::DataLines;

    #[test]
    fn data_lines_are_cut_where_they_end() {
        let mut l = DataLines::default();
        assert!(l.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            l.push(b":1}\n\n: keep-alive\ndata: [DONE]\n"),
            vec!["{\"a\":1}", "[DONE]"]
        );
    }
}
