//! Writing a batch of entries, in the caller's transaction, with a fixed handful of
//! statements whatever its size: the rules are read and the cases locked in one statement
//! (in id order, so concurrent batches cannot deadlock), the rules are applied in memory
//! in the order given, which tells each entry exactly as it will be stored (its id, `seq`,
//! score after and time are all known under the locks), the entries and their audit
//! records are written by one set-based statement, and the committee matters and the
//! cases whose status changed by one each, only when there are any. An adjustment in the
//! steady state is two statements: the lock, and the entry with its record and the
//! request's stored answer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, CaseState, CaseStatus, Effect, EntryKind, Rules};
use super::{LedgerEntry, NewEntry, Outcome, Scoring, SourceType, Written, repo};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::idempotency::{Answer, Record, Slot, Stored};

/// A town's ledger with the cases a transaction writes to locked, under the rules read
/// with the lock: every entry of the transaction is scored by them.
#[derive(Debug, Clone)]
pub struct Ledger {
    town: Uuid,
    scoring: Scoring,
    /// The transaction's time: when its entries are recorded.
    now: DateTime<Utc>,
    held: HashMap<Uuid, repo::Held>,
}

impl Ledger {
    /// Reads the town's current scoring rules and locks `cases` (in id order, so
    /// concurrent batches cannot deadlock), in one statement; 404 when the town lacks one
    /// of them. Every entry written through this ledger must be for one of `cases`.
    pub async fn lock(
        conn: &mut PgConnection,
        town: Uuid,
        cases: impl IntoIterator<Item = Uuid>,
    ) -> Result<Ledger, ApiError> {
        let mut asked: Vec<Uuid> = cases.into_iter().collect();
        asked.sort();
        asked.dedup();
        let (scoring, now, held) = repo::lock_cases(conn, town, &asked).await?;
        if held.len() != asked.len() {
            return Err(ApiError::NotFound);
        }
        Ok(Ledger {
            town,
            scoring,
            now,
            held,
        })
    }

    /// The rules the entries are scored by.
    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    /// An entry of one policy step (a task's outcome, an absence): up for a completed
    /// task, down otherwise.
    pub fn step(
        &self,
        case_id: Uuid,
        kind: EntryKind,
        source: (SourceType, Uuid),
    ) -> Result<NewEntry, ApiError> {
        let points = domain::standard_delta(kind, &self.scoring.rules)
            .ok_or_else(|| anyhow::anyhow!("{kind} carries its own amount, not a step"))?;
        Ok(NewEntry {
            case_id,
            kind,
            points,
            source: Some(source),
            reverses: None,
            reason: None,
        })
    }

    /// Writes the entries the rules allow, in the order given, and answers one outcome per
    /// entry, in that order.
    pub async fn write(
        &mut self,
        conn: &mut PgConnection,
        caller: &Caller,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Outcome>, ApiError> {
        let outcomes = self.predict(caller, entries)?;
        self.record(conn, caller, &outcomes, None).await?;
        Ok(outcomes)
    }

    /// Writes one entry; a refusal is the client's 409 (see [`Outcome::written`]).
    pub async fn write_one(
        &mut self,
        conn: &mut PgConnection,
        caller: &Caller,
        entry: NewEntry,
    ) -> Result<Written, ApiError> {
        self.write(conn, caller, vec![entry])
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("the ledger answered no outcome for one entry"))?
            .written()
    }

