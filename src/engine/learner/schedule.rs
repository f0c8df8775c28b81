//! How long a step trains and how its knobs move: the mask scale s, the learning rate, and when
//! to stop.
//!
//! - **Cycles of updates, not epochs.** HAT anneals s from 1/s_max to s_max over an epoch, which
//!   assumes a long epoch. A classroom step has a handful of batches an epoch, so s would restart
//!   every few updates and a quarter of all updates would run with every mask near 0.5. Here s
//!   anneals over a cycle of `period` updates, whatever the epoch's length; with `period` = the
//!   batches of an epoch it is the paper's schedule exactly (a long epoch keeps its formula).
//! - **The learning rate** follows a cosine over the step's longest length (as before).
//! - **Stop when learned.** At the end of each cycle (s at s_max: the masks are as binary as they
//!   get, the network closest to what pruning keeps) the cycle's mean classification loss is
//!   compared with the best cycle's so far. When it fell by less than [`PLATEAU`] of it, the loss
//!   has stopped falling and the step ends, after at least [`MIN_CYCLES`] cycles and never past
//!   the longest length.

use super::iteration::cosine;
use crate::engine::config::LearnerConfig;
use crate::engine::gate::mask_scale;

/// A cycle whose mean loss improves on the best by less than this fraction is a plateau.
pub const PLATEAU: f32 = 0.05;
/// Cycles a step always runs before the stopping rule may end it.
pub const MIN_CYCLES: usize = 3;

/// One step's schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSchedule {
    /// The longest the step trains.
    pub max_updates: usize,
    /// Updates per anneal of s (≥ 1).
    pub period: usize,
    /// Whether the stopping rule may end the step before `max_updates`.
    pub stop_when_learned: bool,
    /// The learning rate's cosine restarts with each cycle (only with the stopping rule).
    pub learning_rate_per_cycle: bool,
    pub base_learning_rate: f64,
    pub s_max: f32,
}

impl StepSchedule {
    /// The schedule of a step of `batches` batches an epoch under `config`: as long as the
    /// epochs or the update floor make it, s annealed over `mask_period` updates (0: an epoch),
    /// and the stopping rule on when the floor sets the length (a step given a number of
    /// epochs trains them all).
    pub fn for_step(config: &LearnerConfig, batches: usize) -> Self {
        let batches = batches.max(1);
        let max_updates = (config.epochs_for(batches) * batches).max(1);
        let period = match config.mask_period {
            0 => batches,
            p => p.min(max_updates),
        };
        let stop_when_learned =
            config.stop_when_learned && config.min_updates > config.epochs * batches;
        Self {
            max_updates,
            period,
            stop_when_learned,
            learning_rate_per_cycle: stop_when_learned && config.learning_rate_per_cycle,
            base_learning_rate: config.learning_rate,
            s_max: config.s_max,
        }
    }

    pub fn mask_scale(&self, update: usize) -> f32 {
        mask_scale(update % self.period, self.period, self.s_max)
    }

    pub fn learning_rate(&self, update: usize) -> f64 {
        if self.learning_rate_per_cycle {
            cosine(self.base_learning_rate, update % self.period, self.period)
        } else {
            cosine(self.base_learning_rate, update, self.max_updates.max(1))
        }
    }

    /// Whether update `update` (0-based) closes a cycle.
    pub fn closes_cycle(&self, update: usize) -> bool {
        (update + 1).is_multiple_of(self.period)
    }
}

/// The stopping rule's memory: the best cycle's mean loss.
#[derive(Clone, Debug, Default)]
pub struct Plateau {
    best: Option<f32>,
    cycles: usize,
}

