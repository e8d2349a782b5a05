//! Defect kinds the generator can inject, and what a correct pipeline is expected to do with each.

use serde::Serialize;

use crate::{Error, Result};

/// What a correct pipeline does with a defective record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The record cannot be trusted: it goes to `rejects.csv` with this kind.
    Reject,
    /// The record is valid but repeats an earlier `order_id`: it is dropped and counted as a duplicate.
    Drop,
    /// Fixable noise (padding, case, BOM, CRLF): cleaned, the record is kept.
    Clean,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reject => "reject",
            Action::Drop => "drop",
            Action::Clean => "clean",
        }
    }
}

macro_rules! kinds {
    ($($variant:ident = $name:literal, $action:ident, $scope:ident, $doc:literal;)*) => {
        /// A kind of injected defect. The names are the ones written to `defects.csv` and accepted by `--dirt`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum DirtKind {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl DirtKind {
            /// Every kind, in the order used for `defects.csv` summaries.
            pub const ALL: &'static [DirtKind] = &[$(DirtKind::$variant),*];

            /// The kind's name in `defects.csv` and `--dirt`.
            pub fn name(self) -> &'static str {
                match self { $(DirtKind::$variant => $name,)* }
            }

            /// What a correct pipeline does with it.
            pub fn action(self) -> Action {
                match self { $(DirtKind::$variant => Action::$action,)* }
            }

            /// Where it is decided: per fact row, per file, or per customer row.
            pub fn scope(self) -> Scope {
                match self { $(DirtKind::$variant => Scope::$scope,)* }
            }

            /// One line of explanation, for `--help` and the schema document.
            pub fn describe(self) -> &'static str {
                match self { $(DirtKind::$variant => $doc,)* }
            }
        }
    };
}

/// Where a kind is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Per fact row (each row is dirty with probability `dirty_rate`, then one row kind is picked).
    Row,
    /// The last record of a fact file.
    FileTail,
    /// A whole fact file (BOM, CRLF).
    File,
    /// Per customer row in `customers.csv`.
    Customer,
}

kinds! {
    FieldCount = "field_count", Reject, Row, "a missing or extra delimiter: the record has 9 or 11 fields";
    BadNumber = "bad_number", Reject, Row, "quantity, unit_price or discount_pct is not a number of the expected form";
    BadQuantity = "bad_quantity", Reject, Row, "quantity is zero or negative";
    BadTimestamp = "bad_timestamp", Reject, Row, "order_ts is not ISO-8601 with a UTC offset, or names an impossible date";
    UnknownStatus = "unknown_status", Reject, Row, "status is not one of the six known statuses (after trimming and lower-casing)";
    OrphanCustomer = "orphan_customer", Reject, Row, "customer_id is not in customers.csv";
    OrphanProduct = "orphan_product", Reject, Row, "product_id is not in products.csv";
    InvalidUtf8 = "invalid_utf8", Reject, Row, "the record holds bytes that are not valid UTF-8 (in notes)";
    Duplicate = "duplicate", Drop, Row, "an exact copy of an earlier valid record (same order_id), possibly in an earlier file";
    Noise = "noise", Clean, Row, "status or currency padded with spaces or in the wrong case: clean it, keep the row";
    TruncatedRow = "truncated_row", Reject, FileTail, "the file's last record is cut short, without a final newline";
    UnterminatedQuote = "unterminated_quote", Reject, FileTail, "the file's last record opens a quoted field that never closes";
    Bom = "bom", Clean, File, "the file starts with a UTF-8 byte order mark";
    Crlf = "crlf", Clean, File, "the file ends its records with CRLF";
    CountryNoise = "country_noise", Clean, Customer, "customers.csv: country code padded or lower-case";
}

impl DirtKind {
    /// Parses one kind name.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        DirtKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| Error::InvalidArgument {
                what: "dirt kind",
                value: name.to_string(),
                expected: format!(
                    "one of all, {}",
                    DirtKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// Parses a comma-separated list (`all` selects every kind).
    pub fn parse_list(list: &str) -> Result<Vec<Self>> {
        let mut kinds = Vec::new();
        for part in list.split(',').filter(|p| !p.trim().is_empty()) {
            if part.trim() == "all" {
                return Ok(DirtKind::ALL.to_vec());
            }
            let k = DirtKind::parse(part)?;
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        kinds.sort();
        Ok(kinds)
    }
}

impl std::fmt::Display for DirtKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        assert_eq!(DirtKind::parse_list("all").unwrap(), DirtKind::ALL);
        assert_eq!(
            DirtKind::parse_list("noise, bom,noise").unwrap(),
            vec![DirtKind::Noise, DirtKind::Bom]
        );
        let e = DirtKind::parse_list("bom,nope").unwrap_err();
        assert!(e.to_string().contains("'nope'") && e.to_string().contains("field_count"));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DirtKind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DirtKind::ALL.len());
    }
}
