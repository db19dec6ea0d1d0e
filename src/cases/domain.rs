//! Transformation cases (转化档案): pure types.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use utoipa::PartialSchema;
use utoipa::openapi::schema::{Discriminator, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

use crate::scores::LedgerEntry;
use crate::scores::domain::CaseStatus;
use crate::scores::points::{HalfPoints, NonZeroPoints};

crate::text_enum! {
    /// How a case ended.
    pub enum Conclusion {
        /// A passed evaluation: the relation went back to the original branch.
        Returned = "returned",
        /// Removal from the party, by a committee disposition.
        Removed = "removed",
        /// Ended otherwise.
        Other = "other",
    }
}

crate::text_enum! {
    /// What the committee decided on a case whose score fell below the low threshold (art. 23).
    pub enum Disposition {
        /// A heart-to-heart talk (谈心谈话).
        Talk = "talk",
        /// A deadline to correct (限期改正).
        Deadline = "deadline",
        /// Persuasion to leave the party (劝退).
        PersuadeToLeave = "persuade_to_leave",
        /// Removal from the party (除名): ends the case and the membership.
        Removal = "removal",
        /// Anything else, as the note says.
        Other = "other",
    }
}

/// A transformation case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    /// The case's id (UUID); tasks refer to it as `case_id`.
    pub id: Uuid,
    /// The town the case belongs to.
    pub town_id: Uuid,
    /// The member under transformation.
    pub member_id: Uuid,
    /// The branch the member came from, and goes back to after a passed evaluation.
    pub original_branch_id: Uuid,
    /// The transfer that moved the member's relation into the center branch.
    pub intake_transfer_id: Uuid,
    /// Why the committee took the member in.
    pub reason: String,
    /// The day of the committee's decision (town calendar date).
    pub opened_on: NaiveDate,
    /// Who recorded it (token subject).
    pub opened_by: String,
    /// The policy version in force when it opened.
    pub policy_version: i32,
    /// The base score it opened with.
    pub base_score: HalfPoints,
    /// The score: always the base plus the sum of the ledger.
    pub score: HalfPoints,
    /// Where it stands.
    pub status: CaseStatus,
    /// When the score first reached the evaluation threshold.
    pub evaluation_due_at: Option<DateTime<Utc>>,
    /// How many ledger entries it has.
    pub entries_count: i32,
    /// The day it ended (town calendar date).
    pub concluded_on: Option<NaiveDate>,
    /// How it ended.
    pub conclusion: Option<Conclusion>,
    /// When the case was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed (its score, status or conclusion).
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// Taking a member in for transformation (committee, art. 20).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The member, active in a branch of the town other than the center.
    pub member_id: Uuid,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The date of the committee's decision (not in the future); default today.
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub decided_on: Option<NaiveDate>,
}

crate::text_enum! {
    /// What a committee adjustment does: the `kind` that tags an [`Adjustment`].
    pub enum AdjustmentKind {
        /// Adds any amount but zero (`points`), with a reason.
        Correction = "correction",
        /// Undoes one earlier entry (`entry_id`), once, with a reason.
        Reversal = "reversal",
    }
}

/// A committee adjustment of a case's score, tagged by `kind`: a correction or the
/// reversal of one entry, always with a reason. A body with the fields of the other kind,
/// or without its own, is refused when it is read (422 `unknown_field`, `required`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "AdjustmentFields", into = "AdjustmentFields")]
pub enum Adjustment {
    /// `kind: correction`.
    Correction(Correction),
    /// `kind: reversal`.
    Reversal(Reversal),
}

/// A committee correction: adds any amount but zero to the score.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The points to add (negative: take away), in steps of 0.5, not 0.
    pub points: NonZeroPoints,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A committee reversal: undoes one earlier entry of the case, once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    /// The entry to reverse (a reversal itself cannot be reversed).
    pub entry_id: Uuid,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl Adjustment {
    /// Why the committee adjusts.
    pub fn reason(&self) -> &str {
        match self {
            Adjustment::Correction(c) => &c.reason,
            Adjustment::Reversal(r) => &r.reason,
        }
    }
}

/// An adjustment as sent: the fields of either kind. Read first, so that a field of the
/// wrong type is named by its path; then [`Adjustment`] is made of it, or refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustmentFields {
    kind: AdjustmentKind,
    #[serde(default, deserialize_with = "present")]
    points: Option<NonZeroPoints>,
    #[serde(default, deserialize_with = "present")]
    entry_id: Option<Uuid>,
    reason: String,
}

