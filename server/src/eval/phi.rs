//! PHI leakage of the training log (`medserve eval phi`).
//!
//! A seeded generator writes patient messages with planted identifiers of every Safe
//! Harbor type the detector covers, in varied, realistic phrasings (with and without cue
//! words). Each message goes through the real path: [`medserve_server::care::training::record`] and a
//! real SQLite store in a temporary folder. The stored records are then read back and
//! searched for each planted value; a value found anywhere in the stored text is a leak.
//! Recall per type = 1 - leaked / planted.

use std::collections::BTreeMap;

use medserve_guardrails::policy::Audience;
use medserve_models::{ChatMessage, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regex::Regex;
use serde::Serialize;

use medserve_server::store::sqlite::SqliteStore;
use medserve_server::store::{Store, StoreError};

const FIRST: &[&str] = &[
    "Olivia",
    "Liam",
    "Amara",
    "Mateo",
    "Priya",
    "Kwame",
    "Sofia",
    "Hiroshi",
    "Fatima",
    "Lucas",
    "Chloe",
    "Dmitri",
    "Aisha",
    "Diego",
    "Hannah",
    "Tariq",
    "Ingrid",
    "Samuel",
    "Mei",
    "Oliver",
    "Zainab",
    "Gabriel",
    "Emily",
    "Rahul",
    "Grace",
    "Mohammed",
    "Isabella",
    "Kenji",
    "Nadia",
    "Thomas",
    "Chiara",
    "Ahmed",
    "Laura",
    "Joseph",
    "Yuki",
    "Daniel",
    "Leila",
    "Patrick",
    "Anjali",
    "Marcus",
    "Rosa",
    "Ethan",
    "Beatriz",
    "Kofi",
    "Charlotte",
    "Andrei",
    "Sarah",
    "Noah",
    "Elena",
    "Arjun",
];

/// First names that are not in the detector's built-in list: found only from context
/// cues ("my name is", "I'm", titles, sign-offs, relations), never from the list.
const UNLISTED_FIRST: &[&str] = &[
    "Zorvan",
    "Ketevan",
    "Ilkka",
    "Oluwaseun",
    "Bronislava",
    "Tsegaye",
    "Anahera",
    "Keoni",
    "Siosaia",
    "Mirela",
    "Radomir",
    "Aigerim",
    "Nurlan",
    "Dagny",
    "Eero",
    "Marit",
    "Tadeo",
    "Xochitl",
    "Ayelet",
    "Teodora",
];

const LAST: &[&str] = &[
    "Okafor",
    "Nguyen",
    "Fernandez",
    "Kowalski",
    "Patel",
    "Haddad",
    "Johansson",
    "Tanaka",
    "Brennan",
    "Abernathy",
    "Mensah",
    "Rossi",
    "Castillo",
    "Whitfield",
    "Oyelaran",
    "Schneider",
    "Moreau",
    "Dubois",
    "Kaur",
    "Yamamoto",
    "Gallagher",
    "Petrov",
    "Alvarez",
    "Lindqvist",
    "Adeyemi",
    "Fitzgerald",
    "Morales",
    "Novak",
    "Chowdhury",
    "Harrington",
    "Mwangi",
    "Delacroix",
    "Ibrahim",
    "Sorensen",
    "Quintero",
    "Blackwood",
    "Takahashi",
    "Murphy",
    "Goldberg",
    "Romano",
];

const STREETS: &[&str] = &[
    "Maple", "Station", "Church", "Willow", "Kingsley", "Oak Tree", "Harbour", "Elm", "Mill",
    "Victoria",
];
const STREET_KIND: &[&str] = &["Street", "Road", "Avenue", "Lane", "Drive", "Close", "Way"];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Ashford",
    "Millbrook",
    "Fairview",
    "Kingsbridge",
    "Lakewood",
    "Northampton",
    "Greenville",
    "Westbury",
];
const STATES: &[&str] = &["CA", "NY", "TX", "OH", "WA", "IL", "FL", "GA"];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One planted identifier.
#[derive(Debug, Clone)]
struct Plant {
    kind: &'static str,
    /// Strings that must not appear in the stored record.
    needles: Vec<String>,
}

