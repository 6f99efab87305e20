//! Who is in the simulated inbox: the rep's Linq numbers, the people they talk to, the chats,
//! and what gets said. Names carry accents and several scripts (and one right-to-left name)
//! on purpose: they are what a real book of business looks like and what the UI must render.
//! Numbers use the 555-01xx range, which is reserved for fiction.

/// One of the rep's own Linq numbers (`is_me: true`).
pub(crate) struct Line {
    pub phone: &'static str,
    pub display_name: &'static str,
}

pub(crate) const LINES: [Line; 2] = [
    Line {
        phone: "+17205550142",
        display_name: "Jordan Ellis",
    },
    Line {
        phone: "+17205550187",
        display_name: "Jordan Ellis (SMS line)",
    },
];

/// The rep as `contact_owner` of the contacts they create.
pub(crate) const OWNER_ID: u64 = 456;
pub(crate) const OWNER_EMAIL: &str = "jordan.ellis@linqinbox.example";
pub(crate) const OWNER_FIRST: &str = "Jordan";
pub(crate) const OWNER_LAST: &str = "Ellis";

pub(crate) struct Person {
    pub first: &'static str,
    pub last: &'static str,
    pub phone: &'static str,
    pub email: &'static str,
    pub company: &'static str,
    pub title: &'static str,
    pub location: &'static str,
    /// The numeric contact id Linq gives this person's contact record.
    pub contact_id: u64,
    /// The handle id Linq uses in `chat_handle.id`.
    pub handle_id: u64,
}

impl Person {
    pub(crate) fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

pub(crate) const MARIA: usize = 0;
pub(crate) const KOJI: usize = 1;
pub(crate) const PRIYA: usize = 2;
pub(crate) const AMARA: usize = 3;
pub(crate) const ZOE: usize = 4;
pub(crate) const SOREN: usize = 5;
pub(crate) const LAN: usize = 6;
pub(crate) const OLEG: usize = 7;
pub(crate) const FATIMA: usize = 8;
pub(crate) const JOSE: usize = 9;

macro_rules! person {
    ($first:expr, $last:expr, $phone:expr, $email:expr, $company:expr, $title:expr, $location:expr, $id:expr) => {
        Person {
            first: $first,
            last: $last,
            phone: $phone,
            email: $email,
            company: $company,
            title: $title,
            location: $location,
            contact_id: $id,
            handle_id: 22000 + $id,
        }
    };
}

pub(crate) const PEOPLE: [Person; 10] = [
    person!(
        "María",
        "López",
        "+13125550117",
        "maria.lopez@acmelogistics.example",
        "Acme Logistics",
        "Procurement Lead",
        "Chicago, IL",
        1201
    ),
    person!(
        "Koji",
        "Tanaka",
        "+14155550163",
        "koji@northwind.example",
        "Northwind Robotics",
        "VP Operations",
        "San Francisco, CA",
        1202
    ),
    person!(
        "Priya",
        "Raman",
        "+12125550148",
        "priya.raman@helioshealth.example",
        "Helios Health",
        "Director of IT",
        "New York, NY",
        1203
    ),
    person!(
        "Amara",
        "Obi",
        "+17135550192",
        "amara@obipartners.example",
        "Obi & Partners",
        "Managing Partner",
        "Houston, TX",
        1204
    ),
    person!(
        "Zoë",
        "Müller",
        "+16175550131",
        "zoe.mueller@acmelogistics.example",
        "Acme Logistics",
        "Finance Manager",
        "Boston, MA",
        1205
    ),
    person!(
        "Søren",
        "Østergaard",
        "+12065550174",
        "soren@acmelogistics.example",
        "Acme Logistics",
        "Legal Counsel",
        "Seattle, WA",
        1206
    ),
    person!(
        "Nguyễn Thị",
        "Lan",
        "+14085550126",
        "lan.nguyen@northwind.example",
        "Northwind Robotics",
        "Engineering Manager",
        "San Jose, CA",
        1207
    ),
    person!(
        "Олег",
        "Петров",
        "+13055550185",
        "oleg.petrov@balticfreight.example",
        "Baltic Freight",
        "Buyer",
        "Miami, FL",
        1208
    ),
    person!(
        "فاطمة",
        "الزهراء",
        "+13135550158",
        "fatima@crescentfoods.example",
        "Crescent Foods",
        "COO",
        "Dearborn, MI",
        1209
    ),
    person!(
        "José",
        "Álvarez-Ruiz",
        "+15125550139",
        "jose.alvarez@tejasmfg.example",
        "Tejas Manufacturing",
        "Plant Manager",
        "Austin, TX",
        1210
    ),
];

/// A chat as it starts; group membership then changes through the story.
pub(crate) struct ChatSpec {
    pub id: &'static str,
    /// Groups have a name; one-to-one chats do not.
    pub title: Option<&'static str>,
    /// Index into `LINES`: which of the rep's numbers the chat is on.
    pub line: usize,
    pub service: &'static str,
    pub members: &'static [usize],
    /// Alternating turns that make the chat read like a real thread: (from the rep?, text).
    pub script: &'static [(bool, &'static str)],
}

