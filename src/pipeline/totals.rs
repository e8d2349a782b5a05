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

use super::rules::CANCELLED;

/// A valid record, reduced to what aggregation needs.
#[derive(Debug, Clone, Copy)]
pub struct Valid {
    pub order_id: u64,
    pub usd_cents: u64,
    pub day: i32,
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
        (self.day as u32 as u64) << 32 | (self.country as u64) << 16 | self.category as u64
    }
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

/// What one worker has counted, duplicates included.
#[derive(Debug, Default)]
pub struct Partial {
    pub valid: u64,
    pub cancelled: u64,
    pub revenue: u128,
    pub daily: FxHashMap<u64, Agg>,
}

/// Per-customer counters shared by the workers: (cents, orders) side by side, one cache line per update.
pub struct Customers {
    slots: Vec<[AtomicU64; 2]>,
    /// How many times a customer's cents wrapped past 2^64 (never, on sane data).
    wraps: Mutex<FxHashMap<u32, u64>>,
}

impl Customers {
    pub fn new(n: usize) -> Self {
        Customers {
            slots: (0..n)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
            wraps: Mutex::default(),
        }
    }

    #[inline]
    fn prefetch(&self, customer: u32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(slot) = self.slots.get(customer as usize) {
            // SAFETY: a prefetch is only a hint; the pointer is to a live element.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(slot.as_ptr() as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = customer;
    }

    #[inline]
    fn add(&self, customer: u32, cents: u64) {
        let [c, o] = &self.slots[customer as usize];
        // Relaxed: the counters are only read after the workers have been joined.
        let before = c.fetch_add(cents, Ordering::Relaxed);
        if before.checked_add(cents).is_none() {
            let mut w = self.wraps.lock().unwrap_or_else(|e| e.into_inner());
            *w.entry(customer).or_default() += 1;
        }
        o.fetch_add(1, Ordering::Relaxed);
    }
}

impl Partial {
    /// Counts the valid records of a block (a worker does this for every block, duplicates included).
    pub fn add_all(&mut self, rows: &[Valid], customers: &Customers) {
        // Customer counters are random accesses into an array of millions: ask for each line a few rows ahead
        // so that the misses overlap instead of stalling one after another (an atomic add waits for its line).
        const AHEAD: usize = 16;
        for (i, v) in rows.iter().enumerate() {
            if let Some(next) = rows.get(i + AHEAD) {
                customers.prefetch(next.customer);
            }
            self.add(v, customers);
        }
    }

    #[inline]
    fn add(&mut self, v: &Valid, customers: &Customers) {
        if self.count(v) {
            customers.add(v.customer, v.usd_cents);
        }
    }

    /// Counts `v` in everything but the per-customer totals; true when it counts as revenue (not cancelled).
    #[inline]
    fn count(&mut self, v: &Valid) -> bool {
        self.valid += 1;
        if v.status == CANCELLED {
            self.cancelled += 1;
            return false;
        }
        self.revenue += v.usd_cents as u128;
        self.daily.entry(v.group()).or_default().add(v);
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
    pub customer_cents: Vec<u64>,
    pub customer_orders: Vec<u64>,
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl Totals {
    pub fn merge(partials: Vec<Partial>, customers: Customers, corr: Corrections) -> Totals {
        let mut all = Partial::default();
        for p in partials {
            all.valid += p.valid;
            all.cancelled += p.cancelled;
            all.revenue += p.revenue;
            for (k, a) in p.daily {
                let t = all.daily.entry(k).or_default();
                t.orders += a.orders;
                t.units += a.units;
                t.cents += a.cents;
            }
        }
        let c = &corr.partial;
        for (k, a) in &c.daily {
            let t = all
                .daily
                .get_mut(k)
                .expect("a duplicate was counted by a worker");
            t.orders -= a.orders;
            t.units -= a.units;
            t.cents -= a.cents;
        }
        let wraps = customers
            .wraps
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let (mut customer_cents, mut customer_orders): (Vec<u64>, Vec<u64>) = customers
            .slots
            .into_iter()
            .map(|[c, o]| (c.into_inner(), o.into_inner()))
            .unzip();
        let exact = |i: u32, low: u64| (*wraps.get(&i).unwrap_or(&0) as u128) << 64 | low as u128;
        let mut touched: Vec<u32> = wraps.keys().copied().collect();
        touched.extend(corr.customers.keys().copied());
        touched.sort_unstable();
        touched.dedup();
        for i in touched {
            let mut v = exact(i, customer_cents[i as usize]);
            if let Some(&(cents, orders)) = corr.customers.get(&i) {
                v -= cents;
                customer_orders[i as usize] -= orders;
            }
            customer_cents[i as usize] = saturate(v);
        }
        let daily = all
            .daily
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

    #[test]
    fn duplicates_are_taken_out_exactly() {
        let customers = Customers::new(3);
        let (mut a, mut b) = (Partial::default(), Partial::default());
        let rows = [v(1, 0, 500, 0), v(2, 1, 700, 0), v(3, 2, 9, CANCELLED)];
        a.add_all(&rows, &customers);
        // Worker b saw a repeat of order 2 with other values, and a repeat of the cancelled order 3.
        let dups = [v(2, 0, 1_000, 0), v(3, 2, 9, CANCELLED)];
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
        let customers = Customers::new(1);
        let mut p = Partial::default();
        let big = u64::MAX / 2 + 1;
        for id in 0..3 {
            p.add(&v(id, 0, big, 0), &customers);
        }
        let mut corr = Corrections::default();
        corr.add(&v(2, 0, big, 0));
        let t = Totals::merge(vec![p], customers, corr);
        // 2 * 2^63 = 2^64 > u64::MAX: saturates; without the wrap count it would read 0.
        assert_eq!(t.customer_cents, vec![u64::MAX]);
        assert_eq!(t.revenue, u64::MAX);

        let customers = Customers::new(1);
        let mut p = Partial::default();
        for id in 0..3 {
            p.add(&v(id, 0, big, 0), &customers);
        }
        let mut corr = Corrections::default();
        corr.add(&v(1, 0, big, 0));
        corr.add(&v(2, 0, big, 0));
        let t = Totals::merge(vec![p], customers, corr);
        assert_eq!(t.customer_cents, vec![big]);
        assert_eq!(ungroup(t.daily[0].0).0, 19_000);
        assert_eq!(t.daily[0].3, big);
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
