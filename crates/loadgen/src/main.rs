//! `plenary-loadgen`: run one scenario, or the standard benchmark set.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use plenary_loadgen::janus::Janus;
use plenary_loadgen::limit;
use plenary_loadgen::measure::{RunOptions, RunResult, Target, run};
use plenary_loadgen::netns::NetNs;
use plenary_loadgen::scenario::Scenario;
use plenary_loadgen::server::Server;

#[derive(Debug, Parser)]
#[command(
    name = "plenary-loadgen",
    about = "Load and measure a Plenary server with headless WebRTC peers"
)]
struct Cli {
    /// The plenary binary to start for the run (on free ports, with a fresh data folder).
    #[arg(long, global = true, default_value = "target/release/plenary")]
    server_bin: String,
    /// Use a running server instead (host:port); give --server-pid for CPU figures.
    #[arg(long, global = true)]
    server: Option<String>,
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// An API token of that server (an admin makes one: `plenary api-token EMAIL NAME`),
    /// for creating rooms.
    #[arg(long, global = true, env = "PLENARY_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Measured window, in seconds.
    #[arg(long, global = true, default_value_t = 10)]
    seconds: u64,
    /// More settings for the server `run` starts, `PLENARY_…=value` (repeatable), after the
    /// scenario's own (`bench` starts its servers with the settings each measurement needs).
    #[arg(long = "server-env", global = true, value_parser = parse_setting)]
    server_env: Vec<(String, String)>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One scenario: audio (10 speakers, N listeners), nxn, broadcast (1 → N),
    /// classroom (presenter + 5 webcams + N listeners), small (N meetings of 4).
    Run {
        scenario: String,
        /// The scenario's size N.
        #[arg(short, default_value_t = 6)]
        n: usize,
        /// Measure Janus (Debian's package, VideoRoom) instead of Plenary.
        #[arg(long)]
        janus: bool,
        /// Record every meeting while measuring (the recorder's cost).
        #[arg(long)]
        record: bool,
    },
    /// The machine's limit: a minimal batched UDP + AES-GCM forwarder's CPU per packet.
    Limit {
        /// Subscribers each packet is forwarded to.
        #[arg(long, default_value_t = 10)]
        fanout: usize,
    },
    /// The limit, the standard set and the N×N knee; prints a table and writes a CSV.
    Bench {
        #[arg(long, default_value = "target/bench/results.csv")]
        csv: PathBuf,
    },
}

// One thread drives every peer (tasks on one runtime): the generator takes one core at
// most, and leaves the other to the server under test.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Limit { fanout } = cli.command {
        let l = limit::probe(fanout, Duration::from_secs(cli.seconds))?;
        println!(
            "limit (fan-out {}): {:.2} µs per forwarded packet, {:.0} packets per CPU-second ({} packets in {:.2} CPU-s)",
            l.fanout, l.us_per_packet, l.packets_per_cpu_second, l.forwarded, l.cpu_seconds
        );
        return Ok(());
    }
    let opts = RunOptions {
        window: Duration::from_secs(cli.seconds),
        ..RunOptions::default()
    };
    let record = matches!(cli.command, Command::Run { record: true, .. });
    let mut env: Vec<(&str, &str)> = match &cli.command {
        Command::Run { scenario, n, .. } => Scenario::named(scenario, *n)?.server_env(),
        _ => Vec::new(),
    };
    env.extend(cli.server_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let server = match &cli.server {
        Some(addr) => {
            if !env.is_empty() {
                println!(
                    "note: a running server keeps its own settings ({} given here are not applied)",
                    env.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                );
            }
            Server::external(addr.clone(), cli.server_pid, cli.api_token.clone())
        }
        None if record => Server::spawn_recording(&cli.server_bin, &env).await?,
        None => Server::spawn_env(&cli.server_bin, &env).await?,
    };
    let result = match cli.command {
        Command::Run {
            scenario,
            n,
            janus: false,
            ..
        } => {
            let s = Scenario::named(&scenario, n)?;
            println!("{}", RunResult::table_header());
            run(Target::Plenary(&server), &s, opts)
                .await
                .map(|r| println!("{}", r.table_row()))
        }
        Command::Run {
            scenario,
            n,
            janus: true,
            ..
        } => {
            let s = Scenario::named(&scenario, n)?;
            let ns = NetNs::create()?;
            let janus = Janus::spawn(&ns).await?;
            println!("{}", RunResult::table_header());
            let r = run(Target::Janus(&janus), &s, opts)
                .await
                .map(|r| println!("{}", r.table_row()));
            janus.stop().await;
            r
        }
        Command::Bench { csv } => bench(&server, &cli.server_bin, opts, &csv).await,
        Command::Limit { .. } => Ok(()),
    };
    server.stop().await;
    result
}

