//! Static text pools. Free text is sliced from these pools, so no row allocates.

/// First names: (display, ASCII form for e-mail addresses).
pub const FIRST_NAMES: &[(&str, &str)] = &[
    ("James", "james"),
    ("Mary", "mary"),
    ("Robert", "robert"),
    ("Patricia", "patricia"),
    ("John", "john"),
    ("Jennifer", "jennifer"),
    ("Michael", "michael"),
    ("Linda", "linda"),
    ("David", "david"),
    ("Elizabeth", "elizabeth"),
    ("William", "william"),
    ("Barbara", "barbara"),
    ("José", "jose"),
    ("María", "maria"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("François", "francois"),
    ("Jürgen", "jurgen"),
    ("Ingrid", "ingrid"),
    ("Aiko", "aiko"),
    ("Hiroshi", "hiroshi"),
    ("Priya", "priya"),
    ("Arjun", "arjun"),
    ("Chloé", "chloe"),
    ("Mateo", "mateo"),
    ("Sofía", "sofia"),
    ("Olga", "olga"),
    ("Nikolai", "nikolai"),
    ("Amara", "amara"),
    ("Kwame", "kwame"),
    ("Mei", "mei"),
    ("Wei", "wei"),
    ("Fatima", "fatima"),
    ("Omar", "omar"),
    ("Emma", "emma"),
    ("Liam", "liam"),
    ("Noah", "noah"),
    ("Olivia", "olivia"),
    ("Ava", "ava"),
    ("Lucas", "lucas"),
    ("Mia", "mia"),
    ("Ethan", "ethan"),
    ("Björn", "bjorn"),
    ("Ana", "ana"),
    ("Pedro", "pedro"),
    ("Giulia", "giulia"),
    ("Marco", "marco"),
];

/// Last names as they appear in a CSV field (pre-quoted where needed), with an ASCII form for e-mails.
pub const LAST_NAMES: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Müller", "muller"),
    ("Schmidt", "schmidt"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
    ("García López", "garcialopez"),
    ("O'Brien", "obrien"),
    ("Nakamura", "nakamura"),
    ("Sato", "sato"),
    ("Kowalski", "kowalski"),
    ("Nowak", "nowak"),
    ("Jensen", "jensen"),
    ("Andersson", "andersson"),
    ("Patel", "patel"),
    ("Singh", "singh"),
    ("Silva", "silva"),
    ("Santos", "santos"),
    ("Ivanov", "ivanov"),
    ("Okafor", "okafor"),
    ("Mensah", "mensah"),
    ("Chen", "chen"),
    ("Wang", "wang"),
    ("Kim", "kim"),
    ("Nguyen", "nguyen"),
    ("Haddad", "haddad"),
    ("Smith, Jr.", "smithjr"),
    ("Van der Berg", "vanderberg"),
    ("Dupont-Moreau", "dupontmoreau"),
    ("Ødegaard", "odegaard"),
    ("Çelik", "celik"),
    ("Yılmaz", "yilmaz"),
    ("Lefèvre", "lefevre"),
    ("Brown \"Bud\"", "brownbud"),
];

pub const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "mail.example",
    "inbox.example.org",
    "post.example.net",
    "corp.example",
];

pub const SEGMENTS: &[&str] = &[
    "consumer",
    "consumer",
    "consumer",
    "smb",
    "smb",
    "enterprise",
];

pub const CATEGORIES: &[&str] = &[
    "electronics",
    "books",
    "home",
    "garden",
    "toys",
    "grocery",
    "beauty",
    "sports",
    "automotive",
    "clothing",
    "music",
    "office",
];

pub const PRODUCT_ADJECTIVES: &[&str] = &[
    "Classic", "Smart", "Compact", "Deluxe", "Eco", "Ultra", "Mini", "Pro", "Vintage", "Rugged",
    "Wireless", "Organic", "Portable", "Premium", "Basic", "Café",
];

