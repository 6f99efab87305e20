//! One keep-alive HTTP/1.1 connection (hyper's low-level client): no pool, no hidden queueing,
//! so what is measured is the server.

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub struct Conn {
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

/// `host:port` of an `http://host:port/...` URL, and its path.
pub fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("{url}: only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok((host.to_string(), path.to_string()))
}

impl Conn {
    pub async fn open(host: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(host)
            .await
            .with_context(|| format!("cannot connect to {host}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            host: host.to_string(),
            sender,
        })
    }

    /// Sends one request and reads the whole answer: (status, body).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self.sender.send_request(req.body(Full::new(body))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(u16, Bytes)> {
        self.send(Method::GET, path, headers, Bytes::new()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        let (h, p) = split_url("http://127.0.0.1:8787/webhooks/linq").expect("valid");
        assert_eq!(
            (h.as_str(), p.as_str()),
            ("127.0.0.1:8787", "/webhooks/linq"),
            "the URL splits into the host to connect to and the path to post to"
        );
        assert!(
            split_url("https://x/").is_err(),
            "TLS is not what is measured"
        );
    }
}
