//! The import file for the scale tests: a year of a busy account in time order, one huge
//! thread among many ordinary ones, contacts for some of the people, a few unread at the end.

use std::io::Write;

use crate::payload::{self, Message, Rng};

#[derive(clap::Args)]
pub struct GenerateArgs {
    #[arg(long, default_value = "1000000")]
    messages: u64,
    #[arg(long, default_value = "10000")]
    chats: u64,
    /// Messages in the one big chat (`chat-big`).
    #[arg(long, default_value = "100000")]
    big: u64,
    /// One contact for every this many chat partners.
    #[arg(long, default_value = "5")]
    contact_every: u64,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

const FIRST: &[&str] = &[
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Noah", "Fatima", "Liam",
    "Sofia", "Kenji", "Amara", "Lucas", "Ingrid", "Diego", "Hana", "Omar", "Zoe", "Ravi",
];
const LAST: &[&str] = &[
    "Gonzalez",
    "Smith",
    "Okafor",
    "Wei",
    "Brown",
    "Rossi",
    "Patel",
    "Kim",
    "Haddad",
    "Murphy",
    "Silva",
    "Tanaka",
    "Nguyen",
    "Müller",
    "Johansson",
    "Garcia",
    "Cohen",
    "Singh",
    "Dubois",
    "Lee",
];
/// Seconds the generated history spans: one year.
const SPAN: i64 = 365 * 86_400;
/// 2025-11-01T00:00:00Z: the history ends before today, as an imported backup does.
const START: i64 = 1_761_955_200;

pub fn chat_id(c: u64) -> String {
    if c == 0 {
        "chat-big".to_string()
    } else {
        format!("chat-{c:05}")
    }
}

fn person(c: u64) -> (String, String) {
    let name = format!(
        "{} {}",
        FIRST[(c % FIRST.len() as u64) as usize],
        LAST[(c / FIRST.len() as u64 % LAST.len() as u64) as usize]
    );
    (format!("+1555{c:07}"), name)
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, sink);
    let mut rng = Rng::new(42);

    for c in (1..args.chats).step_by(args.contact_every.max(1) as usize) {
        let (phone, name) = person(c);
        let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
        let at = payload::rfc3339(START - 86_400 + c as i64);
        writeln!(
            out,
            r#"{{"api_version":"v2","created_at":"{at}","data":{{"id":{c},"first_name":"{first}","last_name":"{last}","full_name":"{name}","email":"c{c}@example.com","phone_number":"{phone}","company":"Company {c}","title":"Buyer","location":"Austin, TX","image_url":null,"created_at":"{at}","updated_at":"{at}","contact_owner":{{"id":456,"email":"owner@company.com","first_name":"Jane","last_name":"Owner","name":"Jane Owner"}}}},"event_id":"g-c{c}","event_type":"contact.created"}}"#
        )?;
    }

    let every_big = (args.messages / args.big.max(1)).max(1);
    let unread_from = args.messages - args.messages / 200;
    let mut next_fresh = 1;
    let mut text = String::new();
    for k in 0..args.messages {
        let chat = if k % every_big == 0 {
            0
        } else if next_fresh < args.chats {
            // Every chat gets its first message early, then chats are picked at random.
            next_fresh += 1;
            next_fresh - 1
        } else {
            1 + rng.below(args.chats - 1)
        };
        let (other, name) = person(chat);
        text.clear();
        let words = 3 + rng.below(23) as usize;
        payload::text(&mut rng, words, &mut text);
        let at = payload::rfc3339(START + (k as i64 * SPAN) / args.messages as i64);
        let event_id = format!("g-e{k}");
        let id = format!("m{k}");
        let chat_id = chat_id(chat);
        let line = Message {
            event_id: &event_id,
            id: &id,
            chat_id: &chat_id,
            other: &other,
            other_name: &name,
            text: &text,
            at: &at,
            inbound: rng.below(100) < 55,
            is_read: k < unread_from,
            attachment: rng.below(100) < 3,
        }
        .to_json();
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
