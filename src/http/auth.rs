//! Who may use the UI server: a session cookie from the one-time login link, or the bearer UI
//! token; only through a loopback `Host` (DNS rebinding), and state changes only from this origin.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::config::random_token;

pub const COOKIE: &str = "linq_inbox_session";
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
media-src 'self' https:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// Sessions are signed, not remembered: a cookie is `<id>.<hmac(key, id)>` with a key kept in
/// the data folder, so an open page stays signed in when the app restarts.
pub struct Auth {
    ui_token: String,
    port: u16,
    session_key: Vec<u8>,
    logins: Mutex<HashSet<String>>,
}

impl Auth {
    pub fn new(ui_token: String, port: u16, session_key: Vec<u8>) -> Auth {
        Auth {
            ui_token,
            port,
            session_key,
            logins: Mutex::default(),
        }
    }

    fn session_mac(&self, id: &str) -> String {
        crate::linq::signature::sign(&self.session_key, id.as_bytes())
            .trim_start_matches("sha256=")
            .to_string()
    }

    fn new_session(&self) -> String {
        let id = random_token();
        format!("{id}.{}", self.session_mac(&id))
    }

    fn session_valid(&self, cookie: &str) -> bool {
        let Some((id, mac)) = cookie.split_once('.') else {
            return false;
        };
        bool::from(self.session_mac(id).as_bytes().ct_eq(mac.as_bytes()))
    }

    /// A fresh one-time login URL.
    pub fn login_url(&self) -> String {
        let token = random_token();
        if let Ok(mut l) = self.logins.lock() {
            l.insert(token.clone());
        }
        format!("http://127.0.0.1:{}/login?token={token}", self.port)
    }

    fn consume_login(&self, token: &str) -> bool {
        if bool::from(token.as_bytes().ct_eq(self.ui_token.as_bytes())) {
            return true;
        }
        self.logins
            .lock()
            .map(|mut l| l.remove(token))
            .unwrap_or(false)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            return bool::from(token.as_bytes().ct_eq(self.ui_token.as_bytes()));
        }
        match session_cookie(headers) {
            Some(s) => self.session_valid(s),
            None => false,
        }
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let port = self.port;
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    }

    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        if headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|s| s == "cross-site")
        {
            return false;
        }
        match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(origin) => {
                let port = self.port;
                [
                    format!("http://127.0.0.1:{port}"),
                    format!("http://localhost:{port}"),
                    format!("http://[::1]:{port}"),
                ]
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
            }
        }
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
        })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// The key that signs sessions, kept in the data folder (mode 0600); made on first use.
pub fn session_key(data_dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("session.key");
    match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => return Ok(key),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let key = random_token().into_bytes();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(&path)?, &key)?;
    Ok(key)
}

/// Guards every route of the UI server and adds the security headers to every answer.
pub async fn guard(State(auth): State<Arc<Auth>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let path = request.uri().path().to_string();
    let mut response = if !auth.host_allowed(headers) {
        error(
            StatusCode::FORBIDDEN,
            "this server only answers to 127.0.0.1 or localhost",
        )
    } else if path.starts_with("/api/") && !auth.authorized(headers) {
        error(
            StatusCode::UNAUTHORIZED,
            "sign in through the login link that linq-inbox printed, or send the UI token",
        )
    } else if (path.starts_with("/api/")
        || !matches!(*request.method(), Method::GET | Method::HEAD))
        && !auth.origin_allowed(headers)
    {
        // Reads too: without a CORS grant a browser hides the answer anyway, but a request a
        // foreign page started is refused before it reaches any handler.
        error(
            StatusCode::FORBIDDEN,
            "requests from other sites are refused",
        )
    } else if matches!(*request.method(), Method::POST | Method::PUT)
        && path.starts_with("/api/")
        && has_body(headers)
        && !is_json(headers)
        && !is_upload(&path, headers)
    {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send JSON with Content-Type: application/json",
        )
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    // A response with a policy of its own (an attachment's `sandbox`) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if path.starts_with("/api/") || path == "/login" {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn has_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map(|n| n > 0)
        .unwrap_or(headers.contains_key(header::TRANSFER_ENCODING))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

/// `POST /api/uploads`: a file's raw bytes, named in `X-Filename`. A header a plain form cannot
/// send, so a foreign page cannot start one without a CORS preflight this server never grants.
fn is_upload(path: &str, headers: &HeaderMap) -> bool {
    path == "/api/uploads" && headers.contains_key("x-filename")
}

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=T`: trades a one-time token (or the fixed UI token) for a session cookie.
/// Checking a one-time token consumes it, so a link works once; the session is not derived from
/// the token (it is a fresh signed id), so nothing of the link lives on in the cookie.
pub async fn login(State(auth): State<Arc<Auth>>, Query(q): Query<LoginQuery>) -> Response {
    if !q.token.as_deref().is_some_and(|t| auth.consume_login(t)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This login link is not valid or was already used. Open the newest link that linq-inbox printed, or restart it for a new one.\n",
        )
            .into_response();
    }
    let session = auth.new_session();
    let cookie = format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/");
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/")
        .header(header::SET_COOKIE, cookie)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
