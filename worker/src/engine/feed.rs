//! The plan's data set (`data.file` / `data.csv` rows) at run time: a [`DataFeed`] hands rows to
//! users, in order (one cursor shared by every user, wrapping at the end) or at random, and puts
//! a row's values into the user's variables. It never panics: an empty data set hands out nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contract::plan::{DataOrder, DataPer};
use rand::Rng;

use super::template::{VarId, Vars};

/// The rows of a data set and the shared cursor over them.
#[derive(Debug)]
pub struct DataFeed {
    pub columns: Vec<VarId>,
    pub rows: Vec<Vec<Arc<str>>>,
    pub order: DataOrder,
    pub per: DataPer,
    /// The next row in sequential order; always below `rows.len()` (or 0).
    cursor: AtomicUsize,
}

impl DataFeed {
    pub fn new(
        columns: Vec<VarId>,
        rows: Vec<Vec<Arc<str>>>,
        order: DataOrder,
        per: DataPer,
    ) -> DataFeed {
        DataFeed {
            columns,
            rows,
            order,
            per,
            cursor: AtomicUsize::new(0),
        }
    }

    /// The index of the next row, or `None` when there are no rows.
    fn next_index<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<usize> {
        let len = self.rows.len();
        if len == 0 {
            return None;
        }
        Some(match self.order {
            DataOrder::Sequential => {
                // The cursor stays in 0..len, so it can never overflow.
                let step = |c: usize| Some(if c.saturating_add(1) >= len { 0 } else { c + 1 });
                match self
                    .cursor
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, step)
                {
                    Ok(i) | Err(i) => i % len,
                }
            }
            DataOrder::Random => rng.random_range(0..len),
        })
    }

    /// Puts the next row's values into `vars`.
    pub fn next_into<R: Rng + ?Sized>(&self, vars: &mut Vars, rng: &mut R) {
        let Some(i) = self.next_index(rng) else {
            return;
        };
        for (id, value) in self.columns.iter().zip(&self.rows[i]) {
            vars.set(*id, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::template::VarTable;

    fn feed(rows: &[&str], order: DataOrder) -> (DataFeed, VarTable) {
        let mut table = VarTable::default();
        let column = table.id("u");
        let rows = rows.iter().map(|r| vec![Arc::from(*r)]).collect();
        (
            DataFeed::new(vec![column], rows, order, DataPer::User),
            table,
        )
    }

    fn take(feed: &DataFeed, table: &VarTable, n: usize) -> Vec<String> {
        let mut rng = rand::rng();
        (0..n)
            .map(|_| {
                let mut vars = table.vars();
                feed.next_into(&mut vars, &mut rng);
                vars.get(feed.columns[0])
                    .map_or("-".to_string(), |v| v.to_string())
            })
            .collect()
    }

    #[test]
    fn sequential_rows_wrap_around() {
        let (f, table) = feed(&["a", "b", "c"], DataOrder::Sequential);
        assert_eq!(take(&f, &table, 7), ["a", "b", "c", "a", "b", "c", "a"]);
        // The cursor never leaves the rows, so it cannot overflow however long the run.
        assert_eq!(f.cursor.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_cursor_at_the_end_of_usize_wraps_without_panicking() {
        let (f, table) = feed(&["a", "b"], DataOrder::Sequential);
        f.cursor.store(usize::MAX, Ordering::Relaxed);
        let got = take(&f, &table, 3);
        assert_eq!(got.len(), 3);
        assert_eq!(&got[1..], ["a", "b"]);
    }

    #[test]
    fn random_rows_stay_in_range_and_empty_sets_hand_out_nothing() {
        let (f, table) = feed(&["a", "b"], DataOrder::Random);
        assert!(take(&f, &table, 50).iter().all(|v| v == "a" || v == "b"));
        for order in [DataOrder::Sequential, DataOrder::Random] {
            let (f, table) = feed(&[], order);
            assert_eq!(take(&f, &table, 2), ["-", "-"]);
        }
    }
}