    /// Writes one entry and, with the same statement, stores in `slot` the answer that
    /// `answer` makes of it, so that the request's transaction holds the case's lock for
    /// one round trip less; a refusal is the client's 409, and nothing is written.
    pub async fn write_one_answered(
        &mut self,
        conn: &mut PgConnection,
        caller: &Caller,
        entry: NewEntry,
        (slot, answer): (Slot, impl FnOnce(Written) -> Result<Answer, ApiError>),
    ) -> Result<Stored, ApiError> {
        let written = self
            .predict(caller, vec![entry])?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("the ledger planned no outcome for one entry"))?
            .written()?;
        let (record, stored) = slot.record(answer(written.clone())?);
        let to_store = record.as_ref().map(|r| (r, stored.answer()));
        self.record(conn, caller, &[Outcome::Written(written)], to_store)
            .await?;
        Ok(stored)
    }

    /// Applies the rules to the entries in order and tells each outcome, a written entry
    /// exactly as it will be stored; the held cases move along with the written ones.
    fn predict(
        &mut self,
        caller: &Caller,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Outcome>, ApiError> {
        let rules = self.scoring.rules;
        let mut states = HashMap::with_capacity(self.held.len());
        for e in &entries {
            let held = self
                .held
                .get(&e.case_id)
                .ok_or_else(|| anyhow::anyhow!("case {} was not locked", e.case_id))?;
            states.insert(e.case_id, held.state);
        }
        let planned = plan(&mut states, &entries, &rules);
        let mut outcomes = Vec::with_capacity(entries.len());
        for (e, planned) in entries.into_iter().zip(planned) {
            let (next, effects) = match planned {
                Err(why) => {
                    outcomes.push(Outcome::Refused(why));
                    continue;
                }
                Ok(planned) => planned,
            };
            let held = self
                .held
                .get_mut(&e.case_id)
                .ok_or_else(|| anyhow::anyhow!("case {} not held", e.case_id))?;
            held.state = next;
            held.entries += 1;
            let entry = LedgerEntry {
                id: Uuid::now_v7(),
                case_id: e.case_id,
                seq: held.entries,
                points: e.points,
                kind: e.kind,
                source_type: e.source.map(|(t, _)| t),
                source_id: e.source.map(|(_, id)| id),
                reverses_entry_id: e.reverses,
                reason: e.reason,
                recorded_by: caller.sub.clone(),
                recorded_role: caller.role.as_str().to_owned(),
                recorded_at: self.now,
                policy_version: self.scoring.version,
                score_after: next.score,
            };
            outcomes.push(Outcome::Written(Written {
                entry,
                status: next.status(&rules),
                effects,
            }));
        }
        Ok(outcomes)
    }

    /// Writes the planned entries with their records (and `answer`, if given), checks
    /// that the database placed each as planned, and then updates the cases whose status
    /// or due mark changed and opens the committee matters.
    async fn record(
        &mut self,
        conn: &mut PgConnection,
        caller: &Caller,
        outcomes: &[Outcome],
        answer: Option<(&Record, &Answer)>,
    ) -> Result<(), ApiError> {
        let written: Vec<&Written> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Written(w) => Some(w),
                Outcome::Refused(_) => None,
            })
            .collect();
        if written.is_empty() && answer.is_none() {
            return Ok(());
        }
        let (followers, matter_ids) = followers(&written);
        let entries: Vec<&LedgerEntry> = written.iter().map(|w| &w.entry).collect();
        let placed =
            repo::insert_entries(conn, caller, self.town, &entries, &followers, answer).await?;
        let planned: Vec<repo::Placed> = entries
            .iter()
            .map(|e| (e.id, e.seq, e.score_after.0))
            .collect();
        if placed != planned {
            // The answer was built from the plan: it must not commit if the two disagree.
            return Err(anyhow::anyhow!(
                "the ledger's trigger placed {placed:?} where the rules planned {planned:?}"
            )
            .into());
        }

        // The cases whose status or due mark the written entries changed, one row per
        // case; the entries' trigger has already moved their scores.
        let rules = self.scoring.rules;
        let mut changed: Vec<(Uuid, CaseStatus, bool)> = Vec::new();
        for e in &entries {
            let held = self
                .held
                .get_mut(&e.case_id)
                .ok_or_else(|| anyhow::anyhow!("case {} not held", e.case_id))?;
            // An update keeps a due mark once set (see `repo::update_cases`).
            let (status, due) = (held.state.status(&rules), held.state.due);
            if status != held.stored.0 || (due && !held.stored.1) {
                changed.push((e.case_id, status, due));
                held.stored = (status, due || held.stored.1);
            }
        }
        changed.sort_by_key(|c| c.0);
        if !changed.is_empty() {
            let ids: Vec<Uuid> = changed.iter().map(|c| c.0).collect();
            let statuses: Vec<String> = changed.iter().map(|c| c.1.as_str().to_owned()).collect();
            let due: Vec<bool> = changed.iter().map(|c| c.2).collect();
            repo::update_cases(conn, self.town, &ids, &statuses, &due).await?;
        }

        let opened: Vec<&LedgerEntry> = written
            .iter()
            .filter(|w| w.effects.contains(&Effect::MatterOpened))
            .map(|w| &w.entry)
            .collect();
        if !opened.is_empty() {
            repo::insert_matters(conn, self.town, &matter_ids, &opened).await?;
        }
        Ok(())
    }
}

