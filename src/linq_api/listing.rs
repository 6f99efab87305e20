//! Listing the account's chats and their messages (`linq-api.md` §2, §3, §13, §14, §15), v3 or
//! v2, as pages of raw records: the catch-up pass logs each record as Linq wrote it.
//!
//! v3 pages with an opaque `next_cursor` and lists the chats of every line at once; v2 pages by
//! number, lists chats per line (`phone_number` is required) and, unlike v3, filters messages
//! by time (`after`) and sorts them (`sort=desc`).

use serde_json::Value;

use super::error::LinqApiError;
use super::rest::Rest;
use crate::config::linq::ApiVersion;

/// Records per page: the most either version allows.
pub const PAGE_SIZE: u32 = 100;

/// One page of records and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub records: Vec<Value>,
    pub next: Option<String>,
}

/// A chat as listed, with the rep's line it was listed for (v2) or that its handles name (v3).
#[derive(Debug, Clone)]
pub struct ListedChat {
    pub id: String,
    pub line: Option<String>,
    pub record: Value,
}

/// Where in a chat's messages a listing starts and what it asks for.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    /// v2 only: messages sent after this RFC 3339 time (v3 has no such filter).
    pub after: Option<String>,
    pub next: Option<String>,
}

/// The listing calls, on the shared REST core.
pub struct Listing<'a> {
    rest: &'a Rest,
}

impl<'a> Listing<'a> {
    pub fn new(rest: &'a Rest) -> Listing<'a> {
        Listing { rest }
    }

    pub fn version(&self) -> ApiVersion {
        self.rest.version()
    }

    /// Every chat of the account: v3 in one cursor listing across lines, v2 line by line.
    pub async fn all_chats(&self) -> Result<Vec<ListedChat>, LinqApiError> {
        let mut chats = Vec::new();
        match self.version() {
            ApiVersion::V3 => self.chats_of(None, &mut chats).await?,
            ApiVersion::V2 => {
                for line in self.lines().await? {
                    self.chats_of(Some(&line), &mut chats).await?;
                }
            }
        }
        Ok(chats)
    }

    /// v2: the account's lines, `GET /api/partner/v2/phone_numbers`.
    async fn lines(&self) -> Result<Vec<String>, LinqApiError> {
        let answer = self
            .rest
            .get(&self.rest.partner_path("phone_numbers"), &[])
            .await?;
        let numbers = list_in(&answer, &["phone_numbers", "data"])?;
        Ok(numbers
            .iter()
            .filter_map(|n| n.get("phone_number").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }

    async fn chats_of(
        &self,
        line: Option<&str>,
        out: &mut Vec<ListedChat>,
    ) -> Result<(), LinqApiError> {
        let mut next = None;
        loop {
            let page = self.chat_page(line, next.as_deref()).await?;
            for record in page.records {
                let Some(id) = crate::linq::value::id_field(&record, "id") else {
                    continue;
                };
                let line = line.map(str::to_string).or_else(|| own_handle(&record));
                out.push(ListedChat { id, line, record });
            }
            match page.next {
                Some(n) => next = Some(n),
                None => return Ok(()),
            }
        }
    }

    async fn chat_page(
        &self,
        line: Option<&str>,
        next: Option<&str>,
    ) -> Result<Page, LinqApiError> {
        let mut query = vec![];
        match self.version() {
            ApiVersion::V3 => {
                query.push(("limit", PAGE_SIZE.to_string()));
                if let Some(cursor) = next {
                    query.push(("cursor", cursor.to_string()));
                }
            }
            ApiVersion::V2 => {
                query.push(("phone_number", line.unwrap_or_default().to_string()));
                query.push(("page", next.unwrap_or("1").to_string()));
                query.push(("per_page", PAGE_SIZE.to_string()));
            }
        }
        let answer = self
            .rest
            .get(&self.rest.partner_path("chats"), &query)
            .await?;
        self.page(&answer, &["chats", "data"], next)
    }

    /// One page of a chat's messages. v3 lists in an order it does not state; v2 newest first,
    /// after `query.after` when given.
    pub async fn messages(
        &self,
        chat_id: &str,
        query: &MessageQuery,
    ) -> Result<Page, LinqApiError> {
        let id = path_id(chat_id)?;
        let mut params = vec![];
        let tail = match self.version() {
            ApiVersion::V3 => {
                params.push(("limit", PAGE_SIZE.to_string()));
                if let Some(cursor) = &query.next {
                    params.push(("cursor", cursor.clone()));
                }
                format!("chats/{id}/messages")
            }
            ApiVersion::V2 => {
                params.push(("sort", "desc".to_string()));
                params.push(("page", query.next.clone().unwrap_or_else(|| "1".into())));
                params.push(("per_page", PAGE_SIZE.to_string()));
                if let Some(after) = &query.after {
                    params.push(("after", after.clone()));
                }
                format!("chats/{id}/chat_messages")
            }
        };
        let answer = self
            .rest
            .get(&self.rest.partner_path(&tail), &params)
            .await?;
        self.page(&answer, &["messages", "data"], query.next.as_deref())
    }

    /// The records under the first of `keys`, and the next page: v3's `next_cursor`, v2's page
    /// number while `meta.page` is below `meta.total_pages`. An empty page is the last.
    fn page(
        &self,
        answer: &Value,
        keys: &[&str],
        this: Option<&str>,
    ) -> Result<Page, LinqApiError> {
        let records = list_in(answer, keys)?.clone();
        let next = match self.version() {
            ApiVersion::V3 => answer
                .get("next_cursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            ApiVersion::V2 => {
                let meta = answer.get("meta");
                let number = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_u64);
                let page = number("page")
                    .or_else(|| this.and_then(|t| t.parse().ok()))
                    .unwrap_or(1);
                number("total_pages")
                    .filter(|total| page < *total)
                    .map(|_| (page + 1).to_string())
            }
        };
        let next = if records.is_empty() { None } else { next };
        Ok(Page { records, next })
    }
}

/// The list under the first key present.
fn list_in<'v>(answer: &'v Value, keys: &[&str]) -> Result<&'v Vec<Value>, LinqApiError> {
    keys.iter()
        .find_map(|k| answer.get(*k))
        .and_then(Value::as_array)
        .ok_or_else(|| LinqApiError::BadAnswer {
            reason: format!("it has no {} list", keys[0]),
        })
}

/// The rep's own handle in a v3 chat (`is_me`).
fn own_handle(chat: &Value) -> Option<String> {
    chat.get("handles")?
        .as_array()?
        .iter()
        .find(|h| h.get("is_me").and_then(Value::as_bool) == Some(true))
        .and_then(|h| h.get("handle").and_then(Value::as_str))
        .map(str::to_string)
}

/// A chat id fit for a path segment: letters, digits, `-` and `_`.
fn path_id(id: &str) -> Result<&str, LinqApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id)
    } else {
        Err(LinqApiError::BadAnswer {
            reason: format!(
                "a chat id {:?} is not an id",
                id.chars().take(64).collect::<String>()
            ),
        })
    }
}
