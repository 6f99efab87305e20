//! Which addresses the downloader fetches from (DESIGN.md, "Catch-up and outbox"): `https://`
//! anywhere, plus the `--linq-api-base` origin with its own scheme (so a fake of Linq on
//! loopback can serve files in tests); never `file:`, never another plain-http host. Every
//! redirect is checked by the same rule before it is followed.
//!
//! A refusal is one sentence naming the scheme and host only: a download address may carry a
//! signature in its query, which never reaches a log or the UI.

use reqwest::Url;

/// The rule, fixed for the engine's life.
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    /// The API base's scheme, host and port.
    api_origin: Option<(String, String, Option<u16>)>,
}

impl UrlPolicy {
    pub fn new(api_base: &str) -> UrlPolicy {
        let api_origin = Url::parse(api_base).ok().and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some((u.scheme().to_string(), host, u.port_or_known_default()))
        });
        UrlPolicy { api_origin }
    }

    /// The address to fetch, or why it is refused (one sentence).
    pub fn check(&self, address: &str) -> Result<Url, String> {
        let url = Url::parse(address.trim())
            .map_err(|_| "Linq's address for this file is not a valid URL.".to_string())?;
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return Err(format!(
                "The app does not download {}: addresses; only https:// ones are fetched.",
                url.scheme()
            ));
        };
        if url.scheme() == "https" || self.is_api_origin(&url, &host) {
            return Ok(url);
        }
        Err(format!(
            "The app does not download from {}://{host}: only https:// addresses (and Linq's API host) are fetched.",
            url.scheme()
        ))
    }

    fn is_api_origin(&self, url: &Url, host: &str) -> bool {
        self.api_origin
            .as_ref()
            .is_some_and(|(scheme, api_host, port)| {
                scheme == url.scheme() && api_host == host && *port == url.port_or_known_default()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_the_api_origin_only() {
        let policy = UrlPolicy::new("http://127.0.0.1:9000");
        for ok in [
            "https://cdn.linqapp.com/attachments/p/a/photo.png",
            "HTTPS://CDN.example/x",
            "http://127.0.0.1:9000/files/a.png",
        ] {
            assert!(policy.check(ok).is_ok(), "{ok} is allowed");
        }
        for refused in [
            "http://cdn.linqapp.com/a.png",
            "http://127.0.0.1:9001/files/a.png",
            "http://localhost:9000/files/a.png",
            "file:///etc/passwd",
            "ftp://127.0.0.1:9000/a",
            "data:image/png;base64,AAAA",
            "javascript:alert(1)",
            "not a url",
        ] {
            let err = policy.check(refused).expect_err(refused);
            assert!(
                err.ends_with('.') && !err.contains("passwd"),
                "{refused}: one sentence that never repeats the path: {err}"
            );
        }
    }

    #[test]
    fn a_real_linq_base_allows_only_https() {
        let policy = UrlPolicy::new("https://api.linqapp.com");
        assert!(
            policy.check("http://api.linqapp.com/a").is_err(),
            "plain http to Linq's own host is still refused when the base is https"
        );
        let err = policy
            .check("http://evil.example/a?X-Amz-Signature=secret")
            .expect_err("plain http");
        assert!(
            err.contains("http://evil.example") && !err.contains("secret"),
            "names the scheme and host, never the query: {err}"
        );
    }
}