pub const PRODUCT_NOUNS: &[&str] = &[
    "Lamp",
    "Kettle",
    "Backpack",
    "Headphones",
    "Notebook",
    "Chair",
    "Blender",
    "Jacket",
    "Drill",
    "Novel",
    "Puzzle",
    "Racket",
    "Speaker",
    "Mug",
    "Tent",
    "Watch",
    "Shampoo",
    "Keyboard",
];

/// Order notes, already CSV-encoded: some need quoting (commas, doubled quotes, embedded newlines), some are
/// not ASCII. The empty note dominates (chosen more often by the generator).
pub const NOTES: &[&str] = &[
    "gift wrap",
    "leave at the door",
    "call before delivery",
    "\"ring twice, then wait\"",
    "\"fragile, handle with care\"",
    "\"customer said \"\"urgent\"\"\"",
    "\"deliver to the \"\"blue\"\" house, not the red one\"",
    "\"line one\nline two\"",
    "\"Attn: receiving dock\nBuilding 4, door B\"",
    "Lieferung an Frau Müller",
    "café au lait stain on box",
    "配達は午前中にお願いします",
    "\"пожалуйста, позвоните заранее\"",
    "\"por favor, entregar después de las 18h\"",
    "naïve question about warranty",
    "🎁 birthday present",
    "back order ok",
    "\"3\"\" x 5\"\" card\"",
    "no plastic please",
    "\"multi-line\r\nwith CRLF inside\"",
    "express",
    "repeat customer",
    "\"note: price matched, see ticket #4411\"",
    "Zürich office",
];

/// Country codes, with their currency and a weight (share of customers).
pub const COUNTRIES: &[(&str, &str, u32)] = &[
    ("US", "USD", 30),
    ("DE", "EUR", 10),
    ("GB", "GBP", 9),
    ("FR", "EUR", 7),
    ("JP", "JPY", 6),
    ("CA", "CAD", 5),
    ("AU", "AUD", 4),
    ("ES", "EUR", 4),
    ("IT", "EUR", 4),
    ("NL", "EUR", 3),
    ("CH", "CHF", 2),
    ("SE", "SEK", 2),
    ("IN", "INR", 5),
    ("BR", "BRL", 4),
    ("PL", "PLN", 2),
    ("MX", "MXN", 3),
];

/// Currencies and their fixed-point rate to USD, in micro-dollars per unit (1 EUR = 1.085000 USD).
pub const FX_RATES: &[(&str, u64)] = &[
    ("USD", 1_000_000),
    ("EUR", 1_085_000),
    ("GBP", 1_265_000),
    ("JPY", 6_700),
    ("CAD", 735_000),
    ("AUD", 655_000),
    ("CHF", 1_120_000),
    ("SEK", 95_000),
    ("INR", 12_000),
    ("BRL", 200_000),
    ("PLN", 250_000),
    ("MXN", 58_000),
];

/// Order statuses with weights (per mille).
pub const STATUSES: &[(&str, u32)] = &[
    ("placed", 50),
    ("paid", 100),
    ("shipped", 200),
    ("delivered", 550),
    ("cancelled", 60),
    ("returned", 40),
];

/// Discounts in percent, as written; 12.5 makes rounding matter.
pub const DISCOUNTS: &[&str] = &[
    "0", "0", "0", "0", "0", "0", "5", "10", "12.5", "15", "20", "25",
];

/// UTC offsets used by order timestamps: (minutes east of UTC, text). `Z` and `+00:00` both mean UTC.
pub const OFFSETS: &[(i64, &str)] = &[
    (0, "Z"),
    (0, "+00:00"),
    (60, "+01:00"),
    (120, "+02:00"),
    (-300, "-05:00"),
    (-240, "-04:00"),
    (-480, "-08:00"),
    (330, "+05:30"),
    (540, "+09:00"),
    (600, "+10:00"),
    (-180, "-03:00"),
    (345, "+05:45"),
];

#[cfg(test)]
mod tests {
    /// Each pooled note is exactly one well-formed CSV field.
    #[test]
    fn notes_are_single_csv_fields() {
        for note in super::NOTES {
            let line = format!("a,{note}\n");
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            assert_eq!(rec.len(), 2, "{note}");
            assert!(r.records().next().is_none(), "{note}");
        }
    }
}
