//! `plenary`: the whole platform in one binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use plenary_server::settings::{Overrides, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "plenary",
    version,
    about = "Self-hostable video meetings for cooperatives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform: web client, API, signalling and media.
    Serve(Overrides),
    /// Bring the database schema up to date, then exit.
    Migrate(Overrides),
    /// Print a settings file with every key and its default.
    DefaultConfig,
    /// Set an account's password (read from standard input), creating an admin account if
    /// there is none with that email. For a lost admin password.
    SetPassword {
        /// The account's email.
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Make an API token acting as an account (for scripts and the load generator); prints
    /// its secret, shown only now. Revoke it at /admin/tokens.
    ApiToken {
        /// The account's email.
        email: String,
        /// What the token is for.
        name: String,
        #[command(flatten)]
        settings: Overrides,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::DefaultConfig => {
            print!("{}", Settings::default_toml());
            return ExitCode::SUCCESS;
        }
        Command::Serve(o)
        | Command::Migrate(o)
        | Command::SetPassword { settings: o, .. }
        | Command::ApiToken { settings: o, .. } => o,
    };
    let settings = match Settings::load(overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plenary: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plenary: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(_) => serve(settings).await,
            Command::Migrate(_) => migrate(settings).await,
            Command::SetPassword { email, .. } => set_password(settings, &email).await,
            Command::ApiToken { email, name, .. } => api_token(settings, &email, &name).await,
            Command::DefaultConfig => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plenary: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(?settings, "starting");
    // Ctrl-C or SIGTERM (what systemd, Docker and Kubernetes send): meetings are told, requests
    // in flight finish, the database is closed, then the process exits.
    let shutdown = async {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
                _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("interrupted: stopping");
        }
    };
    let running = plenary_server::start(settings, shutdown).await?;
    let http = running.http_addr;
    let media = match running.media_addrs.as_slice() {
        [one] => one.to_string(),
        [first, .., last] => format!(
            "{first} to port {} ({} media threads)",
            last.port(),
            running.media_addrs.len()
        ),
        [] => String::new(),
    };
    let backend = running.state.store.backend();
    println!("Plenary is running at http://{http}/  (media on UDP {media}, database: {backend})");
    if running.state.bbb.bbb.is_some() {
        let base = running
            .state
            .settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http}"));
        println!(
            "BigBlueButton API: {}/bigbluebutton/api/",
            base.trim_end_matches('/')
        );
    } else {
        println!("BigBlueButton API: off (set PLENARY_BBB_SECRETS to turn it on)");
    }
    if running.state.settings.room_creation == plenary_server::settings::RoomCreation::Anyone {
        let days = running.state.settings.anonymous_room_days;
        println!(
            "WARNING: room_creation = anyone: anybody who reaches this server can create rooms \
             and relay media through it, without an account (rooms made so are deleted after \
             {days} days unused). Set PLENARY_ROOM_CREATION=members to close it."
        );
        tracing::warn!("room creation is open to anyone");
    }
    if let Some((email, password)) = &running.first_admin {
        println!("First start: created the admin account {email} with the password {password}");
        println!("(shown only now; sign in at http://{http}/signin)");
    }
    // One machine-readable line for scripts and tests.
    println!("PLENARY_READY http={http} media={media}");
    running.wait().await?;
    println!("Plenary stopped.");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = plenary_store::open(&settings.database_url()).await?;
    println!("database schema is up to date ({})", store.backend());
    store.close().await?;
    Ok(())
}

async fn set_password(settings: Settings, email: &str) -> anyhow::Result<()> {
    use std::io::BufRead as _;
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = plenary_store::open(&settings.database_url()).await?;
    eprintln!("new password for {email} (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    let done = plenary_accounts::set_password(&*store, email, password).await?;
    match done {
        plenary_accounts::PasswordSet::Updated => println!("password of {email} changed"),
        plenary_accounts::PasswordSet::CreatedAdmin => {
            println!("created the admin account {email} with that password")
        }
    }
    store.close().await?;
    Ok(())
}

async fn api_token(settings: Settings, email: &str, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = plenary_store::open(&settings.database_url()).await?;
    let email = email.trim().to_lowercase();
    let user = store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account has the email {email}"))?;
    anyhow::ensure!(!name.trim().is_empty(), "give the token a name");
    let (secret, _) = plenary_accounts::create_api_token(&*store, user.id, name).await?;
    eprintln!("API token {name:?} for {email} (shown only now; revoke it at /admin/tokens):");
    println!("{secret}");
    store.close().await?;
    Ok(())
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // The log goes to stderr; its latest warnings and errors also to the operators' view.
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(plenary_status::errors::layer())
        .init();
}