impl TryFrom<AdjustmentFields> for Adjustment {
    type Error = serde::de::value::Error;

    fn try_from(f: AdjustmentFields) -> Result<Adjustment, Self::Error> {
        use serde::de::Error as _;
        let reason = f.reason;
        match (f.kind, f.points, f.entry_id) {
            (AdjustmentKind::Correction, Some(points), None) => {
                Ok(Adjustment::Correction(Correction { points, reason }))
            }
            (AdjustmentKind::Correction, None, _) => Err(Self::Error::missing_field("points")),
            (AdjustmentKind::Correction, Some(_), Some(_)) => Err(Self::Error::unknown_field(
                "entry_id",
                &["kind", "points", "reason"],
            )),
            (AdjustmentKind::Reversal, None, Some(entry_id)) => {
                Ok(Adjustment::Reversal(Reversal { entry_id, reason }))
            }
            (AdjustmentKind::Reversal, _, None) => Err(Self::Error::missing_field("entry_id")),
            (AdjustmentKind::Reversal, Some(_), Some(_)) => Err(Self::Error::unknown_field(
                "points",
                &["kind", "entry_id", "reason"],
            )),
        }
    }
}

impl From<Adjustment> for AdjustmentFields {
    fn from(a: Adjustment) -> AdjustmentFields {
        match a {
            Adjustment::Correction(c) => AdjustmentFields {
                kind: AdjustmentKind::Correction,
                points: Some(c.points),
                entry_id: None,
                reason: c.reason,
            },
            Adjustment::Reversal(r) => AdjustmentFields {
                kind: AdjustmentKind::Reversal,
                points: None,
                entry_id: Some(r.entry_id),
                reason: r.reason,
            },
        }
    }
}

impl PartialSchema for Adjustment {
    fn schema() -> RefOr<Schema> {
        tagged_union(
            "kind",
            "A committee adjustment of a case's score, by `kind`: a `correction` of any amount \
             but zero, or the `reversal` of one entry; always with a reason.",
            &[("correction", "Correction"), ("reversal", "Reversal")],
        )
    }
}

/// The tag of an adjustment, and what it says.
const KIND: (&str, &str) = ("kind", "What the adjustment does");

impl ToSchema for Adjustment {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(tagged_variant::<Correction>(
            "Correction",
            KIND,
            &["correction"],
        ));
        schemas.push(tagged_variant::<Reversal>("Reversal", KIND, &["reversal"]));
        Correction::schemas(schemas);
        Reversal::schemas(schemas);
    }
}

/// What an adjustment wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Adjusted {
    /// The entry written.
    pub entry: LedgerEntry,
    /// The case's status after it.
    pub status: CaseStatus,
}

/// A committee matter: opened when the score went below the low threshold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Matter {
    /// The matter's id, the `{matter}` in its paths.
    pub id: Uuid,
    /// The case whose score fell.
    pub case_id: Uuid,
    /// The entry whose score crossed the threshold.
    pub opened_by_entry_id: Uuid,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// The score then.
    pub score: HalfPoints,
    /// The committee's disposition, once decided.
    pub disposition: Option<Disposition>,
    /// The committee's note on its disposition (1 to 2000 characters); `null` until decided.
    pub disposition_note: Option<String>,
    /// For a deadline: by when.
    pub deadline: Option<NaiveDate>,
    /// Who decided (token subject).
    pub decided_by: Option<String>,
    /// When the committee decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// The committee's disposition of a matter (art. 23), tagged by `disposition`: a deadline
/// to correct carries its date, the others only the note. A date with another
/// disposition, or a deadline without one, is refused when it is read (422
/// `unknown_field`, `required`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "DispositionFields", into = "DispositionFields")]
pub enum NewDisposition {
    /// `disposition: deadline`.
    Deadline(DeadlineToCorrect),
    /// Any other `disposition`.
    Other(OtherDisposition),
}

/// A deadline to correct (限期改正).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineToCorrect {
    /// By when the member must correct: a date after today (town calendar date).
    #[schema(value_type = crate::types::CalendarDate)]
    pub deadline: NaiveDate,
    /// The committee's note, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// A disposition without a date: a talk, persuasion to leave, removal, or other.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherDisposition {
    /// What the committee decided (never `deadline`, which has its own shape).
    #[serde(skip)]
    pub disposition: Disposition,
    /// The committee's note, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