fn pick<'a>(rng: &mut StdRng, xs: &'a [&'a str]) -> &'a str {
    xs[rng.random_range(0..xs.len())]
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn luhn_complete(prefix: &str) -> String {
    let ds: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    let mut sum = 0;
    for (i, d) in ds.iter().rev().enumerate() {
        let mut v = *d;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{prefix}{}", (10 - sum % 10) % 10)
}

/// A VIN with a valid check digit (position 9, ISO 3779 weights).
fn vin(rng: &mut StdRng) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    let value = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'H' => (c - b'A' + 1) as u32,
            b'J'..=b'N' => (c - b'J' + 1) as u32,
            b'P' => 7,
            b'R'..=b'Z' => (c - b'R' + 9) as u32,
            _ => 0,
        }
    };
    const W: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let mut v: Vec<u8> = (0..17)
        .map(|_| ALPHA[rng.random_range(0..ALPHA.len())])
        .collect();
    // Model year and serial digits keep it looking like a real VIN.
    for c in v.iter_mut().skip(11) {
        *c = b'0' + rng.random_range(0..10u8);
    }
    let sum: u32 = v.iter().zip(W).map(|(c, w)| value(*c) * w).sum();
    let check = sum % 11;
    v[8] = if check == 10 {
        b'X'
    } else {
        b'0' + check as u8
    };
    String::from_utf8(v).unwrap_or_default()
}

/// A DEA number with a valid check digit.
fn dea(rng: &mut StdRng) -> String {
    let d: Vec<u32> = (0..6).map(|_| rng.random_range(0..10)).collect();
    let check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10;
    let letters = ["A", "B", "F", "M"];
    let l2 = (b'A' + rng.random_range(0..26u8)) as char;
    format!(
        "{}{l2}{}{check}",
        letters[rng.random_range(0..letters.len())],
        d.iter().map(|x| x.to_string()).collect::<String>()
    )
}

/// An NHS number with a valid modulus-11 check digit.
fn nhs(rng: &mut StdRng) -> String {
    loop {
        let d: Vec<u32> = (0..9).map(|_| rng.random_range(0..10)).collect();
        let sum: u32 = d.iter().enumerate().map(|(i, x)| x * (10 - i as u32)).sum();
        let check = 11 - sum % 11;
        let check = if check == 11 { 0 } else { check };
        if check == 10 {
            continue;
        }
        let s: String = d.iter().map(|x| x.to_string()).collect();
        return format!("{} {} {}{check}", &s[0..3], &s[3..6], &s[6..9]);
    }
}

fn ssn(rng: &mut StdRng) -> String {
    let area = loop {
        let a = rng.random_range(1..900);
        if a != 666 {
            break a;
        }
    };
    format!(
        "{area:03}-{:02}-{:04}",
        rng.random_range(1..100),
        rng.random_range(1..10000)
    )
}

fn us_phone(rng: &mut StdRng) -> String {
    let area = rng.random_range(201..990);
    let ex = rng.random_range(200..1000);
    let line = digits(rng, 4);
    match rng.random_range(0..4) {
        0 => format!("({area}) {ex}-{line}"),
        1 => format!("{area}-{ex}-{line}"),
        2 => format!("+1 {area} {ex} {line}"),
        _ => format!("{area}.{ex}.{line}"),
    }
}

fn uk_mobile(rng: &mut StdRng) -> String {
    format!("07{} {}", digits(rng, 3), digits(rng, 6))
}

