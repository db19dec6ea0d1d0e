//! The servers a database URL names. As with libpq, a URL may list several hosts,
//! `postgres://user@db1:5432,db2:5432/party_center`, or give them in the `host` (and
//! `port`) parameter, `postgres://user@localhost/party_center?host=/run/a,/run/b`. sqlx
//! connects to one host only, so the URL is split here into one URL per server, in order,
//! and `target_session_attrs` is taken out and answered by the service itself.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

/// Which server of the list a pool wants (libpq's `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAttrs {
    /// One that accepts writes: `read-write` or `primary` (the default for `DATABASE_URL`).
    ReadWrite,
    /// One that does not accept writes: `read-only`, `standby`, `prefer-standby` (for
    /// `PARTY_CENTER_READ_DATABASE_URL`; reports fall back to the primary in any case).
    ReadOnly,
    /// Any that answers: `any`.
    Any,
}

/// The servers of one URL, in the order given, and what the URL asked of them.
#[derive(Debug, Clone)]
pub struct Targets {
    /// One set of connect options per server.
    pub nodes: Vec<PgConnectOptions>,
    /// The URL's `target_session_attrs`, if it gave one.
    pub attrs: Option<SessionAttrs>,
}

impl Targets {
    /// Splits and parses `url`; the error names what is wrong without repeating the URL
    /// (it may hold a password).
    pub fn parse(url: &str) -> Result<Targets, String> {
        let (urls, attrs) = split(url)?;
        let nodes = urls
            .iter()
            .map(|u| PgConnectOptions::from_str(u).map_err(|e| without_secrets(&e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Targets { nodes, attrs })
    }
}

/// sqlx's parse errors may quote the URL; keep only their first clause.
fn without_secrets(message: &str) -> String {
    let head = message.split(':').next().unwrap_or(message).trim();
    format!("not a valid PostgreSQL URL ({head})")
}

/// One URL per server, and the `target_session_attrs` asked for.
pub(crate) fn split(url: &str) -> Result<(Vec<String>, Option<SessionAttrs>), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("not a PostgreSQL URL: it must start with postgres:// or postgresql://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));

    let mut params = Vec::new();
    let (mut query_hosts, mut query_ports, mut attrs) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "host" => query_hosts = Some(value),
            "port" => query_ports = Some(value),
            "target_session_attrs" => attrs = Some(session_attrs(value)?),
            _ => params.push(pair),
        }
    }

    let authority_hosts: Vec<&str> = hosts.split(',').collect();
    let with = |extra: &[String], host: &str| {
        let mut all: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        all.extend_from_slice(extra);
        let query = if all.is_empty() {
            String::new()
        } else {
            format!("?{}", all.join("&"))
        };
        format!("{scheme}://{userinfo}{host}{path}{query}")
    };
    let urls = match query_hosts {
        Some(list) => {
            if authority_hosts.len() > 1 {
                return Err(
                    "give the servers either in the host list or in the host parameter, not both"
                        .into(),
                );
            }
            let list: Vec<&str> = list.split(',').collect();
            let ports = per_host(query_ports, list.len())?;
            list.iter()
                .zip(ports)
                .map(|(host, port)| {
                    let mut extra = vec![format!("host={host}")];
                    extra.extend(port.map(|p| format!("port={p}")));
                    with(&extra, authority_hosts[0])
                })
                .collect()
        }
        None => {
            if authority_hosts.iter().any(|h| h.is_empty()) && authority_hosts.len() > 1 {
                return Err("the host list has an empty entry".into());
            }
            let ports = per_host(query_ports, authority_hosts.len())?;
            authority_hosts
                .iter()
                .zip(ports)
                .map(|(host, port)| {
                    let extra: Vec<String> =
                        port.map(|p| format!("port={p}")).into_iter().collect();
                    with(&extra, host)
                })
                .collect()
        }
    };
    Ok((urls, attrs))
}

