//! Sending the rep's attached files (`linq-api.md` §5.1, §7, §14). v3 pre-uploads each one:
//! `POST /v3/attachments` `{filename, content_type, size_bytes}` answers an `attachment_id` and
//! an `upload_url`, the bytes are `PUT` there with the `required_headers`, and the message names
//! it in a media part. v2 takes the files in the send's form as `message[attachments][]`.
//! The bytes come from the data folder (`attachments/{sha256}`), where the file was kept before
//! the reply was committed, so a reply sent again after a crash sends the same file.

use std::path::Path;

use serde_json::{json, Value};

use super::error::{for_status, LinqApiError};
use super::rest::{FilePart, Rest};
use crate::store::uploads::Upload;

/// v2's form field for a file.
pub const V2_FIELD: &str = "message[attachments][]";

impl Rest {
    /// Pre-uploads `files` (v3); their attachment ids, in order.
    pub async fn upload_all(
        &self,
        files: &[Upload],
        dir: &Path,
    ) -> Result<Vec<String>, LinqApiError> {
        let mut ids = Vec::with_capacity(files.len());
        for file in files {
            let bytes = read_kept(dir, file).await?;
            ids.push(self.upload_one(file, bytes).await?);
        }
        Ok(ids)
    }

    async fn upload_one(&self, file: &Upload, bytes: Vec<u8>) -> Result<String, LinqApiError> {
        let body = json!({"filename": file.filename, "content_type": file.content_type,
                          "size_bytes": file.size});
        let answer = self.post(&self.partner_path("attachments"), &body).await?;
        let bad = |what: &str| LinqApiError::BadAnswer {
            reason: format!("the attachment upload does not name its {what}"),
        };
        let id = answer["attachment_id"]
            .as_str()
            .ok_or_else(|| bad("attachment_id"))?;
        let url = answer["upload_url"]
            .as_str()
            .ok_or_else(|| bad("upload_url"))?;
        let mut put = self.http().put(url).body(bytes);
        if let Some(Value::Object(headers)) = answer.get("required_headers") {
            for (name, value) in headers {
                if let Some(value) = value.as_str() {
                    put = put.header(name.as_str(), value);
                }
            }
        }
        let response = put.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(for_status(status.as_u16(), &text, None));
        }
        Ok(id.to_string())
    }
}

/// The files as parts of v2's send form.
pub async fn v2_parts(files: &[Upload], dir: &Path) -> Result<Vec<FilePart>, LinqApiError> {
    let mut parts = Vec::with_capacity(files.len());
    for file in files {
        parts.push(FilePart {
            field: V2_FIELD.to_string(),
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            bytes: read_kept(dir, file).await?,
        });
    }
    Ok(parts)
}

/// The kept bytes of `file`; a refusal (the reply fails with it) when they are gone.
async fn read_kept(dir: &Path, file: &Upload) -> Result<Vec<u8>, LinqApiError> {
    if !crate::attachments::is_sha256(&file.sha256) {
        return Err(LinqApiError::Rejected {
            message: format!("the attached file {:?} has no kept copy", file.filename),
        });
    }
    tokio::fs::read(dir.join(&file.sha256))
        .await
        .map_err(|e| LinqApiError::Rejected {
            message: format!(
                "the attached file {:?} is no longer in the data folder ({e})",
                file.filename
            ),
        })
}
