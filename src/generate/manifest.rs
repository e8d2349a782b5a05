//! `manifest.json`: what a generated dataset holds, written last so that its presence means "complete".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dirt::DirtKind;
use super::scenario::Table;

/// The manifest of a generated dataset (or of one shard of it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub scenario: String,
    pub seed: u64,
    pub options: ManifestOptions,
    pub dataset: DatasetShape,
    pub files: Vec<FileEntry>,
    pub defects: DefectSummary,
    pub schema: BTreeMap<String, Vec<ColumnDoc>>,
}

/// The options that determine the bytes (the thread count does not, so it is not here).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestOptions {
    pub size: Option<u64>,
    pub rows: Option<u64>,
    pub files: Option<u64>,
    pub file_size: Option<u64>,
    pub dirty_rate: f64,
    pub dirt: Vec<String>,
    pub start_date: String,
    pub end_date: String,
    pub compression: String,
    pub shard: String,
}

/// The shape of the whole dataset, identical in every shard's manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetShape {
    pub fact_rows: u64,
    pub fact_files: u64,
    pub rows_per_file: u64,
    pub customers: u64,
    pub products: u64,
    pub currencies: u64,
}

/// One written file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Path relative to the dataset directory, with `/` separators.
    pub path: String,
    pub table: String,
    /// Records written (including defective ones).
    pub rows: u64,
    /// Bytes on disk (compressed when compression is on).
    pub bytes: u64,
    /// Bytes of CSV text (what byte offsets in `defects.csv` refer to).
    pub uncompressed_bytes: u64,
    pub sha256: String,
    pub bom: bool,
    pub crlf: bool,
}

/// Counts of the defects recorded in `defects.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct DefectSummary {
    pub file: String,
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_action: BTreeMap<String, u64>,
}

impl DefectSummary {
    pub fn add(&mut self, kind: DirtKind) {
        self.total += 1;
        *self.by_kind.entry(kind.name().to_string()).or_default() += 1;
        *self
            .by_action
            .entry(kind.action().as_str().to_string())
            .or_default() += 1;
    }
}

/// A column of the schema.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
}

/// The schema of the `orders` scenario (also documented in `datasets/orders/SCHEMA.md`).
pub fn orders_schema() -> BTreeMap<String, Vec<ColumnDoc>> {
    let col = |name: &str, ty: &str, description: &str| ColumnDoc {
        name: name.to_string(),
        ty: ty.to_string(),
        description: description.to_string(),
    };
    let mut s = BTreeMap::new();
    s.insert(
        Table::Orders.name().to_string(),
        vec![
            col(
                "order_id",
                "int64",
                "dense from 1; unique except injected duplicates",
            ),
            col(
                "customer_id",
                "int64",
                "foreign key to customers.customer_id",
            ),
            col("product_id", "int64", "foreign key to products.product_id"),
            col("quantity", "int32", "units ordered, 1 or more"),
            col(
                "unit_price",
                "decimal(2)",
                "price per unit in the order's currency, e.g. 19.99",
            ),
            col(
                "discount_pct",
                "decimal",
                "percent off the line total: 0, 5, 10, 12.5, 15, 20 or 25",
            ),
            col("currency", "iso4217", "one of the codes in fx_rates.csv"),
            col(
                "order_ts",
                "timestamp",
                "ISO-8601 local time with a UTC offset (Z or +HH:MM)",
            ),
            col(
                "status",
                "enum",
                "placed, paid, shipped, delivered, cancelled, returned",
            ),
            col(
                "notes",
                "text",
                "free text; may be quoted, hold commas, doubled quotes, line breaks, non-ASCII",
            ),
        ],
    );
    s.insert(
        Table::Customers.name().to_string(),
        vec![
            col("customer_id", "int64", "dense from 1"),
            col("name", "text", "may be quoted and non-ASCII"),
            col("email", "text", "ASCII"),
            col(
                "country",
                "iso3166-alpha2",
                "upper-case two letters (noise: padded or lower-case)",
            ),
            col("segment", "enum", "consumer, smb, enterprise"),
            col(
                "signup_date",
                "date",
                "YYYY-MM-DD, before the order date range",
            ),
        ],
    );
    s.insert(
        Table::Products.name().to_string(),
        vec![
            col("product_id", "int64", "dense from 1"),
            col("name", "text", "may be non-ASCII"),
            col("category", "enum", "one of 12 categories"),
            col("unit_price", "decimal(2)", "list price in USD"),
        ],
    );
    s.insert(
        Table::FxRates.name().to_string(),
        vec![
            col("currency", "iso4217", "currency code"),
            col(
                "usd_per_unit",
                "decimal(6)",
                "fixed-point: USD for one unit of the currency",
            ),
        ],
    );
    s
}
