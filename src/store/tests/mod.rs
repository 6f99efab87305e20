//! The store's promises that span its concepts: any order of a conversation's events ends in
//! one state (`convergence`), what v3 adds projects by the same rules (`projection`), and one
//! conversation told in either dialect is one inbox (`dialects`), messages of one second keep
//! Linq's order however they are read (`order`).

pub(crate) mod convergence;
mod dialects;
mod order;
mod projection;