/// One message with its planted identifiers.
fn message(rng: &mut StdRng, kind: usize) -> (String, Vec<Plant>) {
    // The cued templates (kind 0) draw half their first names from outside the
    // detector's list, so the context rules are measured on their own.
    let unlisted = kind == 0 && rng.random_bool(0.5);
    let first = if unlisted {
        pick(rng, UNLISTED_FIRST)
    } else {
        pick(rng, FIRST)
    }
    .to_string();
    let last = pick(rng, LAST).to_string();
    let full = format!("{first} {last}");
    let name = |needles: Vec<String>| Plant {
        kind: if unlisted { "name_unlisted" } else { "name" },
        needles,
    };
    let one = |kind: &'static str, v: &str| Plant {
        kind,
        needles: vec![v.to_string()],
    };
    let v = rng.random_range(0..6);
    match kind {
        0 => {
            let plants = vec![name(vec![first.clone(), last.clone()])];
            let text = match v {
                0 => format!("Hi, my name is {full} and I've had a cough for a week."),
                1 => format!("This is {full}, writing about my blood pressure readings."),
                2 => format!("I'm {full}. My knee has been swollen since Monday."),
                3 => format!("My wife {full} has had a fever of 38.9 since last night."),
                4 => format!("Patient: {full}. Complaint: headache for two days."),
                _ => format!("Can you help with my inhaler technique?\n\nThanks,\n{full}"),
            };
            (text, plants)
        }
        1 => {
            let (text, needles) = match v {
                0 => (
                    format!("Please pass this to Dr {last}, she knows my history."),
                    vec![last.clone()],
                ),
                1 => (
                    format!("Can {first} take ibuprofen with her asthma?"),
                    vec![first.clone()],
                ),
                2 => (
                    format!("{first} has a rash on his arms since yesterday."),
                    vec![first.clone()],
                ),
                3 => (
                    format!("My son {first} is 7 and has an ear infection."),
                    vec![first.clone()],
                ),
                4 => (
                    format!("Name: {full}\nSymptoms: sore throat, fever."),
                    vec![first.clone(), last.clone()],
                ),
                _ => (
                    format!("I am writing for Mrs {last}, my neighbour, who fell today."),
                    vec![last.clone()],
                ),
            };
            (text, vec![name(needles)])
        }
        2 => {
            let street = format!(
                "{} {} {}",
                rng.random_range(1..400),
                pick(rng, STREETS),
                pick(rng, STREET_KIND)
            );
            let city = pick(rng, CITIES);
            let zip = digits(rng, 5);
            let st = pick(rng, STATES);
            let postcode = format!(
                "{}{}{} {}{}{}",
                pick(rng, &["SW", "N", "E", "LS", "M", "B"]),
                rng.random_range(1..20),
                "",
                rng.random_range(1..10),
                (b'A' + rng.random_range(0..26u8)) as char,
                (b'A' + rng.random_range(0..26u8)) as char
            );
            match v {
                0 => (
                    format!("I live at {street}, {city}, and the clinic is far."),
                    vec![one("geographic", &street)],
                ),
                1 => (
                    format!("Send the letter to {street}, {city}, {st} {zip}."),
                    vec![one("geographic", &street), one("geographic", &zip)],
                ),
                2 => (
                    format!("My postcode is {postcode}, is there a pharmacy open near me?"),
                    vec![one("geographic", &postcode)],
                ),
                3 => (
                    format!("We moved to {city} last year and I need a new GP."),
                    vec![one("geographic", city)],
                ),
                4 => (
                    format!("zip code {zip} - where is the nearest urgent care?"),
                    vec![one("geographic", &zip)],
                ),
                _ => (
                    format!("My address is {street} and I can't get to the surgery."),
                    vec![one("geographic", &street)],
                ),
            }
        }
        3 => {
            let d = rng.random_range(1..29);
            let m = rng.random_range(1..13);
            let y = rng.random_range(1935..2024);
            let month = MONTHS[m - 1];
            // The needle is the part more specific than the year (the year may stay).
            let (text, specific) = match v {
                0 => (
                    format!("My date of birth is {d:02}/{m:02}/{y}."),
                    format!("{d:02}/{m:02}"),
                ),
                1 => (
                    format!("I was admitted on {month} {d}, {y} for pneumonia."),
                    format!("{month} {d}"),
                ),
                2 => (
                    format!("The rash started on the {d}th {month} and is spreading."),
                    format!("{d}th {month}"),
                ),
                3 => (
                    format!("My last blood test was on {y}-{m:02}-{d:02}."),
                    format!("{m:02}-{d:02}"),
                ),
                4 => (
                    format!(
                        "DOB {d}/{m}/{:02}, asking about my repeat prescription.",
                        y % 100
                    ),
                    format!("{d}/{m}/{:02}", y % 100),
                ),
                _ => (
                    format!("I had my operation on {d} {month} {y} and still have pain."),
                    format!("{d} {month}"),
                ),
            };
            (
                text,
                vec![Plant {
                    kind: "date",
                    needles: vec![specific],
                }],
            )
        }
        4 => {
            let age = rng.random_range(90..106);
            let (text, needle) = match v {
                0 => (
                    format!("My grandmother is {age} years old and has a fever."),
                    format!("{age} years"),
                ),
                1 => (
                    format!("He is aged {age} and keeps falling."),
                    format!("aged {age}"),
                ),
                2 => (
                    format!("She's {age} and very confused today."),
                    format!("{age} and"),
                ),
                3 => (
                    format!("My father, {age} yo, has chest congestion."),
                    format!("{age} yo"),
                ),
                4 => (
                    format!("I am {age} and my ankles are swollen."),
                    format!("{age} and"),
                ),
                _ => (
                    format!("My aunt turned {age} last month and is off her food."),
                    format!("turned {age}"),
                ),
            };
            (
                text,
                vec![Plant {
                    kind: "age_90_plus",
                    needles: vec![needle],
                }],
            )
        }
        5 => {
            let p = if v < 4 { us_phone(rng) } else { uk_mobile(rng) };
            let text = match v {
                0 => format!("Call me on {p} if the results are back."),
                1 => format!("You can reach me at {p} after 5pm."),
                2 => format!("My phone number is {p}."),
                3 => format!("{p} is my daughter's number in case I don't answer."),
                4 => format!("My mobile is {p}."),
                _ => format!("Text me on {p} please."),
            };
            (text, vec![one("phone", &p)])
        }
        6 => {
            let p = us_phone(rng);
            let text = match v % 3 {
                0 => format!("Please fax the referral to {p}."),
                1 => format!("Fax: {p}"),
                _ => format!("Our surgery fax number is {p}."),
            };
            (text, vec![one("fax", &p)])
        }
        7 => {
            let e = format!(
                "{}.{}{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                rng.random_range(1..99),
                pick(
                    rng,
                    &["example.com", "mail.example.org", "inbox.example.net"]
                )
            );
            let text = match v % 3 {
                0 => format!("Email me at {e} with the leaflet."),
                1 => format!("My email is {e}"),
                _ => format!("Can you send it to {e}? Thanks."),
            };
            // The name inside the address is part of the address.
            (text, vec![one("email", &e)])
        }
        8 => {
            let s = ssn(rng);
            let ni = format!(
                "{}{} {} {} {} {}",
                pick(rng, &["A", "B", "C", "E", "H", "J"]),
                pick(rng, &["A", "B", "C", "E", "H", "K"]),
                digits(rng, 2),
                digits(rng, 2),
                digits(rng, 2),
                pick(rng, &["A", "B", "C", "D"])
            );
            match v {
                0 => (
                    format!("My SSN is {s} for the insurance form."),
                    vec![one("ssn", &s)],
                ),
                1 => (format!("social security number {s}"), vec![one("ssn", &s)]),
                2 => (format!("Here it is: {s}."), vec![one("ssn", &s)]),
                3 => (
                    format!("My national insurance number is {ni}."),
                    vec![one("ssn", &ni)],
                ),
                _ => (format!("SSN: {s}, DOB on file."), vec![one("ssn", &s)]),
            }
        }
        9 => {
            let m = digits(rng, 8);
            let n = nhs(rng);
            let h = format!("H{}", digits(rng, 7));
            match v {
                0 => (format!("My MRN is {m}."), vec![one("mrn", &m)]),
                1 => (
                    format!("medical record number {m}, can you check my results"),
                    vec![one("mrn", &m)],
                ),
                2 => (format!("My NHS number is {n}."), vec![one("mrn", &n)]),
                3 => (format!("Hospital number: {h}"), vec![one("mrn", &h)]),
                4 => (
                    format!("patient ID {m} - discharge letter please"),
                    vec![one("mrn", &m)],
                ),
                _ => (
                    format!("Chart #{m}, follow-up on my wound."),
                    vec![one("mrn", &m)],
                ),
            }
        }
        10 => {
            let id = format!(
                "{}{}",
                pick(rng, &["XQA", "MBR", "KP", "UHC"]),
                digits(rng, 9)
            );
            let text = match v % 4 {
                0 => format!("My insurance member ID is {id}."),
                1 => format!("Policy number: {id}"),
                2 => format!("Medicare number {id} - is this covered?"),
                _ => format!("group number {id}, plan gold"),
            };
            (text, vec![one("health_plan", &id)])
        }
        11 => match v % 3 {
            0 => {
                let a = digits(rng, 8);
                (
                    format!("My account number is {a}."),
                    vec![one("account", &a)],
                )
            }
            1 => {
                let c = luhn_complete(&format!("4{}", digits(rng, 14)));
                let spaced = format!("{} {} {} {}", &c[0..4], &c[4..8], &c[8..12], &c[12..16]);
                (
                    format!("Charge it to {spaced} please."),
                    vec![one("account", &spaced)],
                )
            }
            _ => {
                let a = digits(rng, 10);
                (format!("billing account: {a}"), vec![one("account", &a)])
            }
        },
        12 => {
            let l = format!("D{}", digits(rng, 7));
            let p = digits(rng, 9);
            let d = dea(rng);
            match v % 3 {
                0 => (
                    format!("My driver's license is {l}."),
                    vec![one("licence", &l)],
                ),
                1 => (
                    format!("passport number {p} for the travel letter"),
                    vec![one("licence", &p)],
                ),
                _ => (
                    format!("Prescriber DEA {d} on the script."),
                    vec![one("licence", &d)],
                ),
            }
        }
        13 => {
            let plate = format!(
                "{}{}{}",
                rng.random_range(1..10),
                (0..3)
                    .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
                    .collect::<String>(),
                digits(rng, 3)
            );
            let v17 = vin(rng);
            match v % 3 {
                0 => (
                    format!("My licence plate is {plate}, I'm in the car park."),
                    vec![one("vehicle", &plate)],
                ),
                1 => (
                    format!("VIN {v17} for the accident claim."),
                    vec![one("vehicle", &v17)],
                ),
                _ => (
                    format!("The car that hit me: plate {plate}."),
                    vec![one("vehicle", &plate)],
                ),
            }
        }
        14 => {
            let s = format!("PM-{}-{}", digits(rng, 3), digits(rng, 4));
            let imei = luhn_complete(&digits(rng, 14));
            match v % 3 {
                0 => (
                    format!("My pacemaker serial is {s}."),
                    vec![one("device", &s)],
                ),
                1 => (
                    format!("Device ID {s} keeps beeping."),
                    vec![one("device", &s)],
                ),
                _ => (
                    format!("IMEI {imei} of the monitoring phone."),
                    vec![one("device", &imei)],
                ),
            }
        }
        15 => {
            let slug = format!("{}-{}", first.to_lowercase(), last.to_lowercase());
            let u = match v % 3 {
                0 => format!("https://www.{slug}-diary.com/posts/12"),
                1 => format!("www.{slug}.org"),
                _ => format!("http://photos.example.net/{slug}/rash.jpg"),
            };
            (format!("I put photos here: {u}"), vec![one("url", &u)])
        }
        _ => {
            let ip = if v % 2 == 0 {
                format!(
                    "{}.{}.{}.{}",
                    rng.random_range(11..223),
                    rng.random_range(0..256),
                    rng.random_range(0..256),
                    rng.random_range(1..255)
                )
            } else {
                format!(
                    "2001:db8:{:x}:{:x}::{:x}",
                    rng.random_range(1..0xffff),
                    rng.random_range(1..0xffff),
                    rng.random_range(1..0xffff)
                )
            };
            (
                format!("The portal blocked my IP {ip}, can you help?"),
                vec![one("ip", &ip)],
            )
        }
    }
}

