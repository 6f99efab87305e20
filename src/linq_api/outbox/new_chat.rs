//! The sender's part for a new conversation (`store/outbox/new_chat.rs`): the first message of a
//! provisional chat creates the chat at Linq (`Rest::create_chat`, its client id as the
//! idempotency key), and records the chat's id with the message's; a reply queued in the
//! provisional chat meanwhile waits until Linq named it, then goes to that chat.

use super::{classify, test_hook, Outcome, Sender};
use crate::linq_api::rest::Rest;
use crate::store::outbox::new_chat::{self, NewChat};
use crate::store::outbox::queue::OutboxRow;
use crate::store::{now_millis, StoreError};

/// What a row in a provisional chat does next.
pub(super) enum Step {
    /// It is the first message: create the chat with it.
    Create(NewChat),
    /// Linq named the chat: send into it.
    Into(String),
    /// Wait for the first message to be answered, for this reason.
    Wait(String),
}

impl Sender {
    pub(super) async fn new_chat_step(&self, row: &OutboxRow) -> Result<Step, StoreError> {
        let store = self.store.clone();
        let chat_id = row.request.chat_id.clone();
        let chat =
            tokio::task::spawn_blocking(move || new_chat::new_chat(&store.reader()?, &chat_id))
                .await
                .map_err(|e| StoreError::Invalid(format!("the outbox's read stopped: {e}")))??;
        Ok(match chat {
            Some(NewChat {
                linq_chat_id: Some(id),
                ..
            }) => Step::Into(id),
            Some(chat) if chat.client_id == row.client_id => Step::Create(chat),
            Some(_) => Step::Wait("waiting for Linq to create the conversation".into()),
            None => Step::Wait("the conversation this message starts is unknown".into()),
        })
    }

    /// One try of creating the chat with its first message.
    pub(super) async fn create_chat(
        &mut self,
        rest: &Rest,
        row: OutboxRow,
        chat: NewChat,
    ) -> Result<(), StoreError> {
        test_hook("abort-before-send");
        let answer = rest
            .create_chat(&chat.from, &chat.to, &row.request.text, &row.client_id)
            .await;
        test_hook("abort-after-send");
        let id = row.client_id;
        match answer {
            Ok((chat_id, linq_id)) => {
                self.write(move |c| {
                    new_chat::record_created(c, &id, &chat_id, &linq_id, now_millis())
                })
                .await
            }
            Err(e) => {
                let outcome: Outcome = classify(e, row.tries);
                self.record(id, outcome).await
            }
        }
    }
}
