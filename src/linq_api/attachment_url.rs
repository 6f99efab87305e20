//! A fresh download address for an attachment whose stored one expired: `GET
//! /v3/attachments/{id}` answers `download_url`, freshly signed for the ephemeral tier
//! (`linq-api.md` §7). The attachment downloader asks through [`FreshUrl`] when a file's
//! address answers 403 or 404.

use std::future::Future;
use std::pin::Pin;

use super::connection::ConnectSettings;
use super::rest::{subscription_path, Rest};
use crate::attachments::fetch::FreshUrl;
use crate::config::linq::ApiVersion;

/// Asks Linq's v3 API, with the integration token of the moment.
pub struct AttachmentUrls {
    connection: ConnectSettings,
}

impl AttachmentUrls {
    /// `None` for a v2 account, whose API has no attachment call.
    pub fn for_account(connection: ConnectSettings) -> Option<AttachmentUrls> {
        (connection.api_version == ApiVersion::V3).then_some(AttachmentUrls { connection })
    }

    async fn ask(&self, id: &str) -> Option<String> {
        let token = self.connection.token().await.0?;
        let rest = Rest::new(
            &self.connection.api_base,
            token,
            ApiVersion::V3,
            self.connection.timeout,
        )
        .ok()?;
        let path = subscription_path(&rest.partner_path("attachments"), id).ok()?;
        match rest.get(&path, &[]).await {
            Ok(answer) => answer["download_url"].as_str().map(str::to_string),
            Err(e) => {
                tracing::warn!(error = %e, "could not renew an attachment's address");
                None
            }
        }
    }
}

impl FreshUrl for AttachmentUrls {
    fn fresh_url<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>> {
        Box::pin(self.ask(id))
    }
}
