//! The `orders` scenario's schema in one place: the tables a dataset holds, their columns, the order statuses, and
//! the columns of the reports the exercise asks for (`exercises/etl_10gb/README.md`). The generator writes these
//! and both pipeline engines read and write them.

/// Header of the fact table (`orders/part-*.csv`).
pub const ORDER_COLUMNS: [&str; 10] = [
    "order_id",
    "customer_id",
    "product_id",
    "quantity",
    "unit_price",
    "discount_pct",
    "currency",
    "order_ts",
    "status",
    "notes",
];

/// Header of `customers.csv`.
pub const CUSTOMER_COLUMNS: [&str; 6] = [
    "customer_id",
    "name",
    "email",
    "country",
    "segment",
    "signup_date",
];

/// Header of `products.csv`.
pub const PRODUCT_COLUMNS: [&str; 4] = ["product_id", "name", "category", "unit_price"];

/// Header of `fx_rates.csv`.
pub const FX_COLUMNS: [&str; 2] = ["currency", "usd_per_unit"];

/// The dimension tables, by name (the file is `NAME.csv`, maybe `.gz`/`.zst`).
pub const CUSTOMERS: &str = "customers";
pub const PRODUCTS: &str = "products";
pub const FX_RATES: &str = "fx_rates";

/// Order statuses, in the order of their index.
pub const STATUSES: [&str; 6] = [
    "placed",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
];

/// Header of the report `daily_revenue.csv`.
pub const DAILY_REVENUE_COLUMNS: [&str; 6] = [
    "date",
    "country",
    "category",
    "orders",
    "units",
    "revenue_usd_cents",
];

/// Header of the report `top_customers.csv`.
pub const TOP_CUSTOMERS_COLUMNS: [&str; 6] = [
    "rank",
    "customer_id",
    "name",
    "country",
    "orders",
    "revenue_usd_cents",
];

/// Header of `rejects.csv`.
pub const REJECTS_COLUMNS: [&str; 6] = ["file", "line", "byte_offset", "column", "kind", "raw"];

#[cfg(test)]
mod tests {
    /// The generator's weighted statuses are the schema's, in its order.
    #[test]
    fn generator_statuses_are_the_schemas() {
        let names: Vec<&str> = crate::generate::text::STATUSES
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names, super::STATUSES);
    }
}
