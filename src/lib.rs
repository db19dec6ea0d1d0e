//! party-center: a REST/JSON service for a rural town's Party Member Service &
//! Transformation Center (党员服务转化中心).
//!
//! `startup` builds the HTTP application; each part of the domain lives in its own
//! folder (`towns`, `branches`, ...) with `domain.rs` (pure rules), `repo.rs` (SQL) and
//! its routes in `mod.rs`.

#![warn(missing_docs)]

pub mod activities;
pub mod applicants;
pub mod audit;
pub mod auth;
pub mod branches;
pub mod calendar;
pub mod cases;
pub mod certificates;
pub mod cohorts;
pub mod config;
pub mod db;
pub mod desk;
pub mod error;
pub mod evaluations;
pub mod events;
pub mod http;
pub mod materials;
pub mod me;
pub mod meetings;
pub mod members;
pub mod mentorships;
pub mod openapi;
pub mod pg;
pub mod policy;
pub mod reports;
pub mod scores;
pub mod startup;
pub mod tasks;
pub mod telemetry;
pub mod text_enum;
pub mod towns;
pub mod transfers;
pub mod types;
pub mod validate;
