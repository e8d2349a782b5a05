//! Profile ingestion, views, exports and diffs (cProfile/pstats, py-spy raw and speedscope, folded stacks).
