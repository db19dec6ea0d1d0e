//! Endpoint tests: the real HTTP server on a real PostgreSQL (one cluster per run, one
//! fresh database per test).

mod activities;
mod applicants;
mod auth;
mod branches;
mod calendar;
mod cases;
mod certificates;
mod cohorts;
mod confidential;
mod county;
mod desk;
mod errors;
mod evaluations;
mod events;
mod exports;
mod failover;
mod fixtures;
mod hardening;
mod helpers;
mod ledger_check;
mod ledger_model;
mod materials;
mod meetings;
mod members;
mod mentorships;
mod metrics;
mod operations;
mod replicas;
mod reports;
mod supervision;
mod tasks;
mod towns;
mod transfers;
mod workflows;
