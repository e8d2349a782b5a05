//! Dimension tables, loaded whole into compact in-memory indexes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Index;
use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::input;
use super::records::{Fields, Records};
use super::rules::{parse_rate_micros, parse_uint, trim};
use crate::{schema, Error, Result};

/// Maps ids to (dense index, attribute): a plain vector when ids are dense enough, a hash map otherwise. The
/// attribute (a customer's country, a product's category) sits beside the index so that a join costs one
/// memory access, not two: with millions of customers each is a cache miss.
#[derive(Debug)]
pub enum IdIndex {
    Dense(Vec<u64>),
    Sparse(HashMap<u64, u64>),
}

impl IdIndex {
    const NONE: u64 = u64::MAX;

    /// Fails with the first id that appears twice.
    pub(super) fn build(ids: &[u64], attrs: &[u16]) -> std::result::Result<Self, u64> {
        let max = ids.iter().copied().max().unwrap_or(0);
        let packed = |i: usize| (i as u64) << 16 | attrs[i] as u64;
        if max <= ids.len() as u64 * 4 + 1_000_000 {
            let mut v = vec![Self::NONE; max as usize + 1];
            for (i, &id) in ids.iter().enumerate() {
                if v[id as usize] != Self::NONE {
                    return Err(id);
                }
                v[id as usize] = packed(i);
            }
            Ok(IdIndex::Dense(v))
        } else {
            let mut m = HashMap::with_capacity(ids.len());
            for (i, &id) in ids.iter().enumerate() {
                if m.insert(id, packed(i)).is_some() {
                    return Err(id);
                }
            }
            Ok(IdIndex::Sparse(m))
        }
    }

    /// (id, index) pairs: each id once.
    #[cfg(feature = "polars")]
    pub fn pairs(&self) -> Vec<(u64, usize)> {
        match self {
            IdIndex::Dense(v) => v
                .iter()
                .enumerate()
                .filter(|(_, &p)| p != Self::NONE)
                .map(|(id, &p)| (id as u64, (p >> 16) as usize))
                .collect(),
            IdIndex::Sparse(m) => m.iter().map(|(&id, &p)| (id, (p >> 16) as usize)).collect(),
        }
    }

    /// (index, attribute) of `id`.
    #[inline]
    pub fn get(&self, id: u64) -> Option<(u32, u16)> {
        let v = match self {
            IdIndex::Dense(v) => v.get(id as usize).copied().filter(|&v| v != Self::NONE),
            IdIndex::Sparse(m) => m.get(&id).copied(),
        }?;
        Some(((v >> 16) as u32, v as u16))
    }
}

/// Interned short strings (countries, categories).
#[derive(Debug, Default)]
pub struct Interner {
    pub names: Vec<String>,
    map: HashMap<String, u16>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u16 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u16;
        self.names.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }
}

#[derive(Debug)]
pub struct Dimensions {
    pub customers: IdIndex,
    pub customer_ids: Vec<u64>,
    pub customer_country: Vec<u16>,
    /// Names, concatenated; `name_end[i]` ends customer i's name.
    names: String,
    name_end: Vec<u32>,
    pub countries: Interner,
    pub products: IdIndex,
    #[cfg_attr(not(feature = "polars"), allow(dead_code))]
    pub product_category: Vec<u16>,
    pub categories: Interner,
    /// (currency code, micro-dollars per unit).
    pub fx: Vec<([u8; 3], u64)>,
}

impl Dimensions {
    pub fn customer_name(&self, i: u32) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.name_end[i as usize - 1] as usize
        };
        &self.names[start..self.name_end[i as usize] as usize]
    }

    /// The rate for a currency field after trimming and upper-casing.
    #[inline]
    pub fn fx_micros(&self, field: &[u8]) -> Option<u64> {
        // Clean codes first: one three-byte compare per currency, no trimming or case folding.
        if let Some((_, r)) = self.fx.iter().find(|(c, _)| c[..] == *field) {
            return Some(*r);
        }
        let t = trim(field);
        if t.len() != 3 {
            return None;
        }
        let code = [
            t[0].to_ascii_uppercase(),
            t[1].to_ascii_uppercase(),
            t[2].to_ascii_uppercase(),
        ];
        self.fx.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
    }
}

/// A record of a dimension table, with what an error needs to name its place.
struct Rec<'a> {
    fields: Fields<'a>,
    /// The block the record is in, the record's start in it, and the block's place in the file.
    block: &'a [u8],
    start: usize,
    block_offset: u64,
    lines_before: u64,
}

impl Rec<'_> {
    fn len(&self) -> usize {
        self.fields.len()
    }

    /// (1-based line, byte offset) of the record's start.
    fn position(&self) -> (u64, u64) {
        let lines = memchr::memchr_iter(b'\n', &self.block[..self.start]).count() as u64;
        (
            self.lines_before + lines + 1,
            self.block_offset + self.start as u64,
        )
    }
}

impl Index<usize> for Rec<'_> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        &self.fields[i]
    }
}

fn bad(path: &Path, rec: &Rec, message: String) -> Error {
    let (line, offset) = rec.position();
    Error::BadInput {
        path: path.to_path_buf(),
        line,
        offset,
        message,
    }
}