pub(crate) const CHAT_MARIA: usize = 0;
pub(crate) const CHAT_KOJI: usize = 1;
pub(crate) const CHAT_PRIYA: usize = 2;
pub(crate) const CHAT_AMARA: usize = 3;
pub(crate) const CHAT_OLEG: usize = 4;
pub(crate) const CHAT_RENEWAL: usize = 5;
pub(crate) const CHAT_PILOT: usize = 6;

pub(crate) const CHATS: [ChatSpec; 7] = [
    ChatSpec {
        id: "324401",
        title: None,
        line: 0,
        service: "iMessage",
        members: &[MARIA],
        script: &[
            (false, "Hola Jordan! Did the renewal quote go out? 🙂"),
            (
                true,
                "Just sent it, here's the PDF. 12% off list for a 2-year term.",
            ),
            (false, "¡Perfecto! Sharing with Zoë in finance now."),
            (true, "Great. Happy to walk her through the line items."),
            (false, "Can we do Thursday at 10 instead of Wednesday?"),
            (true, "Thursday 10am works, invite updated."),
            (
                false,
                "Legal wants the DPA too, do you have the latest version?",
            ),
            (true, "Yes, I'll attach it to the thread in a minute."),
        ],
    },
    ChatSpec {
        id: "324402",
        title: None,
        line: 0,
        service: "iMessage",
        members: &[KOJI],
        script: &[
            (
                false,
                "Great talking earlier. Sending the spec sheet for the pilot.",
            ),
            (
                true,
                "Thanks Koji, got it. I'll loop in our solutions engineer.",
            ),
            (false, "Could we start with 25 seats and grow from there?"),
            (true, "Absolutely, 25 seats with a true-up at 90 days."),
            (false, "よろしくお願いします! Talk Friday."),
        ],
    },
    ChatSpec {
        id: "324403",
        title: None,
        line: 1,
        service: "SMS",
        members: &[PRIYA],
        script: &[
            (
                true,
                "Hi Priya, following up on the security questionnaire.",
            ),
            (false, "Hi! Our CISO signed off this morning."),
            (true, "Fantastic news. Next step is the order form."),
            (false, "Send it over, I'll get it routed today."),
        ],
    },
    ChatSpec {
        id: "324404",
        title: None,
        line: 0,
        service: "iMessage",
        members: &[AMARA],
        script: &[
            (false, "Sorry I missed your call, left you a voicemail."),
            (true, "No worries! Are you free after 3?"),
            (false, "After 3 is perfect. Call my cell."),
            (true, "Will do, talk soon."),
        ],
    },
    ChatSpec {
        id: "324405",
        title: None,
        line: 1,
        service: "SMS",
        members: &[OLEG],
        script: &[
            (
                false,
                "Добрый день! Is the freight module included in the base plan?",
            ),
            (
                true,
                "Hi Oleg, it's an add-on, but I can include it in the trial.",
            ),
            (false, "Отлично, thank you."),
        ],
    },
    ChatSpec {
        id: "324410",
        title: Some("Renewal team"),
        line: 0,
        service: "iMessage",
        members: &[MARIA, ZOE],
        script: &[
            (false, "Finance approved the budget line ✅"),
            (true, "Wonderful, thank you Zoë!"),
            (false, "Adding Søren from legal for the contract review."),
            (false, "Redlines attached, only two small changes."),
            (true, "Both look fine, I'll send the final version today."),
            (false, "Signed 🎉"),
        ],
    },
    ChatSpec {
        id: "324411",
        title: Some("Northwind pilot 🚀"),
        line: 0,
        service: "iMessage",
        members: &[KOJI, LAN],
        script: &[
            (false, "Kickoff deck for Monday attached."),
            (true, "Looks great. I'll cover the onboarding timeline."),
            (false, "Can we get sandbox access before kickoff?"),
            (true, "Sandbox invites are on their way."),
        ],
    },
];

