//! A file's type, read from its first bytes (the `infer` crate's signatures), never from the
//! name or the type Linq reported: a PNG named `.pdf` is a PNG, an HTML page named `.png` is
//! HTML. What no signature matches is `application/octet-stream`.

/// How many leading bytes are kept for sniffing (enough for every signature `infer` knows
/// that sits near the start; container formats deeper in are served as downloads anyway).
pub const HEAD_BYTES: usize = 8192;

/// The MIME type the bytes say.
pub fn content_type(head: &[u8]) -> String {
    infer::get(head)
        .map(|kind| kind.mime_type().to_string())
        .unwrap_or_else(|| "application/octet-stream".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PNG signature and header chunk.
    pub(crate) const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    #[test]
    fn the_bytes_decide_not_the_name() {
        assert_eq!(content_type(PNG), "image/png", "PNG signature");
        assert_eq!(
            content_type(b"<!DOCTYPE html><html><script>alert(1)</script>"),
            "text/html",
            "an HTML page is HTML whatever it is called"
        );
        assert_eq!(
            content_type(b"%PDF-1.7\n"),
            "application/pdf",
            "PDF signature"
        );
        assert_eq!(
            content_type(b"just some words"),
            "application/octet-stream",
            "no signature: unknown"
        );
    }

    #[test]
    fn svg_is_never_taken_for_a_raster_image() {
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        let ty = content_type(svg);
        assert!(
            crate::store::attachment_files::preview(&ty).is_none(),
            "an SVG ({ty}) is never shown in place"
        );
    }
}
