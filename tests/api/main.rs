//! Endpoint tests: the real HTTP server on a real PostgreSQL (one cluster per run, one
//! fresh database per test).

mod auth;
mod branches;
mod certificates;
mod desk;
mod errors;
mod helpers;
mod members;
mod operations;
mod towns;
mod transfers;
