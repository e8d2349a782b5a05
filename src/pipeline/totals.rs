//! The csv engine's running totals, split so that the one ordered stage does as little as possible.
//!
//! Workers aggregate every valid record of their blocks at once, as if no order id repeated: per-worker daily
//! totals and shared per-customer counters (atomics: one array whatever the thread count). The ordered stage
//! (blocks in file order) only tests each order id against the bitmap of ids seen so far; a repeat is a
//! duplicate, and its contribution goes into `Corrections`, subtracted at the end. Sums are exact (`u128`, or
//! `u64` plus a count of wraps), so subtracting is exact; the report saturates at `u64::MAX` only when it is
//! written, as the spec says.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use super::dims::IdIndex;
use super::rules::CANCELLED;

/// A valid record, reduced to what aggregation needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Valid {
    pub order_id: u64,
    pub usd_cents: u64,
    pub day: i32,
    /// The customer's slot in [`Customers`] (not its id, nor always its row).
    pub customer: u32,
    pub units: u64,
    pub country: u16,
    pub category: u16,
    pub status: u8,
}

impl Valid {
    /// The daily group, packed into one word: cheaper to hash than a tuple.
    #[inline]
    fn group(&self) -> u64 {
        group(self.day, self.country, self.category)
    }
}

#[inline]
fn group(day: i32, country: u16, category: u16) -> u64 {
    (day as u32 as u64) << 32 | (country as u64) << 16 | category as u64
}

/// Unpacks a daily group: (day, country, category).
pub fn ungroup(key: u64) -> (i32, u16, u16) {
    ((key >> 32) as u32 as i32, (key >> 16) as u16, key as u16)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Agg {
    pub orders: u64,
    pub units: u128,
    pub cents: u128,
}

impl Agg {
    #[inline]
    fn add(&mut self, v: &Valid) {
        self.orders += 1;
        self.units += v.units as u128;
        self.cents += v.usd_cents as u128;
    }
}

/// Daily totals of one worker.
///
/// Dense (the usual case: few countries and categories): a table of `[orders, units, cents]` per (day,
/// country, category), found by plain indexing: a day's page, then country * categories + category. It is
/// about three times smaller than a hash map of the same groups, so it stays in the core's cache, and no key is
/// hashed or compared per row. Sums that wrap past 2^64 are counted on the side, so they stay exact. Too many
/// groups per day, or too many days, and it turns into the hash map (once).
#[derive(Debug)]
pub enum Daily {
    Dense(Box<DenseDaily>),
    Sparse(FxHashMap<u64, Agg>),
}

impl Default for Daily {
    fn default() -> Self {
        Daily::Sparse(FxHashMap::default())
    }
}

#[derive(Debug)]
pub struct DenseDaily {
    categories: usize,
    width: usize,
    /// Page + 1 of days 0..DAYS (1970-01-01 onwards), 0 when the day has none yet.
    pages: Vec<u32>,
    /// Pages of other days.
    far: FxHashMap<i32, u32>,
    /// The day of each page.
    days: Vec<i32>,
    aggs: Vec<[u64; 3]>,
    /// How many times (units, cents) of a group wrapped past 2^64.
    wraps: FxHashMap<u64, (u64, u64)>,
}

impl DenseDaily {
    /// Days found by plain indexing: 1970 to 2149.
    const DAYS: usize = 1 << 16;
    /// Groups a row of countries x categories may hold for the table to be dense.
    const MAX_WIDTH: usize = 4096;
    /// Groups (of 24 bytes) the table may grow to before it turns into a hash map.
    const MAX_AGGS: usize = 1 << 20;

    #[inline]
    fn page(&mut self, day: i32) -> Option<usize> {
        if let Some(&p) = self.pages.get(day as u32 as usize) {
            if p != 0 {
                return Some((p - 1) as usize * self.width);
            }
        }
        self.new_page(day)
    }

    #[cold]
    fn new_page(&mut self, day: i32) -> Option<usize> {
        let near = (day as u32 as usize) < Self::DAYS;
        if !near {
            if let Some(&p) = self.far.get(&day) {
                return Some(p as usize * self.width);
            }
        }
        if self.aggs.len() + self.width > Self::MAX_AGGS {
            return None;
        }
        let p = self.days.len() as u32;
        self.days.push(day);
        self.aggs.resize(self.aggs.len() + self.width, [0; 3]);
        if near {
            self.pages[day as usize] = p + 1;
        } else {
            self.far.insert(day, p);
        }
        Some(p as usize * self.width)
    }

    #[cold]
    fn wrapped(&mut self, group: u64, units: bool, cents: bool) {
        let w = self.wraps.entry(group).or_default();
        w.0 += units as u64;
        w.1 += cents as u64;
    }

    /// Every group with an order, exact.
    fn groups(&self) -> impl Iterator<Item = (u64, Agg)> + '_ {
        self.days.iter().enumerate().flat_map(move |(p, &day)| {
            let page = &self.aggs[p * self.width..(p + 1) * self.width];
            page.iter()
                .enumerate()
                .filter(|(_, a)| a[0] > 0)
                .map(move |(i, a)| {
                    let g = group(
                        day,
                        (i / self.categories) as u16,
                        (i % self.categories) as u16,
                    );
                    let (wu, wc) = self.wraps.get(&g).copied().unwrap_or_default();
                    let agg = Agg {
                        orders: a[0],
                        units: (wu as u128) << 64 | a[1] as u128,
                        cents: (wc as u128) << 64 | a[2] as u128,
                    };
                    (g, agg)
                })
        })
    }
}

