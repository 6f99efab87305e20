//! One webhook POST the simulator makes: what both the story (`story`) and the generators
//! (`generate`) produce and the sender (`send`) and report (`report`) consume.

use crate::linq::signature::sign;

/// One webhook POST to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The compact JSON envelope, exactly the bytes to send and sign.
    pub body: String,
    pub event_type: String,
    pub event_id: String,
    /// Send with a wrong signature; the expected answer is 401.
    pub tamper: bool,
    /// A redelivery (same body, same `event_id`) of the delivery at this earlier index.
    pub duplicate_of: Option<usize>,
}

impl Delivery {
    /// The `X-Webhook-Signature` to send with this delivery under `secret`: the right one, or
    /// for a tampered delivery one made with a key the server cannot have (what a stale or
    /// mistyped secret at Linq's end looks like).
    pub fn signature(&self, secret: &[u8]) -> String {
        if self.tamper {
            let mut wrong = b"not-".to_vec();
            wrong.extend_from_slice(secret);
            sign(&wrong, self.body.as_bytes())
        } else {
            sign(secret, self.body.as_bytes())
        }
    }
}