/// The `port` parameter spread over `n` hosts: one port for all, or one each.
fn per_host(ports: Option<&str>, n: usize) -> Result<Vec<Option<&str>>, String> {
    let Some(ports) = ports else {
        return Ok(vec![None; n]);
    };
    let ports: Vec<&str> = ports.split(',').collect();
    match ports.len() {
        1 => Ok(vec![Some(ports[0]); n]),
        m if m == n => Ok(ports.into_iter().map(Some).collect()),
        m => Err(format!(
            "the port parameter lists {m} ports for {n} servers; give one, or one per server"
        )),
    }
}

fn session_attrs(value: &str) -> Result<SessionAttrs, String> {
    match value {
        "read-write" | "primary" => Ok(SessionAttrs::ReadWrite),
        "read-only" | "standby" | "prefer-standby" => Ok(SessionAttrs::ReadOnly),
        "any" => Ok(SessionAttrs::Any),
        other => Err(format!(
            "target_session_attrs={other} is not one of read-write, primary, any, read-only, standby, prefer-standby"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(url: &str) -> Vec<String> {
        split(url).unwrap().0
    }

    #[test]
    fn one_server_stays_as_it_was() {
        assert_eq!(
            urls("postgres://u:p@db:5432/pc?sslmode=require"),
            ["postgres://u:p@db:5432/pc?sslmode=require"]
        );
        assert_eq!(urls("postgres://u@db/pc"), ["postgres://u@db/pc"]);
    }

    #[test]
    fn a_host_list_becomes_one_url_per_server_in_order() {
        let (urls, attrs) =
            split("postgres://u:p%40ss@db1:5432,db2:6432,[::1]:7432/pc?sslmode=disable&target_session_attrs=read-write")
                .unwrap();
        assert_eq!(
            urls,
            [
                "postgres://u:p%40ss@db1:5432/pc?sslmode=disable",
                "postgres://u:p%40ss@db2:6432/pc?sslmode=disable",
                "postgres://u:p%40ss@[::1]:7432/pc?sslmode=disable",
            ]
        );
        assert_eq!(attrs, Some(SessionAttrs::ReadWrite));
        let targets = Targets::parse("postgres://u@db1:5432,db2:6432/pc").unwrap();
        assert_eq!(targets.nodes[1].get_host(), "db2");
        assert_eq!(targets.nodes[1].get_port(), 6432);
    }

    #[test]
    fn sockets_and_ports_in_the_parameters_are_spread_over_the_servers() {
        assert_eq!(
            urls("postgres://u@localhost/pc?host=/run/a,/run/b&port=5432,5433"),
            [
                "postgres://u@localhost/pc?host=/run/a&port=5432",
                "postgres://u@localhost/pc?host=/run/b&port=5433",
            ]
        );
        assert_eq!(
            urls("postgres://u@db1,db2/pc?port=6000"),
            [
                "postgres://u@db1/pc?port=6000",
                "postgres://u@db2/pc?port=6000"
            ]
        );
        let targets = Targets::parse("postgres://u@localhost/pc?host=/run/a,/run/b").unwrap();
        assert_eq!(targets.nodes.len(), 2);
    }

    #[test]
    fn what_cannot_be_meant_is_refused_without_quoting_the_url() {
        for (url, says) in [
            ("db1,db2", "must start with postgres://"),
            (
                "postgres://u@db1,db2/pc?port=1,2,3",
                "3 ports for 2 servers",
            ),
            ("postgres://u@db1,db2/pc?host=/run/a", "not both"),
            ("postgres://u@db1,,db2/pc", "empty entry"),
            (
                "postgres://u@db1/pc?target_session_attrs=sometimes",
                "target_session_attrs=sometimes",
            ),
        ] {
            let e = split(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
        let e = Targets::parse("postgres://u:secret@db1:notaport/pc").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn the_read_replica_url_may_ask_for_standbys_or_any_server() {
        let (_, attrs) =
            split("postgres://u@s1,s2/pc?target_session_attrs=prefer-standby").unwrap();
        assert_eq!(attrs, Some(SessionAttrs::ReadOnly));
        let (_, attrs) = split("postgres://u@s1,s2/pc?target_session_attrs=any").unwrap();
        assert_eq!(attrs, Some(SessionAttrs::Any));
    }
}