impl Daily {
    /// The dense table when (countries x categories) allows it.
    pub fn new(countries: usize, categories: usize) -> Self {
        let width = countries.max(1) * categories.max(1);
        if width > DenseDaily::MAX_WIDTH {
            return Daily::default();
        }
        Daily::Dense(Box::new(DenseDaily {
            categories: categories.max(1),
            width,
            // Zeroed by the allocator: only the pages of the days seen become resident.
            pages: vec![0; DenseDaily::DAYS],
            far: FxHashMap::default(),
            days: Vec::new(),
            aggs: Vec::new(),
            wraps: FxHashMap::default(),
        }))
    }

    #[inline]
    fn add(&mut self, v: &Valid) {
        let at = self.locate(v);
        self.add_at(v, at);
    }

    /// Where `v` is counted in the dense table (asking the cache for that line now), or `usize::MAX`.
    #[inline]
    fn locate(&mut self, v: &Valid) -> usize {
        if let Daily::Dense(d) = self {
            let i = v.country as usize * d.categories + v.category as usize;
            if i < d.width {
                if let Some(base) = d.page(v.day) {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: a prefetch is only a hint; the pointer is to a live element.
                    unsafe {
                        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                        _mm_prefetch::<_MM_HINT_T0>(d.aggs.as_ptr().add(base + i) as *const i8);
                    }
                    return base + i;
                }
            }
        }
        usize::MAX
    }

    /// Counts `v` at `at` (from `locate`; the table may have turned into the hash map since).
    #[inline(always)]
    fn add_at(&mut self, v: &Valid, at: usize) {
        match self {
            Daily::Dense(d) if at != usize::MAX => {
                let a = &mut d.aggs[at];
                a[0] += 1;
                let (units, wu) = a[1].overflowing_add(v.units);
                let (cents, wc) = a[2].overflowing_add(v.usd_cents);
                a[1] = units;
                a[2] = cents;
                if wu | wc {
                    d.wrapped(v.group(), wu, wc);
                }
            }
            Daily::Dense(_) => {
                self.make_sparse();
                self.add(v);
            }
            Daily::Sparse(m) => m.entry(v.group()).or_default().add(v),
        }
    }

    #[cold]
    fn make_sparse(&mut self) {
        let m = self.groups().collect();
        *self = Daily::Sparse(m);
    }

    /// Every group with an order, exact.
    pub fn groups(&self) -> Box<dyn Iterator<Item = (u64, Agg)> + '_> {
        match self {
            Daily::Dense(d) => Box::new(d.groups()),
            Daily::Sparse(m) => Box::new(m.iter().map(|(&k, &a)| (k, a))),
        }
    }
}