const KINDS: usize = 17;

/// Per-type results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeResult {
    /// Identifiers planted.
    pub planted: usize,
    /// Found in the stored records.
    pub leaked: usize,
    /// 1 - leaked / planted.
    pub recall: f64,
    /// Up to three leaked messages, for fixing the detector (synthetic data only).
    pub examples: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Messages generated.
    pub messages: usize,
    /// By identifier type.
    pub types: BTreeMap<&'static str, TypeResult>,
    /// Leaks of every type except names.
    pub structured_leaked: usize,
    /// Recall over all planted names (listed and unlisted first names).
    pub name_recall: f64,
    /// Records read back from the store.
    pub stored_records: usize,
}

/// Generates `n` messages (seeded), logs them through the real de-identification and
/// store, and searches the stored records for every planted value.
pub fn run(n: usize, seed: u64) -> Result<Report, StoreError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = std::env::temp_dir().join(format!(
        "medserve-eval-phi-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let store = SqliteStore::open(&dir.join("phi.db"))?;
    let mut planted: Vec<(String, Vec<Plant>)> = Vec::with_capacity(n);
    for i in 0..n {
        // Every type in turn, then a second identifier of another type in some messages.
        let (mut text, mut plants) = message(&mut rng, i % KINDS);
        if rng.random_bool(0.4) {
            let other = rng.random_range(0..KINDS);
            let (t2, p2) = message(&mut rng, other);
            text = format!("{text}\n{t2}");
            plants.extend(p2);
        }
        let msgs = [ChatMessage::new(Role::User, text.clone())];
        let rec =
            medserve_server::care::training::record(&medserve_server::care::training::Exchange {
                messages: &msgs,
                answer: "Thank you, a clinician will review this.",
                client_calls: &[],
                answer_source: "model",
                finish_reason: "stop",
                audience: Audience::Patient,
                verdicts: &[],
                tool_runs: &[],
                retrieval_ids: Vec::new(),
                model: ("eval".into(), String::new()),
                detectors: serde_json::Value::Null,
                assessment_id: None,
            });
        let rec = medserve_server::store::TrainingRecord {
            id: format!("tr_eval_{i:05}"),
            ..rec
        };
        store.insert_training(&rec)?;
        planted.push((text, plants));
    }
    let stored = store.training_records()?;
    let mut by_id: BTreeMap<String, String> = BTreeMap::new();
    for r in &stored {
        by_id.insert(r.id.clone(), r.record.to_string());
    }
    let mut types: BTreeMap<&'static str, TypeResult> = BTreeMap::new();
    for (i, (text, plants)) in planted.iter().enumerate() {
        let stored_text = by_id
            .get(&format!("tr_eval_{i:05}"))
            .cloned()
            .unwrap_or_default();
        for p in plants {
            let t = types.entry(p.kind).or_default();
            t.planted += 1;
            let leaked = p.needles.iter().any(|needle| {
                let escaped = regex::escape(needle);
                // Names must match as whole words (a first name inside another word is not
                // that name); other values as plain substrings.
                let re = if p.kind.starts_with("name") {
                    Regex::new(&format!(r"\b{escaped}\b"))
                } else {
                    Regex::new(&escaped)
                };
                re.map(|re| re.is_match(&stored_text)).unwrap_or(true)
            });
            if leaked {
                t.leaked += 1;
                if t.examples.len() < 3 {
                    t.examples.push(text.clone());
                }
            }
        }
    }
    let mut structured_leaked = 0;
    for (k, t) in types.iter_mut() {
        t.recall = 1.0 - t.leaked as f64 / t.planted.max(1) as f64;
        if !k.starts_with("name") {
            structured_leaked += t.leaked;
        }
    }
    let (np, nl) = types
        .iter()
        .filter(|(k, _)| k.starts_with("name"))
        .fold((0, 0), |(p, l), (_, t)| (p + t.planted, l + t.leaked));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        messages: n,
        types,
        structured_leaked,
        name_recall: 1.0 - nl as f64 / np.max(1) as f64,
        stored_records: stored.len(),
    })
}

/// Markdown table of a report.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "PHI leakage: {} synthetic messages, {} records read back from the store\n\n| type | planted | leaked | recall |\n|---|---|---|---|\n",
        r.messages, r.stored_records
    );
    for (k, t) in &r.types {
        s.push_str(&format!(
            "| {k} | {} | {} | {:.3} |\n",
            t.planted, t.leaked, t.recall
        ));
    }
    s.push_str(&format!(
        "\nstructured identifiers leaked: {}; name recall (all names): {:.3}\n",
        r.structured_leaked, r.name_recall
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_log_leaks_no_structured_identifier_and_few_names() {
        let r = run(510, 3).unwrap();
        assert_eq!(r.stored_records, 510);
        assert!(
            r.types.len() >= 16,
            "every identifier type is planted: {:?}",
            r.types.keys()
        );
        assert!(r.types.values().all(|t| t.planted > 0));
        assert_eq!(r.structured_leaked, 0, "{}", table(&r));
        assert!(r.name_recall >= 0.97, "{}", table(&r));
    }
}