/// Ends an evaluation that did not pass (failed, or cancelled): the case is no longer
/// under evaluation, and its status follows from its score under the current rules, due
/// again unless `restart` starts the count afresh (the caller has then written the
/// correction back to the base, so reaching the threshold again counts again). A case no
/// longer under evaluation is left as it is.
pub async fn end_evaluation(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    restart: bool,
) -> Result<(), ApiError> {
    let Some(locked) = repo::lock_case(conn, town, case).await? else {
        return Ok(());
    };
    if !locked.state.under_evaluation || locked.state.concluded {
        return Ok(());
    }
    let rules = crate::policy::current(conn, town).await?.rules();
    let after = CaseState {
        under_evaluation: false,
        due: !restart,
        ..locked.state
    };
    repo::end_evaluation(conn, town, case, after.status(&rules), restart).await
}

type Planned = Result<(CaseState, Vec<Effect>), domain::Refusal>;

/// Applies the rules to each entry in order, moving `states` along; a refused entry
/// leaves its case as it was.
fn plan(
    states: &mut HashMap<Uuid, CaseState>,
    entries: &[NewEntry],
    rules: &Rules,
) -> Vec<Planned> {
    entries
        .iter()
        .map(|e| {
            let state = states[&e.case_id];
            let planned = domain::apply(state, e.points, e.kind, rules);
            if let Ok((next, _)) = &planned {
                states.insert(e.case_id, *next);
            }
            planned
        })
        .collect()
}

/// The audit records that follow the written entries (one per threshold crossed, the
/// change feed reads them), and the ids of the committee matters they open, in the order
/// of the entries.
fn followers(written: &[&Written]) -> (Vec<repo::Follower>, Vec<Uuid>) {
    let mut followers = Vec::new();
    let mut matters = Vec::new();
    for (n, w) in written.iter().enumerate() {
        let (id, score) = (w.entry.id, w.entry.score_after);
        for effect in &w.effects {
            let (action, data) = match effect {
                Effect::MatterOpened => {
                    let matter = Uuid::now_v7();
                    matters.push(matter);
                    let data = json!({ "matter_id": matter, "entry_id": id, "score": score });
                    ("case.threshold_low", data)
                }
                Effect::EvaluationDue => (
                    "case.evaluation_due",
                    json!({ "entry_id": id, "score": score }),
                ),
            };
            followers.push(repo::Follower {
                entry: n as i64 + 1,
                action,
                case_id: w.entry.case_id,
                data,
            });
        }
    }
    (followers, matters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::points::HalfPoints;

    fn entry(case_id: Uuid, kind: EntryKind, points: i32) -> NewEntry {
        NewEntry {
            case_id,
            kind,
            points: HalfPoints(points),
            source: None,
            reverses: None,
            reason: None,
        }
    }

    #[test]
    fn a_batch_is_planned_in_order_and_a_refusal_leaves_its_case_as_it_was() {
        let rules = Rules {
            score_moves_after_due: false,
            ..Rules::default()
        };
        let (open, due) = (Uuid::now_v7(), Uuid::now_v7());
        let mut states = HashMap::from([
            (open, CaseState::opened(&rules)),
            (
                due,
                CaseState {
                    score: HalfPoints(30),
                    due: true,
                    ..CaseState::opened(&rules)
                },
            ),
        ]);
        let planned = plan(
            &mut states,
            &[
                entry(open, EntryKind::Absence, -1),
                entry(due, EntryKind::Absence, -1),
                entry(open, EntryKind::Absence, -1),
                entry(due, EntryKind::Correction, -2),
            ],
            &rules,
        );
        assert_eq!(planned[0].as_ref().unwrap().0.score, HalfPoints(9));
        assert_eq!(planned[1], Err(domain::Refusal::Frozen));
        assert_eq!(planned[2].as_ref().unwrap().0.score, HalfPoints(8));
        assert_eq!(planned[3].as_ref().unwrap().0.score, HalfPoints(28));
        assert_eq!(states[&open].score, HalfPoints(8));
        assert_eq!(states[&due].score, HalfPoints(28));
    }
}
