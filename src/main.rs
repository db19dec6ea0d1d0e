//! The `party-center` command: `serve`, `migrate`, `token`, `openapi`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use party_center::auth::{DevKey, KeyStore, MintRequest, Role};
use party_center::config::{ServeSettings, Settings, parse_duration};
use party_center::{db, openapi, startup, telemetry};
use uuid::Uuid;

/// Party Member Service & Transformation Center (党员服务转化中心).
#[derive(Debug, Parser)]
#[command(name = "party-center", version, about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (with no DATABASE_URL, on a private PostgreSQL it starts itself).
    Serve(ServeSettings),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint a token signed with the configured HS256 secret (or the development key).
    Token(TokenArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Ask a running server's `/readyz` (on PARTY_CENTER_BIND); exit 0 when it is ready.
    /// For container health checks, where there is no curl.
    Probe(ProbeArgs),
}

#[derive(Debug, clap::Args)]
struct ProbeArgs {
    /// The server's address (a wildcard address is probed on loopback).
    #[arg(long, env = "PARTY_CENTER_BIND", default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// staff, committee, member, county or admin.
    #[arg(long)]
    role: Role,
    /// The town id (staff, committee, member).
    #[arg(long)]
    town: Option<Uuid>,
    /// The county code (county).
    #[arg(long)]
    county: Option<String>,
    /// The member's own record (member).
    #[arg(long)]
    member_id: Option<Uuid>,
    /// Who the token stands for (recorded in the audit trail).
    #[arg(long)]
    sub: String,
    /// How long it is valid, e.g. 30m, 8h, 7d.
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    ttl: Duration,
    /// With no PARTY_CENTER_JWT_SECRET and no development key in the data folder yet,
    /// create one (a server already running elsewhere will not know it). Without this
    /// flag the command refuses and says where it looked.
    #[arg(long)]
    create_key: bool,
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    telemetry::init(&cli.settings);
    if let Err(e) = cli.settings.check() {
        eprintln!("party-center: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Probe(args) => probe(args.bind),
        Command::Openapi => openapi::document()
            .to_pretty_json()
            .map(|json| println!("{json}"))
            .map_err(anyhow::Error::from),
        Command::Token(args) => token(&cli.settings, args),
        Command::Migrate => runtime().and_then(|rt| {
            rt.block_on(async {
                let database = db::Database::open(&cli.settings).await?;
                db::migrate(&database.pool).await?;
                eprintln!("migrations applied");
                database.stop().await
            })
        }),
        Command::Serve(serve) => {
            actix_web::rt::System::new().block_on(startup::serve(&cli.settings, &serve))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line a person can act on; the chain says why.
            eprintln!("party-center: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates its own heap arena; with the workers, the
/// runtime's and the database threads that is a dozen mostly empty arenas, 13 MiB of
/// resident memory at rest (measured). Two arenas serve this service's threads without
/// contention worth measuring. Must run before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn token(settings: &Settings, args: TokenArgs) -> anyhow::Result<()> {
    let dev_key = if args.create_key {
        DevKey::Create
    } else {
        DevKey::MustExist
    };
    let keys = KeyStore::from_settings(settings, dev_key)?;
    let token = keys.mint(&MintRequest {
        role: args.role,
        sub: args.sub,
        town: args.town,
        county: args.county,
        member_id: args.member_id,
        ttl: args.ttl,
    })?;
    println!("{token}");
    Ok(())
}

/// `GET /readyz` over plain HTTP/1.1 with a 3 s budget; Ok when the answer is 200.
fn probe(mut addr: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200"),
        "not ready: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}
