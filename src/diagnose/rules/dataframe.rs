//! `rowwise_dataframe`: `iterrows` / `itertuples` / `apply(axis=1)` where column operations would do.

use super::common::{hit, loops_text, method};
use super::{Hit, Site};

/// A loop over a DataFrame's rows, a row-wise `apply`, or per-row `.loc`/`.at` indexing in a loop.
pub fn rows(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let pandas = s.src.mentions("pandas") || s.callee(|n| n.starts_with("pandas")).is_some();
    if !pandas {
        return None;
    }
    let df_loop = ctx.loops.iter().any(|l| {
        l.iter.contains(".iterrows()")
            || l.iter.contains(".itertuples(")
            || l.iter.ends_with(".index")
            || l.iter.contains("range(len(df")
    });
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
    let row_work = s
        .callee(|n| {
            n.contains("iterrows")
                || n.contains("itertuples")
                || n.contains("pandas.core.apply")
                || n.contains("pandas.core.indexing")
                || n.contains("pandas.core.series.__getitem__")
        })
        .is_some();
    let repeats = s.in_loop() || s.repeated();
    if !(df_loop || axis1 || df_call || (repeats && (df_index || row_work))) {
        return None;
    }
    let conf = if df_loop || axis1 {
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