/// `KEY=value`, for `--server-env`.
fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if k.starts_with("PLENARY_") => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected PLENARY_NAME=value, got {s:?}")),
    }
}

/// Runs Janus and a second Plenary, both in a network namespace, through the same scenarios.
async fn compare_with_janus(
    server_bin: &str,
    opts: RunOptions,
    results: &mut Vec<RunResult>,
    comparisons: &mut Vec<(String, f64)>,
    limit_us: f64,
) -> anyhow::Result<()> {
    let ns = NetNs::create()?;
    let janus = Janus::spawn(&ns).await?;
    let plenary = Server::spawn_in(server_bin, Some(&ns)).await?;
    println!("Janus (VideoRoom) and Plenary, both behind a veth pair, same generator:");
    let outcome = async {
        for (name, n) in [("nxn", 6), ("classroom", 40), ("nxn", 16)] {
            let scenario = Scenario::named(name, n)?;
            let mut j = run(Target::Janus(&janus), &scenario, opts).await?;
            j.scenario = format!("janus-{}", j.scenario);
            println!("{} {:>8.1}", j.table_row(), j.us_per_packet / limit_us);
            let mut mine = run(Target::Plenary(&plenary), &scenario, opts).await?;
            settle(&plenary).await?;
            mine.scenario = format!("veth-{}", mine.scenario);
            println!(
                "{} {:>8.1}",
                mine.table_row(),
                mine.us_per_packet / limit_us
            );
            comparisons.push((scenario.name.clone(), j.us_per_packet / mine.us_per_packet));
            results.push(j);
            results.push(mine);
        }
        anyhow::Ok(())
    }
    .await;
    janus.stop().await;
    plenary.stop().await;
    drop(ns);
    outcome
}

/// The 25-person simulcast shape on a server forwarding the 3 loudest microphones: one
/// meeting, then four (what fills a server core here, beside the generator).
async fn simulcast_meeting(
    server_bin: &str,
    opts: RunOptions,
    results: &mut Vec<RunResult>,
    limit_us: f64,
) -> anyhow::Result<()> {
    for meetings in [1, 4] {
        let scenario = Scenario::named("simulcast", meetings)?;
        let server = Server::spawn_env(server_bin, &scenario.server_env()).await?;
        let outcome = run(Target::Plenary(&server), &scenario, opts).await;
        server.stop().await;
        let r = outcome?;
        println!("{} {:>8.1}", r.table_row(), r.us_per_packet / limit_us);
        println!(
            "simulcast, {meetings} meeting(s) of 25 (1 HD, 8 thumbnails, 3 speakers each): {:.3} server cores{}, {:.4} cores per participant = {:.0} participants per core (generator {:.2} cores, loss {:.1} %)",
            r.server_cores,
            if r.server_cores >= 0.95 {
                " (a core's worth)"
            } else {
                ""
            },
            r.server_cores / r.participants as f64,
            r.participants as f64 / r.server_cores,
            r.generator_cores,
            r.loss * 100.0
        );
        results.push(r);
    }
    Ok(())
}

/// The same load (8 meetings of 4) on one media thread and on two.
async fn shards(
    server_bin: &str,
    opts: RunOptions,
    results: &mut Vec<RunResult>,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for threads in ["1", "2"] {
        let server = Server::spawn_env(server_bin, &[("PLENARY_MEDIA_THREADS", threads)]).await?;
        let outcome = run(
            Target::Plenary(&server),
            &Scenario::named("small", 8)?,
            opts,
        )
        .await;
        server.stop().await;
        let mut r = outcome?;
        r.scenario = format!("threads{threads}-{}", r.scenario);
        println!("{}", r.table_row());
        rows.push(r);
    }
    let (one, two) = (&rows[0], &rows[1]);
    println!(
        "media threads, 8 meetings of 4: two threads forward {:.2}× one thread's packets/s (p50 {:.1} vs {:.1} ms, p99 {:.1} vs {:.1} ms), at {:.2} vs {:.2} server cores",
        two.sent_pps / one.sent_pps,
        two.p50_ms,
        one.p50_ms,
        two.p99_ms,
        one.p99_ms,
        two.server_cores,
        one.server_cores
    );
    results.extend(rows);
    Ok(())
}

