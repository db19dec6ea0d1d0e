//! The scoring rules (articles 21-23), as pure functions: what an entry does to a case's
//! score and status, and which threshold events it sets off.

use serde::Serialize;
use utoipa::ToSchema;

use super::points::HalfPoints;

crate::text_enum! {
    /// Where a transformation case stands.
    pub enum CaseStatus {
        /// Under management; the score is at or above the low threshold.
        Active = "active",
        /// The score is below the low threshold: a committee matter is open or was.
        BelowThreshold = "below_threshold",
        /// The score has reached the evaluation threshold: the committee may schedule a
        /// democratic evaluation.
        EvaluationDue = "evaluation_due",
        /// A democratic evaluation is scheduled and not closed yet.
        UnderEvaluation = "under_evaluation",
        /// Ended: returned to the original branch, removed, or otherwise.
        Concluded = "concluded",
    }
}

crate::text_enum! {
    /// What an entry in the ledger is for.
    pub enum EntryKind {
        /// A task completed: + one step (art. 21).
        TaskCompleted = "task_completed",
        /// A task not completed: - one step (art. 21).
        TaskNotCompleted = "task_not_completed",
        /// An absence from a meeting or activity: - one step (art. 22).
        Absence = "absence",
        /// A committee correction, with a reason.
        Correction = "correction",
        /// The reversal of one earlier entry (committee; or an upheld objection).
        Reversal = "reversal",
    }
}

impl EntryKind {
    /// Whether only the committee may write this kind.
    pub fn is_committee_adjustment(self) -> bool {
        matches!(self, EntryKind::Correction | EntryKind::Reversal)
    }
}

/// The part of a town's policy the score follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rules {
    /// The score a case opens with.
    pub base: HalfPoints,
    /// One task or one absence.
    pub step: HalfPoints,
    /// Below this, a committee matter opens.
    pub low: HalfPoints,
    /// At or above this, an evaluation becomes due.
    pub evaluation: HalfPoints,
    /// Whether tasks and attendance still move the score once an evaluation is due.
    pub score_moves_after_due: bool,
}

impl Default for Rules {
    /// The rules as written: base 5, step 0.5, below 3, at 15.
    fn default() -> Rules {
        Rules {
            base: HalfPoints(10),
            step: HalfPoints(1),
            low: HalfPoints(6),
            evaluation: HalfPoints(30),
            score_moves_after_due: true,
        }
    }
}

/// What the scoring rules need to know of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseState {
    /// The score now: the base plus the sum of the ledger.
    pub score: HalfPoints,
    /// Whether the score has reached the evaluation threshold (once set, it stays).
    pub due: bool,
    /// Whether an evaluation is scheduled and open.
    pub under_evaluation: bool,
    /// Whether the case has ended.
    pub concluded: bool,
}

impl CaseState {
    /// A case just opened.
    pub fn opened(rules: &Rules) -> CaseState {
        CaseState {
            score: rules.base,
            due: false,
            under_evaluation: false,
            concluded: false,
        }
    }

    /// The status the case reads as.
    pub fn status(&self, rules: &Rules) -> CaseStatus {
        if self.concluded {
            CaseStatus::Concluded
        } else if self.under_evaluation {
            CaseStatus::UnderEvaluation
        } else if self.score < rules.low {
            CaseStatus::BelowThreshold
        } else if self.due {
            CaseStatus::EvaluationDue
        } else {
            CaseStatus::Active
        }
    }
}

/// What crossing a threshold sets off, in the same transaction as the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The score went from at-or-above the low threshold to below it: a committee matter opens.
    MatterOpened,
    /// The score reached the evaluation threshold for the first time: an evaluation is due.
    EvaluationDue,
}

/// Why an entry cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The case has ended.
    Concluded,
    /// By policy, tasks and attendance no longer move the score once an evaluation is due.
    Frozen,
}

/// Applies an entry of `delta` to a case: the new state and the threshold events.
pub fn apply(
    state: CaseState,
    delta: HalfPoints,
    kind: EntryKind,
    rules: &Rules,
) -> Result<(CaseState, Vec<Effect>), Refusal> {
    if state.concluded {
        return Err(Refusal::Concluded);
    }
    if !rules.score_moves_after_due
        && (state.due || state.under_evaluation)
        && !kind.is_committee_adjustment()
    {
        return Err(Refusal::Frozen);
    }
    let score = state.score + delta;
    let mut effects = Vec::new();
    if state.score >= rules.low && score < rules.low {
        effects.push(Effect::MatterOpened);
    }
    let mut due = state.due;
    if !due && score >= rules.evaluation {
        due = true;
        effects.push(Effect::EvaluationDue);
    }
    Ok((
        CaseState {
            score,
            due,
            ..state
        },
        effects,
    ))
}