/// What one worker has counted, duplicates included.
#[derive(Debug, Default)]
pub struct Partial {
    pub valid: u64,
    pub cancelled: u64,
    pub revenue: u128,
    pub daily: Daily,
}

/// `meta` of a customer slot: the country in the low 16 bits, then a present flag.
const PRESENT: u64 = 1 << 16;
/// A slot's counter word: the order count in the low 16 bits, the cents above (48 bits), so that one atomic
/// add counts both. What does not fit is counted on the side, exactly (see `Customers::add`).
const ORDER_BITS: u32 = 16;
const ORDER_MASK: u64 = (1 << ORDER_BITS) - 1;
const CENTS_BITS: u32 = 64 - ORDER_BITS;

/// Asks the kernel to back `len` bytes at `ptr` (not yet touched) with 2 MiB pages where it can: the
/// per-customer slots are read at random, one line per row, and with 4 KiB pages most of those reads also
/// missed the TLB (millions of customers: tens of MB). Measured at 10 GB: 10.1 s -> 8.9 s.
fn huge_pages(ptr: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: advice on whole pages inside an allocation of ours; it changes no contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// Per-customer counters shared by the workers: `[counter, meta]` per slot, one cache line per update.
///
/// With dense customer ids (the usual case) a customer's slot is its id, and `meta` also holds its country and
/// whether it exists: the join (`lookup`) and the count (`add`) touch the same line, and the workers prefetch it
/// a batch of rows ahead. Otherwise the dimension's hash index gives the slot (the customer's row).
pub struct Customers<'d> {
    slots: Vec<[AtomicU64; 2]>,
    index: &'d IdIndex,
    ids: &'d [u64],
    dense: bool,
    /// Per slot, what the counter word could not hold: (cents in units of 2^48, orders in units of 2^16).
    wraps: Mutex<FxHashMap<u32, (u64, u64)>>,
}

impl<'d> Customers<'d> {
    /// `ids[i]` and `countries[i]` describe customer row `i`; `index` maps ids to rows.
    pub fn new(ids: &'d [u64], countries: &[u16], index: &'d IdIndex) -> Self {
        let max = ids.iter().copied().max().unwrap_or(0);
        let dense = matches!(index, IdIndex::Dense(_)) && max < u32::MAX as u64;
        let n = if dense { max as usize + 1 } else { ids.len() };
        let mut slots: Vec<[AtomicU64; 2]> = Vec::with_capacity(n);
        huge_pages(slots.as_ptr() as *const u8, n * 16);
        slots.extend((0..n).map(|_| [AtomicU64::new(0), AtomicU64::new(0)]));
        for (row, (&id, &country)) in ids.iter().zip(countries).enumerate() {
            let slot = if dense { id as usize } else { row };
            slots[slot][1].store(PRESENT | country as u64, Ordering::Relaxed);
        }
        Customers {
            slots,
            index,
            ids,
            dense,
            wraps: Mutex::default(),
        }
    }

    /// (slot, country) of a customer id, None for an orphan.
    #[inline]
    pub fn lookup(&self, id: u64) -> Option<(u32, u16)> {
        if self.dense {
            let meta = self.slots.get(id as usize)?[1].load(Ordering::Relaxed);
            (meta & PRESENT != 0).then_some((id as u32, meta as u16))
        } else {
            self.index.get(id)
        }
    }