impl NewDisposition {
    /// What the committee decided.
    pub fn disposition(&self) -> Disposition {
        match self {
            NewDisposition::Deadline(_) => Disposition::Deadline,
            NewDisposition::Other(o) => o.disposition,
        }
    }

    /// The committee's note, as sent.
    pub fn note(&self) -> &str {
        match self {
            NewDisposition::Deadline(d) => &d.note,
            NewDisposition::Other(o) => &o.note,
        }
    }

    /// For a deadline to correct: by when.
    pub fn deadline(&self) -> Option<NaiveDate> {
        match self {
            NewDisposition::Deadline(d) => Some(d.deadline),
            NewDisposition::Other(_) => None,
        }
    }
}

/// A disposition as sent: see [`AdjustmentFields`] for why it is read in two steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DispositionFields {
    disposition: Disposition,
    note: String,
    #[serde(default, deserialize_with = "present")]
    deadline: Option<NaiveDate>,
}

impl TryFrom<DispositionFields> for NewDisposition {
    type Error = serde::de::value::Error;

    fn try_from(f: DispositionFields) -> Result<NewDisposition, Self::Error> {
        use serde::de::Error as _;
        let note = f.note;
        match (f.disposition, f.deadline) {
            (Disposition::Deadline, Some(deadline)) => {
                Ok(NewDisposition::Deadline(DeadlineToCorrect {
                    deadline,
                    note,
                }))
            }
            (Disposition::Deadline, None) => Err(Self::Error::missing_field("deadline")),
            (_, Some(_)) => Err(Self::Error::unknown_field(
                "deadline",
                &["disposition", "note"],
            )),
            (disposition, None) => Ok(NewDisposition::Other(OtherDisposition {
                disposition,
                note,
            })),
        }
    }
}

impl From<NewDisposition> for DispositionFields {
    fn from(d: NewDisposition) -> DispositionFields {
        DispositionFields {
            disposition: d.disposition(),
            deadline: d.deadline(),
            note: match d {
                NewDisposition::Deadline(d) => d.note,
                NewDisposition::Other(o) => o.note,
            },
        }
    }
}

impl PartialSchema for NewDisposition {
    fn schema() -> RefOr<Schema> {
        tagged_union(
            "disposition",
            "The committee's disposition of a matter, by `disposition`: a `deadline` to correct \
             carries its date; a `talk`, `persuade_to_leave`, `removal` or `other` only the note.",
            &[
                ("deadline", "DeadlineToCorrect"),
                ("talk", "OtherDisposition"),
                ("persuade_to_leave", "OtherDisposition"),
                ("removal", "OtherDisposition"),
                ("other", "OtherDisposition"),
            ],
        )
    }
}

/// The tag of a disposition, and what it says.
const DISPOSITION: (&str, &str) = ("disposition", "What the committee decided");

impl ToSchema for NewDisposition {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(tagged_variant::<DeadlineToCorrect>(
            "DeadlineToCorrect",
            DISPOSITION,
            &["deadline"],
        ));
        let others: Vec<&str> = Disposition::ALL
            .iter()
            .filter(|d| **d != Disposition::Deadline)
            .map(|d| d.as_str())
            .collect();
        schemas.push(tagged_variant::<OtherDisposition>(
            "OtherDisposition",
            DISPOSITION,
            &others,
        ));
    }
}

/// Reads an optional field that, when sent, must hold a value: `null` is refused like
/// any other value of the wrong type, as a schema without the field's `null` says.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A body of several shapes told apart by `tag`: one of the components named in
/// `variants` (by tag value), with the discriminator that says which.
fn tagged_union(tag: &str, description: &str, variants: &[(&str, &str)]) -> RefOr<Schema> {
    let mut names: Vec<&str> = variants.iter().map(|(_, name)| *name).collect();
    names.dedup();
    let mapping = variants
        .iter()
        .map(|(value, name)| (*value, format!("#/components/schemas/{name}")));
    let mut one_of = OneOfBuilder::new()
        .description(Some(description))
        .discriminator(Some(Discriminator::with_mapping(tag, mapping)));
    for name in names {
        one_of = one_of.item(Ref::from_schema_name(name));
    }
    one_of.into()
}