impl Plateau {
    /// Closes a cycle whose mean classification loss was `mean`: whether the loss has stopped
    /// falling.
    pub fn close_cycle(&mut self, mean: f32) -> bool {
        self.cycles += 1;
        let stalled = self.best.is_some_and(|best| mean > best * (1.0 - PLATEAU));
        self.best = Some(self.best.map_or(mean, |b| b.min(mean)));
        stalled && self.cycles >= MIN_CYCLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(period: usize) -> StepSchedule {
        StepSchedule {
            max_updates: 500,
            period,
            stop_when_learned: true,
            learning_rate_per_cycle: false,
            base_learning_rate: 0.05,
            s_max: 100.0,
        }
    }

    #[test]
    fn s_anneals_over_each_cycle_of_updates_not_each_epoch() {
        let s = schedule(50);
        assert!((s.mask_scale(0) - 0.01).abs() < 1e-6);
        assert_eq!(s.mask_scale(49), 100.0);
        assert!(
            (s.mask_scale(50) - 0.01).abs() < 1e-6,
            "a new cycle starts low"
        );
        // Half the updates of a cycle run with s above s_max / 2, whatever the epoch's length.
        let high = (0..500).filter(|&u| s.mask_scale(u) > 50.0).count();
        assert_eq!(high, 250);
        assert!(s.closes_cycle(49) && s.closes_cycle(99) && !s.closes_cycle(50));
        // A period of an epoch is the paper's schedule.
        assert_eq!(schedule(4).mask_scale(3), mask_scale(3, 4, 100.0));
    }

    #[test]
    fn the_learning_rate_falls_as_a_cosine_over_the_longest_length() {
        let s = schedule(50);
        assert_eq!(s.learning_rate(0), 0.05);
        assert!((s.learning_rate(250) - 0.025).abs() < 1e-9);
        assert!(s.learning_rate(499) < 1e-5);
    }

    #[test]
    fn a_learning_rate_per_cycle_ends_every_cycle_near_zero_and_restarts() {
        let s = StepSchedule {
            learning_rate_per_cycle: true,
            ..schedule(50)
        };
        assert_eq!(s.learning_rate(0), 0.05);
        assert!((s.learning_rate(25) - 0.025).abs() < 1e-9);
        for end in [49, 99, 149, 499] {
            assert!(s.learning_rate(end) < 1e-4, "update {end} closes a cycle");
        }
        assert_eq!(
            s.learning_rate(150),
            0.05,
            "a new cycle starts at the base rate"
        );
    }

    #[test]
    fn the_learning_rate_restarts_only_where_the_stopping_rule_can_end_a_step() {
        let config = LearnerConfig {
            learning_rate_per_cycle: true,
            ..LearnerConfig::default()
        };
        // 4 batches an epoch: the update floor sets the length, the rule is on.
        assert!(StepSchedule::for_step(&config, 4).learning_rate_per_cycle);
        // A step given its epochs trains them all: one cosine over them.
        let epochs = LearnerConfig {
            min_updates: 0,
            epochs: 3,
            ..config
        };
        assert!(!StepSchedule::for_step(&epochs, 4).learning_rate_per_cycle);
    }

    #[test]
    fn a_plateau_stops_only_after_the_minimum_and_only_when_the_loss_stalls() {
        let cycle = |p: &mut Plateau, loss: f32| p.close_cycle(loss);
        // Falling fast: never stops.
        let mut p = Plateau::default();
        assert!(
            [2.0, 1.0, 0.5, 0.25, 0.12]
                .iter()
                .all(|&l| !cycle(&mut p, l))
        );
        // Stalled from the second cycle: not before the third.
        let mut p = Plateau::default();
        assert!(!cycle(&mut p, 1.0));
        assert!(!cycle(&mut p, 0.99), "two cycles are below the minimum");
        assert!(
            cycle(&mut p, 0.98),
            "third cycle, 2% better than the best: stalled"
        );
        // A rise after a fall is a plateau too.
        let mut p = Plateau::default();
        assert!(!cycle(&mut p, 1.0));
        assert!(!cycle(&mut p, 0.5));
        assert!(cycle(&mut p, 0.6));
    }
}
