//! Class-incremental metrics: the accuracy matrix and what is derived from it.

use serde::{Deserialize, Serialize};

/// `rows[i][j]`: accuracy (0–1) on the test images of step j's classes after learning step i
/// (j ≤ i). `seen[i]`: accuracy on every class seen after step i.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyMatrix {
    pub rows: Vec<Vec<f32>>,
    pub seen: Vec<f32>,
}

impl AccuracyMatrix {
    /// Adds the row for the newest step from its predictions.
    ///
    /// `task_of(label)` is the step a test label belongs to; `pairs` are (true, predicted).
    pub fn push_step(
        &mut self,
        steps: usize,
        pairs: &[(usize, usize)],
        task_of: impl Fn(usize) -> usize,
    ) {
        let mut correct = vec![0usize; steps];
        let mut total = vec![0usize; steps];
        for &(truth, predicted) in pairs {
            let task = task_of(truth);
            total[task] += 1;
            correct[task] += usize::from(truth == predicted);
        }
        let row = (0..steps)
            .map(|t| {
                if total[t] == 0 {
                    0.0
                } else {
                    correct[t] as f32 / total[t] as f32
                }
            })
            .collect();
        let all: usize = total.iter().sum();
        let right: usize = correct.iter().sum();
        self.rows.push(row);
        self.seen.push(if all == 0 {
            0.0
        } else {
            right as f32 / all as f32
        });
    }

    /// Mean over steps of the accuracy on all classes seen.
    pub fn average_incremental_accuracy(&self) -> f32 {
        if self.seen.is_empty() {
            return 0.0;
        }
        self.seen.iter().sum::<f32>() / self.seen.len() as f32
    }

    pub fn last_accuracy(&self) -> f32 {
        self.seen.last().copied().unwrap_or(0.0)
    }

    /// Mean over old tasks of (best accuracy before the last step − accuracy after it).
    pub fn forgetting(&self) -> f32 {
        let Some(last) = self.rows.last() else {
            return 0.0;
        };
        let old_tasks = self.rows.len() - 1;
        if old_tasks == 0 {
            return 0.0;
        }
        let total: f32 = (0..old_tasks)
            .map(|j| {
                let best = self.rows[j..self.rows.len() - 1]
                    .iter()
                    .map(|row| row[j])
                    .fold(f32::MIN, f32::max);
                best - last[j]
            })
            .sum();
        total / old_tasks as f32
    }
}

/// Counts of (true, predicted) pairs: `matrix[truth][predicted]` over `classes` labels.
pub fn confusion(pairs: &[(usize, usize)], classes: usize) -> Vec<Vec<usize>> {
    let mut matrix = vec![vec![0; classes]; classes];
    for &(t, p) in pairs {
        if t < classes && p < classes {
            matrix[t][p] += 1;
        }
    }
    matrix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_metrics_match_a_hand_computed_example() {
        // Two classes per task; labels 0,1 → task 0; 2,3 → task 1; 4,5 → task 2.
        let task_of = |l: usize| l / 2;
        let mut m = AccuracyMatrix::default();
        // Step 0: 4 test images of task 0, 3 right.
        m.push_step(1, &[(0, 0), (0, 0), (1, 1), (1, 0)], task_of);
        // Step 1: task 0 2/4 right, task 1 4/4 right.
        m.push_step(
            2,
            &[
                (0, 0),
                (0, 2),
                (1, 1),
                (1, 3),
                (2, 2),
                (2, 2),
                (3, 3),
                (3, 3),
            ],
            task_of,
        );
        // Step 2: task 0 1/4, task 1 3/4, task 2 2/2.
        m.push_step(
            3,
            &[
                (0, 0),
                (0, 4),
                (1, 5),
                (1, 3),
                (2, 2),
                (2, 2),
                (3, 3),
                (3, 0),
                (4, 4),
                (5, 5),
            ],
            task_of,
        );
        assert_eq!(
            m.rows,
            vec![vec![0.75], vec![0.5, 1.0], vec![0.25, 0.75, 1.0]]
        );
        assert_eq!(m.seen, vec![0.75, 0.75, 0.6]);
        assert!((m.average_incremental_accuracy() - 0.7).abs() < 1e-6);
        assert!((m.last_accuracy() - 0.6).abs() < 1e-6);
        // Forgetting: task 0 best 0.75 → 0.25 (0.5); task 1 best 1.0 → 0.75 (0.25); mean 0.375.
        assert!((m.forgetting() - 0.375).abs() < 1e-6);
    }

    #[test]
    fn confusion_counts_pairs() {
        let c = confusion(&[(0, 0), (0, 1), (1, 1), (1, 1)], 2);
        assert_eq!(c, vec![vec![1, 1], vec![0, 2]]);
    }
}