/// The component `name`: the fields of `T`, with `tag` first, required, holding one of
/// `values`; `what` says what the tag means.
fn tagged_variant<T: PartialSchema>(
    name: &str,
    (tag, what): (&str, &str),
    values: &[&str],
) -> (String, RefOr<Schema>) {
    let mut object = match T::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => Object::new(),
    };
    let tag_schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(format!("{what}: `{}`.", values.join("`, `"))));
    object
        .properties
        .shift_insert(0, tag.to_owned(), tag_schema.into());
    object.required.insert(0, tag.to_owned());
    (name.to_owned(), Schema::Object(object).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::http::extract::parse_json;
    use crate::scores::points::HalfPoints;

    fn refused<T: std::fmt::Debug + serde::de::DeserializeOwned>(body: &str) -> (String, String) {
        match parse_json::<T>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => {
                (errors[0].field.clone(), errors[0].code.to_owned())
            }
            other => panic!("{body}: expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn an_adjustment_is_a_correction_or_a_reversal_and_nothing_in_between() {
        let c: Adjustment =
            parse_json(br#"{"kind": "correction", "points": -1.5, "reason": "x"}"#).unwrap();
        assert!(
            matches!(c, Adjustment::Correction(Correction { points, .. }) if points.get() == HalfPoints(-3))
        );
        let id = Uuid::now_v7();
        let r: Adjustment = parse_json(
            format!(r#"{{"reason": "x", "entry_id": "{id}", "kind": "reversal"}}"#).as_bytes(),
        )
        .unwrap();
        assert!(matches!(r, Adjustment::Reversal(Reversal { entry_id, .. }) if entry_id == id));
        let field = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "correction", "reason": "x"}"#),
            field("points", "required")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "correction", "points": 0.25, "reason": "x"}"#),
            field("points", "invalid_type")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "correction", "points": 0, "reason": "x"}"#),
            field("points", "invalid_type")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "correction", "points": null, "reason": "x"}"#),
            field("points", "invalid_type")
        );
        assert_eq!(
            refused::<Adjustment>(&format!(
                r#"{{"kind": "correction", "points": 1, "entry_id": "{id}", "reason": "x"}}"#
            )),
            field("entry_id", "unknown_field")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "reversal", "points": 1, "reason": "x"}"#),
            field("entry_id", "required")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"kind": "undo", "reason": "x"}"#),
            field("kind", "invalid_type")
        );
        assert_eq!(
            refused::<Adjustment>(r#"{"points": 1, "reason": "x"}"#),
            field("kind", "required")
        );
        assert_eq!(
            refused::<Adjustment>(
                r#"{"kind": "correction", "points": 1, "reason": "x", "note": 1}"#
            ),
            field("note", "unknown_field")
        );
    }

    #[test]
    fn a_deadline_to_correct_has_its_date_and_nothing_else_has_one() {
        let d: NewDisposition =
            parse_json(br#"{"disposition": "deadline", "deadline": "2099-01-01", "note": "x"}"#)
                .unwrap();
        assert_eq!(d.disposition(), Disposition::Deadline);
        assert_eq!(d.deadline(), "2099-01-01".parse().ok());
        let t: NewDisposition = parse_json(br#"{"disposition": "removal", "note": "x"}"#).unwrap();
        assert_eq!(
            (t.disposition(), t.deadline(), t.note()),
            (Disposition::Removal, None, "x")
        );
        let field = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        assert_eq!(
            refused::<NewDisposition>(r#"{"disposition": "deadline", "note": "x"}"#),
            field("deadline", "required")
        );
        assert_eq!(
            refused::<NewDisposition>(
                r#"{"disposition": "talk", "deadline": "2099-01-01", "note": "x"}"#
            ),
            field("deadline", "unknown_field")
        );
    }

    #[test]
    fn the_schema_names_each_shape_and_the_tag_that_tells_them_apart() {
        let schema = serde_json::to_value(Adjustment::schema()).unwrap();
        assert_eq!(schema["discriminator"]["propertyName"], "kind");
        assert_eq!(schema["oneOf"][1]["$ref"], "#/components/schemas/Reversal");
        let mut parts = Vec::new();
        Adjustment::schemas(&mut parts);
        let correction = serde_json::to_value(&parts[0].1).unwrap();
        assert_eq!(parts[0].0, "Correction");
        assert_eq!(correction["required"][0], "kind");
        assert_eq!(correction["properties"]["kind"]["enum"][0], "correction");
        assert_eq!(correction["additionalProperties"], false);
        let mut parts = Vec::new();
        NewDisposition::schemas(&mut parts);
        let other = serde_json::to_value(&parts[1].1).unwrap();
        assert_eq!(
            other["properties"]["disposition"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        assert!(other["properties"].get("deadline").is_none());
    }
}
