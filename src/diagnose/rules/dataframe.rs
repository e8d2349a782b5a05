//! `rowwise_dataframe`: `iterrows` / `itertuples` / `apply(axis=1)` where column operations would do.

use super::common::{hit, hit_at, loops_text, method};
use super::{Hit, Site};

/// A loop over a DataFrame's rows, a row-wise `apply`, or per-row `.loc`/`.at` indexing in a loop.
pub fn rows(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let pandas = s.src.mentions("pandas") || s.callee(|n| n.starts_with("pandas")).is_some();
    if !pandas {
        return None;
    }
    let row_loop = |l: &crate::diagnose::source::LoopInfo| {
        l.iter.contains(".iterrows()")
            || l.iter.contains(".itertuples(")
            // The columns of the transpose are the rows (`for _, rec in df.T.items()`).
            || [".T.items()", ".T.iteritems()", ".transpose().items()"]
                .iter()
                .any(|t| l.iter.contains(t))
            || l.iter.ends_with(".index")
            || l.iter.contains("range(len(df")
    };
    let df_loop = ctx.loops.iter().any(row_loop);
    let axis1 = ctx
        .call_texts
        .iter()
        .any(|c| c.contains("axis=1") || c.contains("axis=\"columns\""));
    let df_call = ctx.calls.iter().any(|c| {
        matches!(method(c), "iterrows" | "itertuples" | "apply" | "applymap")
            || (method(c) == "map" && (c.contains("df") || c.contains("[")))
    });
    let df_index = [".loc[", ".at[", ".iloc[", ".iat["]
        .iter()
        .any(|x| ctx.text.contains(x));
    // Picking one value out (`.loc`, `series[key]`) is row work when it is what the line spends its time on,
    // not when it reads one entry of a whole-table aggregate the line computes (`by_seg.median()[seg]`).
    let heaviest = s.callees.iter().map(|c| c.weight).fold(0.0, f64::max);
    // (What the line itself calls: a pivot table or a groupby runs `pandas.core.apply` inside, for the whole
    // table.)
    let row_work = s.callees.iter().any(|c| {
        c.direct
            && (c.name.contains("iterrows")
                || c.name.contains("itertuples")
                || c.name.contains("pandas.core.apply"))
    })
        // (The line's own indexing: a pivot table indexes inside, for the whole table.)
        || s.callees.iter().any(|c| {
            (c.name.contains("pandas.core.indexing")
                || c.name.contains("pandas.core.series.__getitem__"))
                && c.direct
                && c.weight >= 0.3 * heaviest
        });
    let repeats = s.in_loop() || s.repeated();
    // A helper called once per row from a loop over a DataFrame's rows, applying a pandas function to the row's
    // values (`pd.to_datetime(row.started_at)`, `pd.Timestamp(...)`): the row loop is the cost, spread over two
    // functions. (A method of a table the helper keeps, `series.asof(t)`, is that table's work.)
    if !(df_loop || axis1 || df_call || (repeats && (df_index || row_work))) {
        let pandas_call = ctx
            .calls
            .iter()
            .any(|c| c.starts_with("pd.") || c.starts_with("pandas."));
        // A function that `DataFrame.apply(f, axis=1)` runs for every row, itself or through helpers (a
        // registry of per-row cost functions): its pandas work on the row (`row["net_kg"]`) is the per-row cost,
        // at the apply.
        let applied = s.callers.iter().take(4).find(|c| {
            c.ctx.call_texts.iter().any(|t| {
                let t = t.replace(' ', "");
                t.contains(".apply(")
                    && (t.contains("axis=1")
                        || t.contains("axis=\"columns\"")
                        || t.contains("axis='columns'"))
            })
        });
        let pandas_work = s
            .callees
            .iter()
            .any(|c| c.direct && c.name.starts_with("pandas."));
        if let Some(c) = applied.filter(|_| pandas_work || df_index || pandas_call) {
            return hit_at(
                0.85,
                format!(
                    "line {} works on one row (`{}`) in `{}`, which the `apply(..., axis=1)` on line {} runs for every row of the DataFrame: pandas' per-row overhead on every row",
                    ctx.line,
                    ctx.text,
                    s.function_name(),
                    c.loc.1
                ),
                c.loc,
            );
        }
        let c = s.looping_caller()?;
        if !(pandas_call && c.ctx.loops.iter().any(row_loop)) {
            return None;
        }
        return hit_at(
            0.75,
            format!(
                "line {} makes a pandas call on one row's values (`{}`) in `{}`, which line {} calls for every row of a loop over a DataFrame's rows: pandas' per-call overhead once per row",
                ctx.line,
                ctx.text,
                s.function_name(),
                c.loc.1
            ),
            c.loc,
        );
    }
    // The rows of a summary (`summary = df.groupby(k).agg(...)`, `value_counts()`) are few: looping over them is
    // reporting, not the per-row cost.
    let summary_rows = ctx.loops.iter().filter(|l| row_loop(l)).all(|l| {
        let frame = l.iter.split('.').next().unwrap_or("").trim();
        let bound = s.src.bindings(frame);
        !bound.is_empty()
            && bound.iter().all(|b| {
                [
                    ".groupby(",
                    ".agg(",
                    ".value_counts(",
                    ".describe(",
                    ".pivot_table(",
                    ".resample(",
                ]
                .iter()
                .any(|m| b.contains(m))
            })
    }) && df_loop;
    let conf = if summary_rows {
        0.3
    } else if df_loop || axis1 {
        0.9
    } else if df_call {
        0.8
    } else {
        0.7
    };
    hit(
        conf,
        format!(
            "line {} works on a DataFrame one row at a time ({}): every row goes through Python and pandas' per-row overhead",
            ctx.line,
            if df_loop {
                format!("loop over {}", loops_text(ctx))
            } else {
                format!("`{}`", ctx.text)
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import pandas as pd
def f(df):
    for _, row in df.iterrows():
        total = row["a"] * row["b"]
    df["c"] = df.apply(lambda r: r.a + r.b, axis=1)
    for i in df.index:
        df.at[i, "d"] = 1
    df["e"] = df["a"] * df["b"]
"#;

    /// Near miss: looping over a groupby summary's few rows.
    /// One value picked out per item (`series.loc[k]`) is row work when picking is the cost; reading one entry
    /// of a whole-table aggregate recomputed per call is not (that is the aggregate's cost).
    #[test]
    fn one_entry_of_an_aggregate() {
        let s = src("import pandas as pd\ndef ref(seg):\n    m = tally.groupby(\"segment\")[\"wall\"].median()[seg]\n    return m\ndef run(items):\n    for a in items:\n        ref(a)\n");
        let site3 = |agg: f64, pick: f64| {
            site(&s, 3)
                .called_from(&[7])
                .with_direct_callee("pandas.core.groupby.groupby.median", agg)
                .with_direct_callee("pandas.core.series.__getitem__", pick)
        };
        assert!(rows(&site3(0.1, 0.9)).is_some());
        assert!(rows(&site3(0.9, 0.05)).is_none());
        // Indexing and `pandas.core.apply` inside a pivot table are the table's work, not the line's.
        let p = src("import pandas as pd\ndef bench(h, region):\n    m = h.pivot_table(index=\"region\", values=\"p\")\n    return m\ndef run(h, bids):\n    for b in bids:\n        bench(h, b.region)\n");
        let pivot = site(&p, 3)
            .called_from(&[7])
            .with_direct_callee("pandas.core.frame.DataFrame.pivot_table", 1.0)
            .with_inner_callee("pandas.core.apply.Apply.agg", 0.7)
            .with_inner_callee("pandas.core.indexing._LocIndexer.__getitem__", 0.5);
        assert!(rows(&pivot).is_none());
    }

    /// A function that `apply(..., axis=1)` runs per row through a helper, indexing the row: rowwise, at the
    /// apply. Near misses: the same function called from a column-wise apply, and one indexing nothing.
    #[test]
    fn row_functions_run_by_apply() {
        let s = src("import pandas as pd\ndef resin(row):\n    return row[\"kg\"] * 2\ndef price(row):\n    return sum(f(row) for f in (resin,))\ndef run(df):\n    df[\"c\"] = df.apply(price, axis=1)\n    df[\"d\"] = df.apply(price)\ndef plain(x):\n    return x * 2\n");
        let row = |callers: &[u32]| {
            site(&s, 3)
                .called_from(callers)
                .with_direct_callee("pandas.core.series.Series.__getitem__", 1.0)
        };
        assert_eq!(rows(&row(&[5, 7])).unwrap().at, Some((0, 7)));
        assert!(rows(&row(&[5, 8])).is_none());
        assert!(rows(&site(&s, 10).called_from(&[7])).is_none());
    }

    /// Each column of a transposed frame is one of its rows: looping over them is a row loop. Near miss: the
    /// columns of the frame itself.
    #[test]
    fn columns_of_the_transpose() {
        let s = src("import pandas as pd\ndef run(week):\n    for _, rec in week.T.items():\n        x = rec[\"a\"]\n    for name, col in week.items():\n        y = col.sum()\n");
        assert!(rows(&site(&s, 4)).is_some());
        assert!(rows(&site(&s, 6)).is_none());
    }

    #[test]
    fn rows_of_a_summary() {
        let s = src("import pandas as pd\ndef f(df):\n    for _, row in df.iterrows():\n        x = row[\"a\"]\n    summary = df.groupby(\"k\").agg(n=(\"a\", \"count\"))\n    for name, r in summary.iterrows():\n        print(name, r[\"n\"])\n");
        assert!(rows(&site(&s, 3)).unwrap().confidence >= 0.9);
        assert!(rows(&site(&s, 6)).unwrap().confidence < 0.5);
    }

    /// A helper making pandas calls on one row's values, called from a loop over a DataFrame's rows: rowwise,
    /// at the loop. Near misses: the same helper called from a loop over a plain list; a helper doing no pandas
    /// call.
    #[test]
    fn pandas_calls_in_a_row_helper() {
        let s = src("import pandas as pd\ndef minutes(row):\n    start = pd.to_datetime(row.start)\n    return start.minute\ndef label(row):\n    return row.name.upper()\ndef run(df, items, book):\n    out = []\n    for row in df.itertuples(index=False):\n        out.append(minutes(row))\n        out.append(label(row))\n        out.append(price(book, row.when))\n    for it in items:\n        out.append(minutes(it))\ndef price(book, when):\n    return book.series.asof(when)\n");
        let h = rows(&site(&s, 3).called_from(&[10])).unwrap();
        assert_eq!(h.at, Some((0, 10)));
        assert!(rows(&site(&s, 3).called_from(&[14])).is_none());
        assert!(rows(&site(&s, 6).called_from(&[11])).is_none());
        assert!(rows(&site(&s, 16).called_from(&[12])).is_none());
    }

    #[test]
    fn row_wise() {
        let s = src(CODE);
        assert!(rows(&site(&s, 4)).is_some());
        assert!(rows(&site(&s, 5)).is_some());
        assert!(rows(&site(&s, 7)).is_some());
        // Near miss: a column operation.
        assert!(rows(&site(&s, 8)).is_none());
        let plain = src("def f(rows):\n    for r in rows:\n        r.apply()\n");
        assert!(rows(&site(&plain, 3)).is_none());
    }
}