/// The amount an entry of `kind` carries under `rules`; corrections and reversals carry
/// their own.
pub fn standard_delta(kind: EntryKind, rules: &Rules) -> Option<HalfPoints> {
    match kind {
        EntryKind::TaskCompleted => Some(rules.step),
        EntryKind::TaskNotCompleted | EntryKind::Absence => Some(-rules.step),
        EntryKind::Correction | EntryKind::Reversal => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn the_rules_as_written() {
        let r = rules();
        assert_eq!(
            standard_delta(EntryKind::TaskCompleted, &r),
            Some(HalfPoints(1))
        );
        assert_eq!(
            standard_delta(EntryKind::TaskNotCompleted, &r),
            Some(HalfPoints(-1))
        );
        assert_eq!(standard_delta(EntryKind::Absence, &r), Some(HalfPoints(-1)));
        let opened = CaseState::opened(&r);
        assert_eq!(opened.score, HalfPoints(10));
        assert_eq!(opened.status(&r), CaseStatus::Active);
    }

    #[test]
    fn going_below_three_opens_one_matter_per_crossing() {
        let r = rules();
        let mut s = CaseState {
            score: HalfPoints(6),
            ..CaseState::opened(&r)
        };
        let (next, effects) = apply(s, HalfPoints(-1), EntryKind::Absence, &r).unwrap();
        assert_eq!(effects, [Effect::MatterOpened], "3 -> 2.5 crosses");
        assert_eq!(next.status(&r), CaseStatus::BelowThreshold);
        let (next, effects) = apply(next, HalfPoints(-1), EntryKind::Absence, &r).unwrap();
        assert!(effects.is_empty(), "2.5 -> 2 stays below: no second matter");
        s = next;
        let (back, effects) = apply(s, HalfPoints(2), EntryKind::Correction, &r).unwrap();
        assert!(effects.is_empty());
        assert_eq!(
            back.status(&r),
            CaseStatus::Active,
            "exactly 3 is not below 3"
        );
        let (_, effects) = apply(back, HalfPoints(-1), EntryKind::Absence, &r).unwrap();
        assert_eq!(
            effects,
            [Effect::MatterOpened],
            "a new crossing, a new matter"
        );
    }

    #[test]
    fn reaching_fifteen_makes_an_evaluation_due_once() {
        let r = rules();
        let s = CaseState {
            score: HalfPoints(29),
            ..CaseState::opened(&r)
        };
        let (due, effects) = apply(s, HalfPoints(1), EntryKind::TaskCompleted, &r).unwrap();
        assert_eq!(effects, [Effect::EvaluationDue]);
        assert_eq!(due.status(&r), CaseStatus::EvaluationDue);
        let (down, _) = apply(due, HalfPoints(-1), EntryKind::Absence, &r).unwrap();
        let (_, effects) = apply(down, HalfPoints(1), EntryKind::TaskCompleted, &r).unwrap();
        assert!(effects.is_empty(), "only the first time counts");
    }

    #[test]
    fn a_frozen_score_still_takes_committee_adjustments() {
        let r = Rules {
            score_moves_after_due: false,
            ..rules()
        };
        let due = CaseState {
            score: HalfPoints(30),
            due: true,
            ..CaseState::opened(&r)
        };
        assert_eq!(
            apply(due, HalfPoints(1), EntryKind::TaskCompleted, &r),
            Err(Refusal::Frozen)
        );
        assert!(apply(due, HalfPoints(-2), EntryKind::Correction, &r).is_ok());
        let concluded = CaseState {
            concluded: true,
            ..due
        };
        assert_eq!(
            apply(concluded, HalfPoints(-2), EntryKind::Correction, &r),
            Err(Refusal::Concluded)
        );
    }

    /// One step of a random history.
    #[derive(Debug, Clone)]
    enum Op {
        Entry(EntryKind, i32),
        Reverse(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Entry(EntryKind::TaskCompleted, 1)),
            3 => Just(Op::Entry(EntryKind::TaskNotCompleted, -1)),
            3 => Just(Op::Entry(EntryKind::Absence, -1)),
            1 => (-6i32..=6).prop_filter("nonzero", |d| *d != 0).prop_map(|d| Op::Entry(EntryKind::Correction, d)),
            2 => (0usize..64).prop_map(Op::Reverse),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The incremental rules agree, after every step, with a model that recomputes
        /// everything from the whole ledger: score = base + sum, one matter per downward
        /// crossing of the low threshold, due from the first time 15 is reached.
        #[test]
        fn incremental_scoring_matches_recomputing_from_the_ledger(ops in proptest::collection::vec(op(), 1..120)) {
            let r = rules();
            let mut state = CaseState::opened(&r);
            let mut ledger: Vec<i32> = Vec::new();
            let mut reversed: Vec<bool> = Vec::new();
            let mut matters = 0usize;
            let mut due_events = 0usize;
            for op in ops {
                let (kind, delta) = match op {
                    Op::Entry(kind, d) => (kind, d),
                    Op::Reverse(i) => {
                        // Only an existing, not yet reversed, non-reversal entry can be reversed.
                        let Some(i) = (!ledger.is_empty()).then(|| i % ledger.len()) else { continue };
                        if reversed[i] { continue; }
                        reversed[i] = true;
                        (EntryKind::Reversal, -ledger[i])
                    }
                };
                let (next, effects) = apply(state, HalfPoints(delta), kind, &r).unwrap();
                ledger.push(delta);
                reversed.push(kind == EntryKind::Reversal);
                matters += effects.iter().filter(|e| **e == Effect::MatterOpened).count();
                due_events += effects.iter().filter(|e| **e == Effect::EvaluationDue).count();
                state = next;

                // The model: replay the ledger from the base.
                let mut score = r.base.0;
                let mut model_matters = 0;
                let mut model_due = false;
                for d in &ledger {
                    let before = score;
                    score += d;
                    if before >= r.low.0 && score < r.low.0 { model_matters += 1; }
                    if score >= r.evaluation.0 { model_due = true; }
                }
                prop_assert_eq!(state.score.0, score);
                prop_assert_eq!(state.score.0, r.base.0 + ledger.iter().sum::<i32>());
                prop_assert_eq!(matters, model_matters);
                prop_assert_eq!(state.due, model_due);
                prop_assert_eq!(due_events, usize::from(model_due));
                let expected = if score < r.low.0 { CaseStatus::BelowThreshold }
                    else if model_due { CaseStatus::EvaluationDue } else { CaseStatus::Active };
                prop_assert_eq!(state.status(&r), expected);
            }
        }
    }
}
