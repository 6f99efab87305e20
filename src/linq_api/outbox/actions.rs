//! The sender's part for the outbox rows that are not replies: the rep's reactions and read
//! marks (`store/outbox/actions.rs`), sent one try at a time with the replies' classification
//! of failures: passing ones wait (`Retry-After`, backoff), lasting ones end the row `failed`
//! with the sentence (a reaction's bubble says so; a read mark's chat shows it, see
//! `store/outbox/read_marks.rs`).

use std::time::Duration;

use super::{classify, test_hook, Outcome, Sender};
use crate::linq_api::error::LinqApiError;
use crate::linq_api::rest::Rest;
use crate::store::outbox::actions::{self, Action, ActionRow};
use crate::store::outbox::reactions::ReactionRequest;
use crate::store::outbox::read_marks;
use crate::store::{now_millis, StoreError};

/// How long a reaction to a reply waits for Linq to name that reply.
const UNNAMED_WAIT: Duration = Duration::from_secs(2);

impl Sender {
    /// Reactions and read marks due now, oldest first.
    pub(super) async fn due_actions(&self) -> Result<Vec<ActionRow>, StoreError> {
        let store = self.store.clone();
        let now = now_millis();
        tokio::task::spawn_blocking(move || actions::due(&store.reader()?, now))
            .await
            .map_err(|e| StoreError::Invalid(format!("the outbox's read stopped: {e}")))?
    }

    /// One try of one reaction or read mark.
    pub(super) async fn send_action(
        &mut self,
        rest: &Rest,
        row: ActionRow,
    ) -> Result<(), StoreError> {
        test_hook("abort-before-send");
        let outcome = match &row.action {
            Action::Reaction(r) => match self.target(&r.message_id).await? {
                Some(target) => reaction(rest, &target, r, row.tries).await,
                None => Outcome::Later {
                    error: "waiting for Linq to name the message".into(),
                    wait: UNNAMED_WAIT,
                },
            },
            Action::Read { chat_id } => match rest.mark_chat_read(chat_id).await {
                Ok(()) => Outcome::Sent(String::new()),
                Err(e) => classify(e, row.tries),
            },
        };
        test_hook("abort-after-send");
        let id = row.client_id;
        let is_read = matches!(row.action, Action::Read { .. });
        // A read mark ends in its own table; everything else is recorded as a reply's try is.
        match outcome {
            Outcome::Sent(_) if is_read => {
                self.write(move |c| read_marks::done(c, &id, now_millis()))
                    .await
            }
            Outcome::Failed(error) if is_read => {
                tracing::warn!(%error, "Linq refused a read mark");
                self.write(move |c| read_marks::failed(c, &id, &error, now_millis()))
                    .await
            }
            outcome => self.record(id, outcome).await,
        }
    }

    /// The id Linq knows the message by; `None` while it is a reply Linq has not named.
    async fn target(&self, message_id: &str) -> Result<Option<String>, StoreError> {
        let store = self.store.clone();
        let id = message_id.to_string();
        tokio::task::spawn_blocking(move || actions::linq_message_id(&store.reader()?, &id))
            .await
            .map_err(|e| StoreError::Invalid(format!("the outbox's read stopped: {e}")))?
    }
}

async fn reaction(rest: &Rest, target: &str, r: &ReactionRequest, tries: i64) -> Outcome {
    match rest.send_reaction(target, &r.reaction, &r.operation).await {
        Ok(id) => Outcome::Sent(id),
        Err(LinqApiError::Unexpected { status: 404, .. }) => {
            Outcome::Failed("Linq no longer has this message, so it cannot take a reaction".into())
        }
        Err(e) => classify(e, tries),
    }
}
