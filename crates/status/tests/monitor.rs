//! The load sampler on a real store: it reads the node's counters, turns them into rates,
//! gives admission its CPU reading and keeps a sample with the node's name and region.
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::Fresh;
use plenary_meeting::capacity::Capacity;
use plenary_status::{Monitor, Source, Totals};

#[tokio::test]
async fn the_sampler_keeps_the_load_and_tells_admission_the_cpu() {
    let db = Fresh::sqlite("status-monitor").await;
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    // Every read: 9 participants in 2 meetings, and 1 000 more packets of 100 bytes each way.
    let source: Source = Arc::new(move || {
        let n = counted.fetch_add(1, Ordering::Relaxed) + 1;
        Box::pin(async move {
            Totals {
                meetings: 2,
                participants: 9,
                packets_in: n * 1_000,
                packets_out: n * 2_000,
                bytes_in: n * 100_000,
                bytes_out: n * 200_000,
                loss: Some(0.031),
            }
        })
    });
    let capacity = Arc::new(Capacity::new(Some(10), Some(100)));
    let monitor = Monitor::new("node-1", "eu", "0.1.0");
    let task = monitor.spawn_every(
        db.store.clone(),
        capacity.clone(),
        source,
        Duration::from_millis(50),
        Duration::from_millis(200),
    );
    let mut samples = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        samples = db.store.load_samples(Some("node-1"), 0).await.unwrap();
        if !samples.is_empty() {
            break;
        }
    }
    task.abort();
    let s = samples.first().expect("a sample was kept");
    assert_eq!(
        (s.region.as_str(), s.meetings, s.participants),
        ("eu", 2, 9)
    );
    assert_eq!(s.loss_permille, Some(31));
    assert!(s.near_capacity, "9 of 10 is near");
    assert_eq!(s.at_ms % 60_000, 0, "on the minute");
    // Rates: twice as much out as in, and bytes are 100 per packet (8 bits each).
    assert!(s.packets_in > 0 && s.packets_out > 0);
    let ratio = s.packets_out as f64 / s.packets_in as f64;
    assert!((1.9..2.1).contains(&ratio), "{ratio}");
    let bits_per_packet = s.bits_in as f64 / s.packets_in as f64;
    assert!(
        (790.0..810.0).contains(&bits_per_packet),
        "{bits_per_packet}"
    );
    // The machine's CPU, read from /proc, reached admission.
    assert!(capacity.cpu().is_some());
    let live = monitor.live();
    assert_eq!(live.participants, 9);
    assert!(live.cpu.is_some() && live.rss_bytes.is_some_and(|b| b > 0));
    db.finish().await;
}
