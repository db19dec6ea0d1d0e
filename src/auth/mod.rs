//! Who is calling: bearer JWTs, roles, and the extractor every handler starts with.
//!
//! Deny by default: a handler gets a caller only through [`Auth`], whose const parameter
//! lists the roles it admits; any other role is a 403. Town scoping is a second, explicit
//! step ([`Caller::town`]) that answers 404 for a town the caller may not see.

mod keys;

use std::collections::HashSet;
use std::future::{Ready, ready};
use std::sync::{LazyLock, RwLock};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

pub use keys::{DevKey, KeyStore, MintRequest};

use crate::error::{ApiError, AuthFailure};

/// A caller's role, from the token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Center workers: desk, attendance, tasks, mentoring logs, members.
    Staff,
    /// The town party committee: intake, cohorts, corrections, dispositions, evaluations.
    Committee,
    /// A party member through a mobile app: their own record only.
    Member,
    /// A county-level system: reads the towns of its county.
    County,
    /// Set-up of towns and branches, across towns.
    Admin,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Role::Staff,
        Role::Committee,
        Role::Member,
        Role::County,
        Role::Admin,
    ];

    /// The role's bit in a [`Auth`] role set.
    pub const fn bit(self) -> u8 {
        match self {
            Role::Staff => roles::STAFF,
            Role::Committee => roles::COMMITTEE,
            Role::Member => roles::MEMBER,
            Role::County => roles::COUNTY,
            Role::Admin => roles::ADMIN,
        }
    }

    /// The claim value, e.g. `committee`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Committee => "committee",
            Role::Member => "member",
            Role::County => "county",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role `{s}`: one of staff, committee, member, county, admin")
            })
    }
}

/// Role sets for [`Auth`]: combine with `|`, e.g. `Auth<{ roles::COMMITTEE | roles::ADMIN }>`.
pub mod roles {
    /// Center staff.
    pub const STAFF: u8 = 1;
    /// The town party committee.
    pub const COMMITTEE: u8 = 2;
    /// A party member (their own records only).
    pub const MEMBER: u8 = 4;
    /// A county-level reader.
    pub const COUNTY: u8 = 8;
    /// Set-up across towns.
    pub const ADMIN: u8 = 16;
    /// Every role.
    pub const ANY: u8 = STAFF | COMMITTEE | MEMBER | COUNTY | ADMIN;

    /// The codes of the roles in the set `roles`, in this order.
    pub fn names(roles: u8) -> Vec<&'static str> {
        [
            (STAFF, "staff"),
            (COMMITTEE, "committee"),
            (MEMBER, "member"),
            (COUNTY, "county"),
            (ADMIN, "admin"),
        ]
        .into_iter()
        .filter(|(bit, _)| roles & bit != 0)
        .map(|(_, name)| name)
        .collect()
    }
}

/// What part of the world a caller's token covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Staff and committee: one town.
    Town(Uuid),
    /// A member: one town, and their own member record in it.
    Member {
        /// The town the member belongs to; the only town they may read.
        town: Uuid,
        /// The member's own record.
        member_id: Uuid,
    },
    /// A county system: every town whose county code matches.
    County(String),
    /// An administrator: every town.
    Global,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's subject: who is acting (recorded in the audit trail, never logged).
    pub sub: String,
    /// The role the token grants, which decides what the caller may do.
    pub role: Role,
    /// What the token covers.
    pub scope: Scope,
    /// The request's id, recorded with every change the caller makes.
    pub request_id: Option<String>,
}

impl Caller {
    /// Checks that the caller may see `town` and that it exists; 404 otherwise, so that
    /// another town's existence is never revealed.
    pub async fn town(&self, db: &PgPool, town: Uuid) -> Result<Uuid, ApiError> {
        let visible = match &self.scope {
            Scope::Town(t) | Scope::Member { town: t, .. } => {
                *t == town && town_exists(db, town).await?
            }
            Scope::County(county) => crate::towns::repo::is_in_county(db, town, county).await?,
            Scope::Global => town_exists(db, town).await?,
        };
        if visible {
            Ok(town)
        } else {
            Err(ApiError::NotFound)
        }
    }
}

/// Whether `town` exists. Towns are never deleted (the database refuses it:
/// `towns_never_deleted`), so a town once seen is remembered for the life of the process
/// and costs no round trip again; an unknown id is asked every time (it may be created
/// meanwhile). Ids are UUID v7, unique across databases, so one set serves every pool.
async fn town_exists(db: &PgPool, town: Uuid) -> Result<bool, ApiError> {
    static KNOWN: LazyLock<RwLock<HashSet<Uuid>>> = LazyLock::new(RwLock::default);
    if KNOWN.read().is_ok_and(|known| known.contains(&town)) {
        return Ok(true);
    }
    let exists = crate::towns::repo::exists(db, town).await?;
    if exists && let Ok(mut known) = KNOWN.write() {
        known.insert(town);
    }
    Ok(exists)
}

/// The extractor that authenticates a request and admits only the roles in `ROLES`
/// (a bit set of [`roles`]). 401 without a valid token, 403 for any other role.
#[derive(Debug, Clone)]
pub struct Auth<const ROLES: u8>(pub Caller);

impl<const ROLES: u8> std::ops::Deref for Auth<ROLES> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<const ROLES: u8> FromRequest for Auth<ROLES> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|caller| {
            if caller.role.bit() & ROLES == 0 {
                return Err(ApiError::RoleNotAllowed {
                    allowed: roles::names(ROLES),
                });
            }
            Ok(Auth(caller))
        }))
    }
}

/// Reads and verifies the bearer token of a request (once; the result is kept in the
/// request's extensions for the access log).
fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some(caller) = req.extensions().get::<Caller>() {
        return Ok(caller.clone());
    }
    let keys = req
        .app_data::<web::Data<KeyStore>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no KeyStore in app data")))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized(AuthFailure::Malformed))?;
    let mut caller = keys.verify(token).map_err(ApiError::Unauthorized)?;
    caller.request_id = req
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|id| id.0.clone());
    req.extensions_mut().insert(caller.clone());
    Ok(caller)
}
