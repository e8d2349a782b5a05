//! The ordered stage, in the calling thread: the workers' results back in file order; reject lines numbered and
//! streamed, repeated order ids dropped (their counts taken back), and the reader's wrong guessed cuts corrected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use indicatif::ProgressBar;

use super::dims::Dimensions;
use super::fast::FxTable;
use super::input::Block;
use super::quotes;
use super::totals::{Corrections, Customers, Partial, Seen};
use super::worker::{process, Output};
use super::{PipelineOptions, RejectSink, Summary};
use crate::{Error, Result};

/// The ordered stage: blocks in file order; numbers reject lines, drops repeated order ids.
///
/// The reader guesses where blocks end (`quotes::likely_record_end`). A block read from a true record start
/// proves its guess right or wrong: wrong when its last record is still inside a quoted field at its end
/// (`Output::unfinished`). Then the next block was read from inside that field: its counts are taken back
/// (as a duplicate's are), and the stretch from the unfinished record to that block's end is read again here,
/// from the true start (rare: the guess wants a good record after the cut).
pub(super) struct Ordered<'a> {
    pub opts: &'a PipelineOptions,
    pub files: &'a [PathBuf],
    pub bar: &'a ProgressBar,
    /// The workers' results, in the order they finish.
    pub done_rx: Receiver<(usize, Block, Result<Output>)>,
    /// Block buffers and outputs go back to the reader and the workers.
    pub pool_tx: &'a Sender<Vec<u8>>,
    pub spare_tx: &'a Sender<Output>,
    /// Bytes the reader has read so far (the progress bar).
    pub read_bytes: &'a AtomicU64,
    /// What a re-read block is processed with, as a worker would.
    pub dims: &'a Dimensions,
    pub fx: &'a FxTable,
    pub customers: &'a Customers<'a>,
}

impl Ordered<'_> {
    /// Takes every block's result in file order: counts into `s`, duplicates and taken-back counts into
    /// `corrections`, blocks read again into `again`, each reject to `on_reject`.
    pub fn run(
        self,
        s: &mut Summary,
        corrections: &mut Corrections,
        again: &mut Partial,
        on_reject: &mut RejectSink<'_>,
    ) -> Result<()> {
        let Ordered {
            opts,
            files,
            bar,
            done_rx,
            pool_tx,
            spare_tx,
            read_bytes,
            dims,
            fx,
            customers,
        } = self;
        let mut pending = BTreeMap::new();
        let mut want = 0;
        let mut line_base = 0u64;
        let mut current_file = usize::MAX;
        let mut seen = Seen::default();
        // The unfinished record of the previous block: where it starts in the file, and its bytes.
        let mut carry: Option<(u64, Vec<u8>)> = None;
        while let Ok((seq, block, out)) = done_rx.recv() {
            if opts
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return Err(Error::Interrupted);
            }
            // An error (a bad header) waits for its turn too: with several files, the one reported must not depend
            // on which worker finished first.
            pending.insert(seq, (block, out));
            while let Some((block, out)) = pending.remove(&want) {
                let out = out?;
                want += 1;
                if block.file != current_file {
                    current_file = block.file;
                    line_base = 0;
                }
                s.bytes_read += block.len as u64;
                // The previous block's cut was wrong, so this block was read from inside a quoted field: its counts
                // are taken back, and it is read again from the unfinished record on. (A file's last block is never
                // cut by a guess, so a carry never crosses files.)
                let (joined, out) = match carry.take() {
                    None => (None, out),
                    Some((offset, mut bytes)) => {
                        for v in &out.valid {
                            corrections.take_back(v);
                        }
                        let _ = spare_tx.try_send(out);
                        s.rereads += 1;
                        bytes.extend_from_slice(block.bytes());
                        if !block.last && quotes::end_of_open_record(block.bytes()).is_none() {
                            // The unfinished record goes on past this block too (a quote that never closes, or a
                            // long quoted field): keep its bytes and read it once its end has come, not once per
                            // block (that was quadratic).
                            carry = Some((offset, bytes));
                            let _ = pool_tx.send(block.data);
                            continue;
                        }
                        let joined = Block {
                            file: block.file,
                            offset,
                            len: bytes.len(),
                            data: bytes,
                            map: None,
                            first: false,
                            last: block.last,
                        };
                        let mut o = Output::default();
                        s.reread_bytes += joined.len as u64;
                        process(
                            &joined,
                            &files[block.file],
                            dims,
                            fx,
                            &mut o,
                            again,
                            customers,
                        )?;
                        (Some(joined), o)
                    }
                };
                let counted = joined.as_ref().unwrap_or(&block);
                s.rows_read += out.rows;
                for r in &out.rejects {
                    let (line, offset) = (line_base + r.line + 1, counted.offset + r.offset);
                    s.rejected += 1;
                    *s.rejected_by_kind
                        .entry(r.kind.name().to_string())
                        .or_default() += 1;
                    if opts.fail_fast {
                        return Err(Error::BadInput {
                            path: files[block.file].clone(),
                            line,
                            offset,
                            message: format!(
                                "{} in column '{}': {}",
                                r.kind.name(),
                                r.column,
                                String::from_utf8_lossy(&r.raw)
                            ),
                        });
                    }
                    on_reject(&files[block.file], line, offset, r)?;
                }
                line_base += out.newlines;
                for v in &out.valid {
                    if seen.test_and_set(v.order_id) {
                        corrections.add(v);
                    }
                }
                if let Some(u) = out.unfinished {
                    carry = Some((counted.offset + u as u64, counted.bytes()[u..].to_vec()));
                }
                bar.set_position(read_bytes.load(Ordering::Relaxed));
                if !bar.is_hidden() {
                    bar.set_message(format!("{} rows", s.rows_read));
                }
                let _ = pool_tx.send(block.data);
                let _ = spare_tx.try_send(out);
            }
        }
        Ok(())
    }
}
