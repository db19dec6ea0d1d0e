//! Branches (支部): pure types and rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// What kind of branch: a village's, an enterprise's, a government organ's, the
    /// center's own (exactly one per town), or another.
    pub enum BranchKind {
        /// A village branch (村支部).
        Village = "village",
        /// A branch in an enterprise, public or not (企业支部).
        Enterprise = "enterprise",
        /// A branch of a government organ (机关支部).
        Organ = "organ",
        /// The center branch (服务转化中心支部): one per town, made with the town.
        Center = "center",
        /// Any other branch.
        Other = "other",
    }
}

/// A branch of a town.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Branch {
    /// The branch's id, the `{branch}` in its paths.
    pub id: Uuid,
    /// The town it belongs to.
    pub town_id: Uuid,
    /// Its name, unique in the town.
    #[schema(example = "新村党支部")]
    pub name: String,
    /// What kind of branch it is; `center` for the center branch only.
    pub kind: BranchKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A branch to create (committee, admin). The center branch exists already: `center`
/// is refused here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBranch {
    /// Name, 1 to 100 characters, not blank, unique in the town.
    #[schema(example = "新村党支部")]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// Kind: any but `center`.
    pub kind: BranchKind,
}

/// A change to a branch; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchPatch {
    /// The branch's new name, unique in the town.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: Option<String>,
    /// The new kind; the center branch keeps its kind, and no other becomes `center`.
    #[serde(default)]
    pub kind: Option<BranchKind>,
}

fn center_is_unique() -> ApiError {
    ApiError::conflict(
        "center_branch_exists",
        msg!(
            "每个镇只有一个服务转化中心支部，它随镇一起建立。",
            "A town has exactly one center branch, created with the town."
        ),
    )
}

impl NewBranch {
    /// Checks the fields; a new branch is never the center branch.
    pub fn validate(&self) -> Result<NewBranch, ApiError> {
        let mut c = Checks::new();
        let name = c.text("name", &self.name, 1, 100);
        c.finish()?;
        if self.kind == BranchKind::Center {
            return Err(center_is_unique());
        }
        Ok(NewBranch {
            name,
            kind: self.kind,
        })
    }
}

impl BranchPatch {
    /// Checks the patch against the branch's current kind.
    pub fn validate(&self, current: BranchKind) -> Result<BranchPatch, ApiError> {
        let mut c = Checks::new();
        let name = self.name.as_deref().map(|n| c.text("name", n, 1, 100));
        c.finish()?;
        match (current, self.kind) {
            (BranchKind::Center, Some(kind)) if kind != BranchKind::Center => {
                return Err(ApiError::conflict(
                    "center_branch_is_permanent",
                    msg!(
                        "服务转化中心支部的类型不能更改。",
                        "The center branch cannot change its kind."
                    ),
                ));
            }
            (k, Some(BranchKind::Center)) if k != BranchKind::Center => {
                return Err(center_is_unique());
            }
            _ => {}
        }
        Ok(BranchPatch {
            name,
            kind: self.kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_branch_can_be_created_as_the_center() {
        let e = NewBranch {
            name: "x".into(),
            kind: BranchKind::Center,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.code(), "center_branch_exists");
    }

    #[test]
    fn the_center_keeps_its_kind_and_no_other_branch_takes_it() {
        let to = |kind| BranchPatch {
            name: None,
            kind: Some(kind),
        };
        assert_eq!(
            to(BranchKind::Village)
                .validate(BranchKind::Center)
                .unwrap_err()
                .code(),
            "center_branch_is_permanent"
        );
        assert_eq!(
            to(BranchKind::Center)
                .validate(BranchKind::Village)
                .unwrap_err()
                .code(),
            "center_branch_exists"
        );
        assert!(to(BranchKind::Center).validate(BranchKind::Center).is_ok());
        assert!(to(BranchKind::Organ).validate(BranchKind::Village).is_ok());
    }

    #[test]
    fn kinds_round_trip_as_snake_case_text() {
        for kind in BranchKind::ALL {
            assert_eq!(kind.as_str().parse::<BranchKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