/// Things people say once a chat's script has run out.
pub(crate) const INBOUND_SMALL_TALK: [&str; 12] = [
    "Sounds good 👍",
    "Just saw this, one sec",
    "Perfect, thanks!",
    "Who else should be on the call?",
    "Can you resend the link? It expired.",
    "On my way into a meeting, will reply after",
    "Quick q: is pricing per seat or per location?",
    "Let me check with my team and circle back",
    "Looks good to me",
    "Can we push this to next week?",
    "Thanks for the quick turnaround!",
    "Is there a mobile app as well?",
];

pub(crate) const OUTBOUND_SMALL_TALK: [&str; 10] = [
    "Happy to help!",
    "I'll send a calendar invite",
    "Following up on my last message, any questions?",
    "Attaching the updated deck",
    "Yes, pricing is per seat, billed annually",
    "Totally, no rush",
    "Just checking in before the holiday",
    "Thanks! Talk soon",
    "I can set up a quick demo tomorrow",
    "Here is the link again: https://linqinbox.example/demo",
];

/// Quick messages for the burst scenario: someone thinking out loud in several bubbles.
pub(crate) const BURST_LINES: [&str; 12] = [
    "ok",
    "one more thing",
    "actually wait",
    "the PO number is 4471-B",
    "and the ship-to address changed",
    "it's 1200 W Fulton, Suite 400",
    "sorry, 4th floor not 400",
    "also cc Zoë on the invoice",
    "👍",
    "thx!!",
    "lol autocorrect",
    "ignore that last one",
];

pub(crate) struct CallScript {
    pub transcription: &'static str,
    pub summary: &'static str,
}

pub(crate) const ANSWERED_CALLS: [CallScript; 3] = [
    CallScript {
        transcription: "Hi Jordan, it's Koji from Northwind. I wanted to go over the pilot scope before we sign. We're thinking twenty-five seats to start, mostly the operations team...",
        summary: "Koji wants to start the Northwind pilot with 25 seats and asked for the spec sheet review on Friday.",
    },
    CallScript {
        transcription: "Hey, Priya here. Quick one: our CISO finished the questionnaire, so we're clear on security. Can you send the order form today?",
        summary: "Priya confirmed security sign-off and asked for the order form today.",
    },
    CallScript {
        transcription: "Jordan, hola, María. Zoë approved the budget, so we just need the final contract with the two-year term...",
        summary: "María says budget is approved; she needs the final two-year contract.",
    },
];

pub(crate) const VOICEMAILS: [CallScript; 2] = [
    CallScript {
        transcription: "Hi Jordan, this is Amara Obi. Sorry I missed you. I'm free after three today if you want to walk through the proposal. Call me back on this number. Thanks!",
        summary: "Amara missed the call and is free after 3pm to discuss the proposal; asks for a call back.",
    },
    CallScript {
        transcription: "السلام عليكم Jordan, Fatima from Crescent Foods. We'd like a quote for our three Dearborn locations. Please call me back.",
        summary: "Fatima from Crescent Foods wants a quote for three locations and asked for a call back.",
    },
];

/// Words to pad load-test messages to a size.
pub(crate) const FILLER: [&str; 16] = [
    "pipeline",
    "renewal",
    "quote",
    "invoice",
    "pilot",
    "seats",
    "contract",
    "follow-up",
    "timeline",
    "budget",
    "approval",
    "demo",
    "onboarding",
    "kickoff",
    "pricing",
    "thanks",
];

pub(crate) const LOAD_FIRST: [&str; 12] = [
    "Ana", "Ben", "Chloé", "Dev", "Elif", "Femi", "Grace", "Hiro", "Inés", "Jonas", "Kwame", "Lena",
];
pub(crate) const LOAD_LAST: [&str; 10] = [
    "Silva", "Cohen", "Dubois", "Patel", "Yılmaz", "Adeyemi", "Kim", "Sato", "García", "Novak",
];
pub(crate) const AREA_CODES: [&str; 10] = [
    "212", "303", "312", "415", "512", "617", "713", "720", "808", "919",
];