    #[inline]
    pub fn prefetch(&self, id: u64) {
        #[cfg(target_arch = "x86_64")]
        if self.dense {
            if let Some(slot) = self.slots.get(id as usize) {
                // SAFETY: a prefetch is only a hint; the pointer is to a live element.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(slot.as_ptr() as *const i8);
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }

    /// One order of `cents` for the customer in `slot`: one atomic add (two cost a quarter of a row's time).
    #[inline]
    fn add(&self, slot: u32, cents: u64) {
        let low = cents & ((1 << CENTS_BITS) - 1);
        // Relaxed: the counters are only read after the workers have been joined.
        let before =
            self.slots[slot as usize][0].fetch_add(low << ORDER_BITS | 1, Ordering::Relaxed);
        // The 65,536th order carries into the cents; cents past 2^48 carry out of the word (wrapping add).
        let orders_wrap = before & ORDER_MASK == ORDER_MASK;
        let cents_wrap = (before >> ORDER_BITS) + low + orders_wrap as u64 >= 1 << CENTS_BITS;
        if orders_wrap | cents_wrap | (cents != low) {
            self.spill(slot, cents >> CENTS_BITS, cents_wrap, orders_wrap);
        }
    }

    #[cold]
    fn spill(&self, slot: u32, high: u64, cents_wrap: bool, orders_wrap: bool) {
        let mut w = self.wraps.lock().unwrap_or_else(|e| e.into_inner());
        let e = w.entry(slot).or_default();
        e.0 += high + cents_wrap as u64;
        e.1 += orders_wrap as u64;
    }

    /// Exact (cents, orders) of a slot.
    fn exact(&self, slot: usize, wraps: &FxHashMap<u32, (u64, u64)>) -> (u128, u128) {
        let word = self.slots[slot][0].load(Ordering::Relaxed);
        let (wc, wo) = wraps.get(&(slot as u32)).copied().unwrap_or_default();
        let orders = (wo as u128) << ORDER_BITS | (word & ORDER_MASK) as u128;
        // Each orders wrap carried one into the cents field: taken back out.
        let cents = ((wc as u128) << CENTS_BITS | (word >> ORDER_BITS) as u128) - wo as u128;
        (cents, orders)
    }

    /// The slot of customer row `row`.
    fn slot_of(&self, row: usize) -> usize {
        if self.dense {
            self.ids[row] as usize
        } else {
            row
        }
    }

    /// The row of a slot.
    fn row_of(&self, slot: u32) -> usize {
        if self.dense {
            self.index
                .get(slot as u64)
                .map_or(usize::MAX, |(row, _)| row as usize)
        } else {
            slot as usize
        }
    }
}

impl Partial {
    /// Daily totals dense when the dimensions allow it.
    pub fn new(countries: usize, categories: usize) -> Self {
        Partial {
            daily: Daily::new(countries, categories),
            ..Partial::default()
        }
    }

    /// Counts the valid records of a block (a worker does this for every block, duplicates included).
    #[cfg(test)]
    pub fn add_all(&mut self, rows: &[Valid], customers: &Customers) {
        for v in rows {
            self.add(v, customers);
        }
    }

    /// Counts one valid record (a worker does this for every one, duplicates included).
    #[inline]
    pub fn add(&mut self, v: &Valid, customers: &Customers) {
        let at = self.prepare(v);
        self.add_prepared(v, at, customers);
    }

    /// The first half of `add`: finds (and prefetches) where `v` will be counted. A worker prepares a batch of
    /// rows, then adds them, so that the cache misses of the batch overlap.
    #[inline]
    pub fn prepare(&mut self, v: &Valid) -> usize {
        if v.status == CANCELLED {
            return usize::MAX;
        }
        self.daily.locate(v)
    }

    /// The second half of `add`.
    #[inline]
    pub fn add_prepared(&mut self, v: &Valid, at: usize, customers: &Customers) {
        if self.count_at(v, at) {
            customers.add(v.customer, v.usd_cents);
        }
    }

    /// Counts `v` in everything but the per-customer totals; true when it counts as revenue (not cancelled).
    #[inline]
    fn count(&mut self, v: &Valid) -> bool {
        let at = self.prepare(v);
        self.count_at(v, at)
    }

    #[inline]
    fn count_at(&mut self, v: &Valid, at: usize) -> bool {
        self.valid += 1;
        if v.status == CANCELLED {
            self.cancelled += 1;
            return false;
        }
        self.revenue += v.usd_cents as u128;
        self.daily.add_at(v, at);
        true
    }
}

/// Order ids seen so far: a bitmap (ids are dense), with a hash set for ids too large for it.
#[derive(Default)]
pub struct Seen {
    bits: Vec<u64>,
    far: rustc_hash::FxHashSet<u64>,
}

impl Seen {
    const BITMAP_LIMIT: u64 = 1 << 33;

    /// Marks `id`; true when it was already marked.
    #[inline]
    pub fn test_and_set(&mut self, id: u64) -> bool {
        if id >= Self::BITMAP_LIMIT {
            return !self.far.insert(id);
        }
        let (w, b) = ((id / 64) as usize, id % 64);
        if w >= self.bits.len() {
            // Grown in 512 KiB steps, not doubled: a doubled bitmap is zero-filled, so resident, up to twice
            // what the ids need (Vec still reallocates geometrically underneath).
            self.bits.resize((w + 1).next_multiple_of(1 << 16), 0);
        }
        let seen = self.bits[w] >> b & 1 == 1;
        self.bits[w] |= 1 << b;
        seen
    }
}

/// What the duplicates contributed to the workers' totals (taken out at the end).
#[derive(Default)]
pub struct Corrections {
    pub duplicates: u64,
    partial: Partial,
    customers: FxHashMap<u32, (u128, u64)>,
}

impl Corrections {
    /// Called by the ordered stage for every record whose order id was seen before.
    pub fn add(&mut self, v: &Valid) {
        self.duplicates += 1;
        self.take_back(v);
    }

    /// Takes back what a worker counted for `v` (a duplicate's, or a record of a block read from a wrong start).
    pub fn take_back(&mut self, v: &Valid) {
        if self.partial.count(v) {
            let c = self.customers.entry(v.customer).or_default();
            c.0 += v.usd_cents as u128;
            c.1 += 1;
        }
    }
}

/// The final totals, duplicates taken out, saturated to the report's `u64`.
pub struct Totals {
    pub valid: u64,
    pub cancelled: u64,
    pub revenue: u64,
    /// (group, orders, units, cents), unsorted.
    pub daily: Vec<(u64, u64, u64, u64)>,
    /// Per customer row.
    pub customer_cents: Vec<u64>,
    pub customer_orders: Vec<u64>,
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl Totals {
    pub fn merge(partials: Vec<Partial>, customers: Customers, corr: Corrections) -> Totals {
        let mut all = Partial::default();
        let mut daily: FxHashMap<u64, Agg> = FxHashMap::default();
        for p in partials {
            all.valid += p.valid;
            all.cancelled += p.cancelled;
            all.revenue += p.revenue;
            for (k, a) in p.daily.groups() {
                let t = daily.entry(k).or_default();
                t.orders += a.orders;
                t.units += a.units;
                t.cents += a.cents;
            }
        }
        let c = &corr.partial;
        for (k, a) in c.daily.groups() {
            let t = daily
                .get_mut(&k)
                .expect("a duplicate was counted by a worker");
            t.orders -= a.orders;
            t.units -= a.units;
            t.cents -= a.cents;
        }
        let wraps = customers.wraps.lock().unwrap_or_else(|e| e.into_inner());
        let (mut customer_cents, mut customer_orders): (Vec<u64>, Vec<u64>) =
            (0..customers.ids.len())
                .map(|row| {
                    let word = customers.slots[customers.slot_of(row)][0].load(Ordering::Relaxed);
                    (word >> ORDER_BITS, word & ORDER_MASK)
                })
                .unzip();
        // The few customers whose counters overflowed their word or who had duplicates: exact arithmetic,
        // then saturated.
        let mut touched: Vec<u32> = wraps.keys().copied().collect();
        touched.extend(corr.customers.keys().copied());
        touched.sort_unstable();
        touched.dedup();
        for slot in touched {
            let row = customers.row_of(slot);
            let (cents, orders) = customers.exact(slot as usize, &wraps);
            let (dc, dor) = corr.customers.get(&slot).copied().unwrap_or_default();
            customer_cents[row] = saturate(cents - dc);
            customer_orders[row] = saturate(orders - dor as u128);
        }
        let daily = daily
            .into_iter()
            .filter(|(_, a)| a.orders > 0)
            .map(|(k, a)| (k, a.orders, saturate(a.units), saturate(a.cents)))
            .collect();
        Totals {
            valid: all.valid - c.valid,
            cancelled: all.cancelled - c.cancelled,
            revenue: saturate(all.revenue - c.revenue),
            daily,
            customer_cents,
            customer_orders,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(order_id: u64, customer: u32, cents: u64, status: u8) -> Valid {
        Valid {
            order_id,
            usd_cents: cents,
            day: 19_000,
            customer,
            units: 2,
            country: 1,
            category: 3,
            status,
        }
    }

    /// Customers with ids 1..=n, all in country 0.
    fn index(ids: &[u64]) -> IdIndex {
        IdIndex::build(ids, &vec![0; ids.len()]).unwrap()
    }

    #[test]
    fn duplicates_are_taken_out_exactly() {
        let ids = [1, 2, 3];
        let idx = index(&ids);
        let customers = Customers::new(&ids, &[0, 0, 0], &idx);
        let (mut a, mut b) = (Partial::new(2, 4), Partial::default());
        let rows = [v(1, 1, 500, 0), v(2, 2, 700, 0), v(3, 3, 9, CANCELLED)];
        a.add_all(&rows, &customers);
        // Worker b saw a repeat of order 2 with other values, and a repeat of the cancelled order 3.
        let dups = [v(2, 1, 1_000, 0), v(3, 3, 9, CANCELLED)];
        b.add_all(&dups, &customers);
        let mut corr = Corrections::default();
        for r in &dups {
            corr.add(r);
        }
        let t = Totals::merge(vec![a, b], customers, corr);
        assert_eq!((t.valid, t.cancelled, t.revenue), (3, 1, 1_200));
        assert_eq!(t.customer_cents, vec![500, 700, 0]);
        assert_eq!(t.customer_orders, vec![1, 1, 0]);
        assert_eq!(t.daily.len(), 1);
        assert_eq!(t.daily[0].1..t.daily[0].3, 2..1_200);
        assert_eq!(ungroup(t.daily[0].0), (19_000, 1, 3));
    }

    #[test]
    fn sums_past_two_to_the_64_stay_exact_then_saturate() {
        let ids = [7];
        let idx = index(&ids);
        let big = u64::MAX / 2 + 1;
        for daily in [Partial::new(2, 4), Partial::default()] {
            let customers = Customers::new(&ids, &[0], &idx);
            let mut p = daily;
            for id in 0..3 {
                p.add(&v(id, 7, big, 0), &customers);
            }
            let mut corr = Corrections::default();
            corr.add(&v(2, 7, big, 0));
            let t = Totals::merge(vec![p], customers, corr);
            // 2 * 2^63 = 2^64 > u64::MAX: saturates; without the wrap count it would read 0.
            assert_eq!(t.customer_cents, vec![u64::MAX]);
            assert_eq!(t.revenue, u64::MAX);
            assert_eq!(t.daily[0].3, u64::MAX);
        }

        let customers = Customers::new(&ids, &[0], &idx);
        let mut p = Partial::new(2, 4);
        for id in 0..3 {
            p.add(&v(id, 7, big, 0), &customers);
        }
        let mut corr = Corrections::default();
        corr.add(&v(1, 7, big, 0));
        corr.add(&v(2, 7, big, 0));
        let t = Totals::merge(vec![p], customers, corr);
        assert_eq!(t.customer_cents, vec![big]);
        assert_eq!(t.customer_orders, vec![1]);
        assert_eq!(ungroup(t.daily[0].0).0, 19_000);
        assert_eq!(t.daily[0].3, big);
    }

    /// The counter word holds 16 bits of orders and 48 of cents: carries between them and out of the word are
    /// counted on the side and come out exact.
    #[test]
    fn counter_word_overflows_stay_exact() {
        let ids = [1, 2];
        let idx = index(&ids);
        let customers = Customers::new(&ids, &[0, 0], &idx);
        let mut p = Partial::default();
        let cents = (1u64 << 40) + 7;
        for id in 0..200_000 {
            p.add(&v(id, 1, cents, 0), &customers);
        }
        // Customer 2: amounts above 2^48 each (the word holds 48 bits of cents).
        let big = (1u64 << 50) + 3;
        for id in 0..5 {
            p.add(&v(id, 2, big, 0), &customers);
        }
        let mut corr = Corrections::default();
        corr.add(&v(9, 1, cents, 0));
        let t = Totals::merge(vec![p], customers, corr);
        assert_eq!(t.customer_orders, vec![199_999, 5]);
        assert_eq!(t.customer_cents, vec![199_999 * cents, 5 * big]);
    }

    /// The dense daily table and the hash map give the same groups, for days near and far and for a table
    /// that outgrows its budget and turns into the hash map midway.
    #[test]
    fn dense_and_sparse_daily_agree() {
        let days = [-800_000, -1, 0, 19_000, 65_535, 65_536, 2_900_000];
        let rows: Vec<Valid> = (0..400u64)
            .map(|i| Valid {
                day: days[i as usize % days.len()],
                country: (i % 3) as u16,
                category: (i % 5) as u16,
                units: i,
                usd_cents: i * 7,
                ..v(i, 0, 0, 0)
            })
            .collect();
        let sorted = |d: &Daily| {
            let mut g: Vec<(u64, u64, u128, u128)> = d
                .groups()
                .map(|(k, a)| (k, a.orders, a.units, a.cents))
                .collect();
            g.sort();
            g
        };
        let mut sparse = Daily::default();
        let mut dense = Daily::new(3, 5);
        for r in &rows {
            sparse.add(r);
            dense.add(r);
        }
        assert!(matches!(dense, Daily::Dense(_)));
        assert_eq!(sorted(&dense), sorted(&sparse));
        assert_eq!(sorted(&sparse).len(), 7 * 15);

        // Near days first; then, as if the budget were used up, the far days turn the table into the hash map.
        let mut tight = Daily::new(3, 5);
        let (near, far): (Vec<&Valid>, Vec<&Valid>) =
            rows.iter().partition(|r| (0..65_536).contains(&r.day));
        for r in &near {
            tight.add(r);
        }
        if let Daily::Dense(d) = &mut tight {
            d.aggs.resize(DenseDaily::MAX_AGGS, [0; 3]);
        }
        for r in &far {
            tight.add(r);
        }
        assert!(matches!(tight, Daily::Sparse(_)));
        assert_eq!(sorted(&tight), sorted(&sparse));
    }

    /// Sparse customer ids: slots are rows, found through the hash index.
    #[test]
    fn sparse_customer_ids() {
        let ids = [10_000_000_000, 5];
        let idx = index(&ids);
        assert!(matches!(idx, IdIndex::Sparse(_)));
        let customers = Customers::new(&ids, &[3, 4], &idx);
        assert_eq!(customers.lookup(10_000_000_000), Some((0, 0)));
        assert_eq!(customers.lookup(6), None);
        let (slot, _) = customers.lookup(5).unwrap();
        let mut p = Partial::new(5, 4);
        p.add(&v(1, slot, 40, 0), &customers);
        let t = Totals::merge(vec![p], customers, Corrections::default());
        assert_eq!(t.customer_cents, vec![0, 40]);
        assert_eq!(t.customer_orders, vec![0, 1]);
    }

    #[test]
    fn dense_customer_slots_hold_the_country() {
        let ids = [3, 1];
        let idx = IdIndex::build(&ids, &[9, 8]).unwrap();
        let customers = Customers::new(&ids, &[9, 8], &idx);
        assert_eq!(customers.lookup(3), Some((3, 9)));
        assert_eq!(customers.lookup(1), Some((1, 8)));
        assert_eq!(customers.lookup(2), None);
        assert_eq!(customers.lookup(0), None);
        assert_eq!(customers.lookup(4), None);
        assert_eq!(customers.lookup(u64::MAX), None);
    }

    #[test]
    fn groups_round_trip_negative_days() {
        let r = Valid {
            day: -3,
            country: 65_535,
            category: 7,
            ..v(1, 0, 1, 0)
        };
        assert_eq!(ungroup(r.group()), (-3, 65_535, 7));
    }
}
