//! Writing a batch of entries, in the caller's transaction, with a fixed handful of
//! statements whatever its size: the cases are locked in one statement (in id order, so
//! concurrent batches cannot deadlock), the rules are applied in memory in the order
//! given, and the entries, the cases' new states, the committee matters and the audit
//! records are each written by one set-based statement.

use std::collections::HashMap;

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, CaseState, Effect, EntryKind, Rules};
use super::{LedgerEntry, NewEntry, Outcome, SourceType, Written, repo};
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::Policy;

/// A town's ledger under the policy read when it was opened: the rules every entry of the
/// transaction is scored by.
#[derive(Debug, Clone)]
pub struct Ledger {
    town: Uuid,
    policy: Policy,
}

impl Ledger {
    /// Reads the town's current policy (one statement).
    pub async fn open(conn: &mut PgConnection, town: Uuid) -> Result<Ledger, ApiError> {
        let policy = crate::policy::current(conn, town).await?;
        Ok(Ledger { town, policy })
    }

    /// The policy the entries are scored under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// An entry of one policy step (a task's outcome, an absence): up for a completed
    /// task, down otherwise.
    pub fn step(
        &self,
        case_id: Uuid,
        kind: EntryKind,
        source: (SourceType, Uuid),
    ) -> Result<NewEntry, ApiError> {
        let points = domain::standard_delta(kind, &self.policy.rules())
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
    /// entry, in that order. 404 when the town has no case of an entry.
    pub async fn write(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Outcome>, ApiError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let town = self.town;
        let rules = self.policy.rules();
        let mut case_ids: Vec<Uuid> = entries.iter().map(|e| e.case_id).collect();
        case_ids.sort();
        case_ids.dedup();
        let mut states = repo::lock_cases(conn, town, &case_ids).await?;
        if states.len() != case_ids.len() {
            return Err(ApiError::NotFound);
        }
        let plan = plan(&mut states, &entries, &rules);

        let to_write: Vec<&NewEntry> = entries
            .iter()
            .zip(&plan)
            .filter(|(_, p)| p.is_ok())
            .map(|(e, _)| e)
            .collect();
        if to_write.is_empty() {
            return Ok(plan
                .into_iter()
                .filter_map(Result::err)
                .map(Outcome::Refused)
                .collect());
        }
        let ids: Vec<Uuid> = to_write.iter().map(|_| Uuid::now_v7()).collect();
        let rows =
            repo::insert_entries(conn, caller, town, self.policy.version, &ids, &to_write).await?;
        let mut by_id: HashMap<Uuid, LedgerEntry> = rows.into_iter().map(|r| (r.id, r)).collect();

        // The final state of each case an entry was written to, one row per case.
        let mut touched: Vec<Uuid> = to_write.iter().map(|e| e.case_id).collect();
        touched.sort();
        touched.dedup();
        let statuses: Vec<String> = touched
            .iter()
            .map(|c| states[c].status(&rules).as_str().to_owned())
            .collect();
        let due: Vec<bool> = touched.iter().map(|c| states[c].due).collect();
        repo::update_cases(conn, town, &touched, &statuses, &due).await?;

        let mut ids = ids.into_iter();
        let mut outcomes = Vec::with_capacity(plan.len());
        for planned in plan {
            let outcome = match planned {
                Err(why) => Outcome::Refused(why),
                Ok((next, effects)) => {
                    let id = ids
                        .next()
                        .ok_or_else(|| anyhow::anyhow!("fewer ids than entries to write"))?;
                    let entry = by_id
                        .remove(&id)
                        .ok_or_else(|| anyhow::anyhow!("inserted entry {id} not returned"))?;
                    debug_assert_eq!(
                        entry.score_after, next.score,
                        "the database and the rules agree"
                    );
                    Outcome::Written(Written {
                        entry,
                        status: next.status(&rules),
                        effects,
                    })
                }
            };
            outcomes.push(outcome);
        }
        record_effects(conn, caller, town, &outcomes).await?;
        Ok(outcomes)
    }

    /// Writes one entry; a refusal is the client's 409 (see [`Outcome::written`]).
    pub async fn write_one(
        &self,
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
}

/// Writes entries under the town's current policy (see [`Ledger::write`]).
pub async fn write(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    entries: Vec<NewEntry>,
) -> Result<Vec<Outcome>, ApiError> {
    Ledger::open(conn, town)
        .await?
        .write(conn, caller, entries)
        .await
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

/// The committee matters and the audit records of the written entries, set-based.
async fn record_effects(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    outcomes: &[Outcome],
) -> Result<(), ApiError> {
    let written: Vec<&Written> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Written(w) => Some(w),
            Outcome::Refused(_) => None,
        })
        .collect();
    let opened: Vec<&LedgerEntry> = written
        .iter()
        .filter(|w| w.effects.contains(&Effect::MatterOpened))
        .map(|w| &w.entry)
        .collect();
    let matter_ids: Vec<Uuid> = opened.iter().map(|_| Uuid::now_v7()).collect();
    if !opened.is_empty() {
        repo::insert_matters(conn, town, &matter_ids, &opened).await?;
    }
    // One audit record per entry, plus one per threshold event: the change feed reads them.
    let mut actions = Vec::new();
    let mut resources = Vec::new();
    let mut data = Vec::new();
    let mut matters = matter_ids.iter();
    for w in written {
        let e = &w.entry;
        actions.push("ledger.entry_added".to_owned());
        resources.push(e.case_id);
        data.push(json!({
            "entry_id": e.id, "seq": e.seq, "kind": e.kind, "points": e.points,
            "score_after": e.score_after, "policy_version": e.policy_version,
        }));
        for effect in &w.effects {
            match effect {
                Effect::MatterOpened => {
                    actions.push("case.threshold_low".to_owned());
                    resources.push(e.case_id);
                    data.push(json!({ "matter_id": matters.next(), "entry_id": e.id, "score": e.score_after }));
                }
                Effect::EvaluationDue => {
                    actions.push("case.evaluation_due".to_owned());
                    resources.push(e.case_id);
                    data.push(json!({ "entry_id": e.id, "score": e.score_after }));
                }
            }
        }
    }
    audit::record_many(conn, caller, town, "case", &actions, &resources, &data).await
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
