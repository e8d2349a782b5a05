//! Writing the reports: `daily_revenue.csv`, `top_customers.csv` and `summary.json` (last), each through a
//! temporary file and a rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use super::dims::Dimensions;
use super::rules;
use super::totals::{self, Totals};
use super::{PipelineOptions, Summary, TOP_CUSTOMERS};
use crate::{Error, Result};

pub(super) fn write_temp(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    crate::atomic::write_with(path, |w| write(w).map_err(|e| Error::io(path, e)))
}

/// A CSV writer's error as the library's: an I/O error on `path`, else what csv says (its text, not a debug dump).
pub(super) fn io_csv(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| {
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(path, io),
            _ => Error::Format {
                path: path.to_path_buf(),
                message,
            },
        }
    }
}

/// Stamps the run's timing on the summary and writes `summary.json`, last (every engine ends here).
pub(super) fn finish_summary(
    opts: &PipelineOptions,
    started: Instant,
    mut s: Summary,
) -> Result<Summary> {
    s.elapsed_seconds = started.elapsed().as_secs_f64();
    s.mb_per_s = s.bytes_read as f64 / 1e6 / s.elapsed_seconds.max(1e-9);
    let path = opts.out.join("summary.json");
    write_temp(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &s)?;
        w.write_all(b"\n")
    })?;
    Ok(s)
}

/// The rank of each name in text order (`names[i]` ranks `ranks[i]`-th).
fn text_ranks(names: &[String]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_by_key(|&i| names[i as usize].as_str());
    let mut ranks = vec![0; names.len()];
    for (rank, &i) in order.iter().enumerate() {
        ranks[i as usize] = rank as u32;
    }
    ranks
}

pub(super) fn write_outputs(opts: &PipelineOptions, dims: &Dimensions, t: &Totals) -> Result<()> {
    // Few distinct days, many groups: format each day once.
    let mut days: Vec<i32> = t
        .daily
        .iter()
        .map(|&(key, ..)| totals::ungroup(key).0)
        .collect();
    days.sort_unstable();
    days.dedup();
    let day_names: Vec<String> = days.iter().map(|&d| rules::format_day(d as i64)).collect();
    // Sorted as text, as the spec says (a date string, then names). Comparing the strings of each pair cost
    // about 100 million instructions for the 50,000 groups of a year, so each part's text order is found
    // once among its few values, and the groups sort by three numbers.
    let (day_rank, country_rank, category_rank) = (
        text_ranks(&day_names),
        text_ranks(&dims.countries.names),
        text_ranks(&dims.categories.names),
    );
    let mut daily: Vec<_> = t
        .daily
        .iter()
        .map(|&(key, orders, units, cents)| {
            let (day, country, category) = totals::ungroup(key);
            let d = days.binary_search(&day).expect("a day of the groups");
            let rank = (day_rank[d] as u64) << 32
                | (country_rank[country as usize] as u64) << 16
                | category_rank[category as usize] as u64;
            (
                rank,
                day_names[d].as_str(),
                dims.countries.names[country as usize].as_str(),
                dims.categories.names[category as usize].as_str(),
                (orders, units, cents),
            )
        })
        .collect();
    // The keys are unique, so unstable is fine.
    daily.sort_unstable_by_key(|g| g.0);
    let path = opts.out.join("daily_revenue.csv");
    write_temp(&path, |w| {
        writeln!(w, "{}", crate::schema::DAILY_REVENUE_COLUMNS.join(","))?;
        for (_, date, country, category, (orders, units, cents)) in &daily {
            writeln!(w, "{date},{country},{category},{orders},{units},{cents}")?;
        }
        Ok(())
    })?;
    let mut top: Vec<u32> = (0..dims.customer_ids.len() as u32)
        .filter(|&i| t.customer_orders[i as usize] > 0)
        .collect();
    let rank = |&a: &u32, &b: &u32| {
        t.customer_cents[b as usize]
            .cmp(&t.customer_cents[a as usize])
            .then(dims.customer_ids[a as usize].cmp(&dims.customer_ids[b as usize]))
    };
    // Millions of customers, a hundred wanted: select them first, then sort only those.
    if top.len() > TOP_CUSTOMERS {
        top.select_nth_unstable_by(TOP_CUSTOMERS, rank);
    }
    top.truncate(TOP_CUSTOMERS);
    top.sort_unstable_by(rank);
    top.truncate(TOP_CUSTOMERS);
    let path = opts.out.join("top_customers.csv");
    let mut buf = csv::Writer::from_writer(Vec::new());
    let err = io_csv(&path);
    buf.write_record(crate::schema::TOP_CUSTOMERS_COLUMNS)
        .map_err(&err)?;
    for (rank, &i) in top.iter().enumerate() {
        let i = i as usize;
        buf.write_record([
            (rank + 1).to_string(),
            dims.customer_ids[i].to_string(),
            dims.customer_name(i as u32).to_string(),
            dims.countries.names[dims.customer_country[i] as usize].clone(),
            t.customer_orders[i].to_string(),
            t.customer_cents[i].to_string(),
        ])
        .map_err(&err)?;
    }
    let bytes = buf
        .into_inner()
        .map_err(|e| Error::io(&path, e.into_error()))?;
    write_temp(&path, |w| w.write_all(&bytes))
}