/// Reads a dimension table, checking its header, and calls `row` for each record. The table is cut into
/// blocks and split by the fact files' reader (the same CSV dialect, tested against the csv crate), which is
/// several times faster than the csv crate on plain lines: the customers of a 10 GB dataset (2.5 million
/// rows) were most of the time before the first order was read.
fn read_table(
    dir: &Path,
    name: &str,
    header: &[&str],
    mut row: impl FnMut(&Path, &Rec) -> Result<()>,
) -> Result<PathBuf> {
    let path = input::find_table(dir, name)?;
    let reader = input::open(&path, Arc::new(AtomicU64::new(0)))?;
    let spare = RefCell::new(Vec::new());
    let (mut first, mut lines_before) = (true, 0u64);
    input::split(
        0,
        &path,
        reader,
        4 << 20,
        || spare.borrow_mut().pop().unwrap_or_default(),
        |block| {
            let data = block.bytes();
            let base = if block.first && data.starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            };
            let mut records = Records::new(data, base);
            while let Some(r) = records.next_record() {
                let rec = Rec {
                    fields: r.fields,
                    block: data,
                    start: r.start,
                    block_offset: block.offset,
                    lines_before,
                };
                if std::mem::take(&mut first) {
                    if rec.fields.iter().ne(header.iter().map(|h| h.as_bytes())) {
                        return Err(bad(
                            &path,
                            &rec,
                            format!("expected the header {}", header.join(",")),
                        ));
                    }
                    continue;
                }
                if rec.len() != header.len() {
                    return Err(bad(
                        &path,
                        &rec,
                        format!("expected {} fields, found {}", header.len(), rec.len()),
                    ));
                }
                row(&path, &rec)?;
            }
            lines_before += memchr::memchr_iter(b'\n', data).count() as u64;
            spare.borrow_mut().push(block.data);
            Ok(())
        },
    )?;
    Ok(path)
}

fn id_field(path: &Path, rec: &Rec, i: usize) -> Result<u64> {
    parse_uint(&rec[i]).ok_or_else(|| {
        bad(
            path,
            rec,
            format!(
                "field {} is not an id: {:?}",
                i + 1,
                String::from_utf8_lossy(&rec[i])
            ),
        )
    })
}

fn text_field<'a>(path: &Path, rec: &'a Rec, i: usize) -> Result<&'a str> {
    std::str::from_utf8(&rec[i])
        .map_err(|_| bad(path, rec, format!("field {} is not UTF-8", i + 1)))
}

fn bad_country(path: &Path, rec: &Rec, code: &[u8]) -> Error {
    let code = String::from_utf8_lossy(code);
    bad(
        path,
        rec,
        format!("country {code:?} is not an ISO 3166 alpha-2 code"),
    )
}

/// Loads customers, products and FX rates. Dimension tables are trusted less than facts are checked: a
/// malformed dimension row is an error naming its position (the run cannot give right answers without it);
/// fixable noise (padded or lower-case country) is cleaned.
pub fn load(dir: &Path) -> Result<Dimensions> {
    let mut customer_ids = Vec::new();
    let mut customer_country = Vec::new();
    let mut names = String::new();
    let mut name_end = Vec::new();
    let mut countries = Interner::default();
    let mut country_ids = [u16::MAX; 26 * 26];
    let cust = read_table(
        dir,
        schema::CUSTOMERS,
        &schema::CUSTOMER_COLUMNS,
        |p, rec| {
            customer_ids.push(id_field(p, rec, 0)?);
            names.push_str(text_field(p, rec, 1)?);
            name_end.push(names.len() as u32);
            // Padding is spaces and tabs, as for status and currency.
            text_field(p, rec, 3)?;
            let code = trim(&rec[3]).to_ascii_uppercase();
            let [a, b] = code[..] else {
                return Err(bad_country(p, rec, &code));
            };
            if !(a.is_ascii_uppercase() && b.is_ascii_uppercase()) {
                return Err(bad_country(p, rec, &code));
            }
            // Two letters index a table: no hashing or allocation per customer.
            let slot = &mut country_ids[(a - b'A') as usize * 26 + (b - b'A') as usize];
            if *slot == u16::MAX {
                *slot = countries.intern(&String::from_utf8_lossy(&code));
            }
            customer_country.push(*slot);
            Ok(())
        },
    )?;
    let mut product_ids = Vec::new();
    let mut product_category = Vec::new();
    let mut categories = Interner::default();
    let prod = read_table(dir, schema::PRODUCTS, &schema::PRODUCT_COLUMNS, |p, rec| {
        product_ids.push(id_field(p, rec, 0)?);
        product_category.push(categories.intern(text_field(p, rec, 2)?.trim()));
        Ok(())
    })?;
    let mut fx = Vec::new();
    read_table(dir, schema::FX_RATES, &schema::FX_COLUMNS, |p, rec| {
        let code = text_field(p, rec, 0)?.trim().to_ascii_uppercase();
        let rate = parse_rate_micros(&rec[1]).ok_or_else(|| {
            bad(
                p,
                rec,
                "usd_per_unit is not a decimal with 1 to 6 places".into(),
            )
        })?;
        let code: [u8; 3] = code
            .as_bytes()
            .try_into()
            .map_err(|_| bad(p, rec, format!("currency {code:?} is not 3 letters")))?;
        if fx.iter().any(|(c, _)| *c == code) {
            return Err(bad(
                p,
                rec,
                format!("currency {} appears twice", String::from_utf8_lossy(&code)),
            ));
        }
        fx.push((code, rate));
        Ok(())
    })?;
    // Duplicate ids in a dimension would make joins ambiguous: an error, not a silent choice.
    let dup = |path: PathBuf, what: &str, id: u64| Error::Format {
        path,
        message: format!("{what} {id} appears more than once"),
    };
    let customers = IdIndex::build(&customer_ids, &customer_country)
        .map_err(|id| dup(cust, "customer_id", id))?;
    let products = IdIndex::build(&product_ids, &product_category)
        .map_err(|id| dup(prod, "product_id", id))?;
    Ok(Dimensions {
        products,
        customers,
        customer_ids,
        customer_country,
        names,
        name_end,
        countries,
        product_category,
        categories,
        fx,
    })
}