/// Waits until the server has let go of the last run's participants, then a little more.
async fn settle(server: &Server) -> anyhow::Result<()> {
    for _ in 0..100 {
        if server.metric("plenary_media_participants").await? == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// The standard set, then N×N stepped until latency or loss degrades (the knee).
async fn bench(
    server: &Server,
    server_bin: &str,
    opts: RunOptions,
    csv: &PathBuf,
) -> anyhow::Result<()> {
    // The machine's limit first, with nothing else running: three probes, the median kept,
    // the spread said (it is what makes runs comparable).
    let mut probes = Vec::new();
    for _ in 0..3 {
        probes
            .push(tokio::task::spawn_blocking(|| limit::probe(10, Duration::from_secs(5))).await??);
    }
    probes.sort_by(|a, b| a.us_per_packet.total_cmp(&b.us_per_packet));
    let (low, high) = (probes[0].us_per_packet, probes[2].us_per_packet);
    let limit = probes.swap_remove(1);
    println!(
        "machine limit (batched UDP + AES-GCM, fan-out 10): {:.2} µs/packet = {:.0} packets per CPU-second (median of 3; spread {:.2}–{:.2} µs, ±{:.0} %)",
        limit.us_per_packet,
        limit.packets_per_cpu_second,
        low,
        high,
        (high - low) / 2.0 / limit.us_per_packet * 100.0
    );
    let mut results = Vec::new();
    println!("{} {:>8}", RunResult::table_header(), "÷limit");
    let standard = [
        ("audio", 50),
        ("nxn", 6),
        ("broadcast", 50),
        ("classroom", 40),
        ("small", 5),
    ];
    let ratio = |r: &RunResult| r.us_per_packet / limit.us_per_packet;
    for (name, n) in standard {
        let r = run(Target::Plenary(server), &Scenario::named(name, n)?, opts).await?;
        println!("{} {:>8.1}", r.table_row(), ratio(&r));
        results.push(r);
        settle(server).await?;
    }
    // The knee: p99 latency above 100 ms or loss above 1 % marks degradation, when a second
    // run at the same size confirms it (one scheduling hiccup on a 2-core machine is not a knee).
    let mut knee = None;
    'steps: for n in (4..=30).step_by(2) {
        for attempt in 0..2 {
            let outcome = run(Target::Plenary(server), &Scenario::named("nxn", n)?, opts).await;
            settle(server).await?;
            match outcome {
                Ok(r) => {
                    println!("{} {:>8.1}", r.table_row(), ratio(&r));
                    let degraded = r.p99_ms > 100.0 || r.loss > 0.01;
                    results.push(r);
                    if !degraded {
                        continue 'steps;
                    }
                }
                Err(e) => println!("nxn-{n}: failed: {e:#}"),
            }
            if attempt == 1 {
                knee = Some(n);
                break 'steps;
            }
        }
    }
    // The 25-person simulcast meeting: each receiver shows 1 speaker large, 8 thumbnails
    // and hears the 3 speakers (the server forwards only the 3 loudest microphones).
    match simulcast_meeting(server_bin, opts, &mut results, limit.us_per_packet).await {
        Ok(()) => {}
        Err(e) => println!("simulcast meeting not measured: {e:#}"),
    }
    // One media thread against two, the same load (rooms spread over the threads).
    match shards(server_bin, opts, &mut results).await {
        Ok(()) => {}
        Err(e) => println!("media threads not compared: {e:#}"),
    }
    // The same scenarios through Janus, for Plenary ÷ Janus from this run. Janus needs a
    // real interface, so both run in a network namespace behind a veth pair.
    let mut comparisons = Vec::new();
    match compare_with_janus(
        server_bin,
        opts,
        &mut results,
        &mut comparisons,
        limit.us_per_packet,
    )
    .await
    {
        Ok(()) => {}
        Err(e) => println!("Janus not measured: {e:#}"),
    }
    for (name, janus_over_plenary) in &comparisons {
        println!(
            "Plenary ÷ Janus, {name}: Janus spends {janus_over_plenary:.1}× Plenary's CPU per packet"
        );
    }
    match knee {
        Some(n) => println!("knee: N×N degrades at N = {n} (p99 > 100 ms or loss > 1 %)"),
        None => println!("knee: not reached up to N = 30"),
    }
    if let Some(dir) = csv.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::File::create(csv)?;
    writeln!(
        f,
        "{},limit_us_per_packet,ratio_to_limit",
        RunResult::CSV_HEADER
    )?;
    for r in &results {
        writeln!(
            f,
            "{},{:.3},{:.2}",
            r.csv(),
            limit.us_per_packet,
            r.us_per_packet / limit.us_per_packet
        )?;
    }
    println!("CSV: {}", csv.display());
    Ok(())
}
