//! Reports exact against a scripted history on a fixed clock, on SQLite and PostgreSQL:
//! meetings of known lengths and sizes, one crossing a month boundary, overlapping meetings
//! for the peak, a person who rejoins, a guest, rooms of two organisations, two regions,
//! recordings, an open meeting (alive, then stale).
#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use plenary_store::{Store, UsageEvent, UsageKind};
use plenary_usage::report::{COLUMNS, csv};
use plenary_usage::{Period, RankBy, Scope, read};
use time::macros::datetime;

fn ms(t: time::PrimitiveDateTime) -> i64 {
    (t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

struct Script {
    store: Arc<dyn Store>,
    n: u32,
}

impl Script {
    async fn meeting(
        &mut self,
        room: &str,
        orgs: &[i64],
        region: &str,
        from: i64,
        to: Option<i64>,
    ) -> (String, i64) {
        let mut e = UsageEvent::new(UsageKind::MeetingStarted, from, room, from);
        e.room_orgs = orgs.to_vec();
        e.region = region.into();
        let key = format!("n/run:m:{room}:{from}");
        self.store.usage_open(&key, &e).await.unwrap();
        if let Some(to) = to {
            assert!(self.store.usage_close(&key, to).await.unwrap());
        }
        (room.to_owned(), from)
    }

    async fn person(
        &mut self,
        m: &(String, i64),
        orgs: &[i64],
        region: &str,
        person: i64,
        member: bool,
        (from, to): (i64, i64),
    ) {
        self.n += 1;
        let mut e = UsageEvent::new(UsageKind::Joined, from, &m.0, m.1);
        e.person = Some(person);
        e.member = Some(member);
        e.room_orgs = orgs.to_vec();
        e.region = region.into();
        let key = format!("n/run:p:{}", self.n);
        self.store.usage_open(&key, &e).await.unwrap();
        assert!(self.store.usage_close(&key, to).await.unwrap());
    }

    async fn recording(&mut self, kind: UsageKind, room: &str, orgs: &[i64], at: i64, bytes: i64) {
        let mut e = UsageEvent::new(kind, at, room, at);
        e.bytes = Some(bytes);
        e.room_orgs = orgs.to_vec();
        e.region = "eu".into();
        self.store.usage_record(&e).await.unwrap();
    }
}

const A: i64 = 101;
const B: i64 = 102;
const C: i64 = 103;
const D: i64 = 104; // a guest
const E: i64 = 105;
const F: i64 = 106;

async fn history(store: Arc<dyn Store>) {
    let mut s = Script {
        store: store.clone(),
        n: 0,
    };
    let at = |t| ms(t);
    // M1: room r1 (organisation 1) from 23:30 on 31 October to 00:30 on 1 November.
    let m1 = s
        .meeting(
            "r1",
            &[1],
            "eu",
            at(datetime!(2026-10-31 23:30)),
            Some(at(datetime!(2026-11-01 00:30))),
        )
        .await;
    s.person(
        &m1,
        &[1],
        "eu",
        A,
        true,
        (
            at(datetime!(2026-10-31 23:30)),
            at(datetime!(2026-11-01 00:30)),
        ),
    )
    .await;
    s.person(
        &m1,
        &[1],
        "eu",
        B,
        true,
        (
            at(datetime!(2026-10-31 23:45)),
            at(datetime!(2026-11-01 00:15)),
        ),
    )
    .await;
    // M2: room r2 (organisation 2, region ca) 10:00–11:00 on 10 November; C leaves at 10:30
    // and comes back at 10:40; D is a guest.
    let m2 = s
        .meeting(
            "r2",
            &[2],
            "ca",
            at(datetime!(2026-11-10 10:00)),
            Some(at(datetime!(2026-11-10 11:00))),
        )
        .await;
    s.person(
        &m2,
        &[2],
        "ca",
        A,
        true,
        (
            at(datetime!(2026-11-10 10:00)),
            at(datetime!(2026-11-10 11:00)),
        ),
    )
    .await;
    s.person(
        &m2,
        &[2],
        "ca",
        C,
        true,
        (
            at(datetime!(2026-11-10 10:00)),
            at(datetime!(2026-11-10 10:30)),
        ),
    )
    .await;
    s.person(
        &m2,
        &[2],
        "ca",
        C,
        true,
        (
            at(datetime!(2026-11-10 10:40)),
            at(datetime!(2026-11-10 11:00)),
        ),
    )
    .await;
    s.person(
        &m2,
        &[2],
        "ca",
        D,
        false,
        (
            at(datetime!(2026-11-10 10:20)),
            at(datetime!(2026-11-10 10:50)),
        ),
    )
    .await;
    // M3: room r3 (organisations 1 and 2) 10:30–10:45, overlapping M2.
    let m3 = s
        .meeting(
            "r3",
            &[1, 2],
            "eu",
            at(datetime!(2026-11-10 10:30)),
            Some(at(datetime!(2026-11-10 10:45))),
        )
        .await;
    s.person(
        &m3,
        &[1, 2],
        "eu",
        E,
        true,
        (
            at(datetime!(2026-11-10 10:30)),
            at(datetime!(2026-11-10 10:45)),
        ),
    )
    .await;
    s.person(
        &m3,
        &[1, 2],
        "eu",
        F,
        true,
        (
            at(datetime!(2026-11-10 10:30)),
            at(datetime!(2026-11-10 10:45)),
        ),
    )
    .await;
    // M4: r1 from 23:50 on 30 November to 00:10 on 1 December.
    let m4 = s
        .meeting(
            "r1",
            &[1],
            "eu",
            at(datetime!(2026-11-30 23:50)),
            Some(at(datetime!(2026-12-01 00:10))),
        )
        .await;
    s.person(
        &m4,
        &[1],
        "eu",
        A,
        true,
        (
            at(datetime!(2026-11-30 23:50)),
            at(datetime!(2026-12-01 00:10)),
        ),
    )
    .await;
    // Recordings: one of r1 stored, one of r2 deleted.
    s.recording(
        UsageKind::RecordingStored,
        "r1",
        &[1],
        at(datetime!(2026-11-01 00:40)),
        1_000,
    )
    .await;
    s.recording(
        UsageKind::RecordingDeleted,
        "r2",
        &[2],
        at(datetime!(2026-11-12 09:00)),
        500,
    )
    .await;
    // M5: r4 (no organisation) opened on 3 December and still open.
    s.meeting("r4", &[], "eu", at(datetime!(2026-12-03 10:00)), None)
        .await;

    let now = at(datetime!(2026-12-03 10:02));
    let nov = Period::parse("2026-11").unwrap();
    let all = Scope::default();
    let r = read(&*store, &all, nov, now).await.unwrap().report();
    let t = &r.totals;
    assert_eq!(t.meetings, 4);
    assert_eq!(t.meeting_minutes, 30.0 + 60.0 + 15.0 + 10.0);
    assert_eq!(t.participant_minutes, 45.0 + 140.0 + 30.0 + 10.0);
    assert_eq!(t.distinct_participants, 6);
    assert_eq!(t.peak_concurrent, 5, "A, C (back), D, E, F at 10:40");
    assert_eq!(t.peak_at_ms, Some(at(datetime!(2026-11-10 10:40))));
    assert_eq!(
        (t.recordings, t.recording_bytes, t.deleted_recording_bytes),
        (1, 1_000, 500)
    );
    let sizes: Vec<(&str, u64)> = r.sizes.iter().map(|s| (s.size, s.meetings)).collect();
    assert_eq!(&sizes[..4], &[("1", 1), ("2", 2), ("3-5", 1), ("6-10", 0)]);
    assert_eq!(r.timezone, "UTC");
    assert_eq!(r.buckets.len(), 30);
    let day1 = &r.buckets[0].totals;
    assert_eq!(
        (
            r.buckets[0].label.as_str(),
            day1.meetings,
            day1.meeting_minutes,
            day1.participant_minutes
        ),
        ("2026-11-01", 1, 30.0, 45.0)
    );
    assert_eq!(
        (day1.peak_concurrent, day1.peak_at_ms),
        (2, Some(at(datetime!(2026-11-01 00:00))))
    );
    let day10 = &r.buckets[9].totals;
    assert_eq!(
        (
            day10.meetings,
            day10.participant_minutes,
            day10.distinct_participants
        ),
        (2, 170.0, 5)
    );
    assert_eq!(
        r.buckets[29].totals.meeting_minutes, 10.0,
        "until midnight only"
    );

    // The other side of the month boundary.
    let oct = read(&*store, &all, Period::parse("2026-10").unwrap(), now)
        .await
        .unwrap()
        .report();
    assert_eq!(
        (
            oct.totals.meetings,
            oct.totals.meeting_minutes,
            oct.totals.participant_minutes,
            oct.totals.distinct_participants
        ),
        (1, 30.0, 45.0, 2)
    );
    let dec = read(&*store, &all, Period::parse("2026-12").unwrap(), now)
        .await
        .unwrap()
        .report();
    assert_eq!(
        (dec.totals.meetings, dec.totals.meeting_minutes),
        (2, 10.0 + 2.0),
        "M4's tail, and M5 open until now"
    );

    // An open meeting nobody said was alive for long ends when it was last seen.
    let later = at(datetime!(2026-12-03 12:00));
    let r4 = Scope {
        room: Some("r4".into()),
        ..Scope::default()
    };
    let dec = read(&*store, &r4, Period::parse("2026-12").unwrap(), later)
        .await
        .unwrap()
        .report();
    assert_eq!(dec.totals.meeting_minutes, 0.0, "stale since it opened");
    store
        .usage_alive("n/run:", at(datetime!(2026-12-03 11:00)))
        .await
        .unwrap();
    let dec = read(&*store, &r4, Period::parse("2026-12").unwrap(), later)
        .await
        .unwrap()
        .report();
    assert_eq!(dec.totals.meeting_minutes, 60.0, "last seen at 11:00");

    // One organisation sees its rooms only (r3 belongs to both).
    let org1 = read(
        &*store,
        &Scope {
            org: Some(1),
            ..Scope::default()
        },
        nov,
        now,
    )
    .await
    .unwrap()
    .report();
    let o = &org1.totals;
    assert_eq!(
        (
            o.meetings,
            o.meeting_minutes,
            o.participant_minutes,
            o.distinct_participants
        ),
        (3, 55.0, 85.0, 4)
    );
    assert_eq!(
        (o.peak_concurrent, o.peak_at_ms),
        (2, Some(at(datetime!(2026-11-01 00:00))))
    );
    assert_eq!((o.recordings, o.deleted_recording_bytes), (1, 0));
    let org2 = read(
        &*store,
        &Scope {
            org: Some(2),
            ..Scope::default()
        },
        nov,
        now,
    )
    .await
    .unwrap()
    .report();
    let o = &org2.totals;
    assert_eq!(
        (
            o.meetings,
            o.meeting_minutes,
            o.participant_minutes,
            o.distinct_participants
        ),
        (2, 75.0, 170.0, 5)
    );
    assert_eq!(
        (o.peak_concurrent, o.recordings, o.deleted_recording_bytes),
        (5, 0, 500)
    );

    // A room, a region, a week, a day.
    let r2 = read(
        &*store,
        &Scope {
            room: Some("r2".into()),
            ..Scope::default()
        },
        nov,
        now,
    )
    .await
    .unwrap()
    .report();
    assert_eq!(
        (
            r2.totals.meetings,
            r2.totals.participant_minutes,
            r2.totals.distinct_participants
        ),
        (1, 140.0, 3)
    );
    let ca = read(
        &*store,
        &Scope {
            region: Some("ca".into()),
            ..Scope::default()
        },
        nov,
        now,
    )
    .await
    .unwrap()
    .report();
    assert_eq!(
        (ca.totals.meetings, ca.totals.participant_minutes),
        (1, 140.0)
    );
    let w46 = read(&*store, &all, Period::parse("2026-W46").unwrap(), now)
        .await
        .unwrap()
        .report();
    assert_eq!(
        (
            w46.totals.meetings,
            w46.totals.participant_minutes,
            w46.buckets.len()
        ),
        (2, 170.0, 7)
    );
    let day = read(&*store, &all, Period::parse("2026-11-10").unwrap(), now)
        .await
        .unwrap()
        .report();
    assert_eq!(day.buckets.len(), 24);
    assert_eq!(
        (
            day.buckets[10].label.as_str(),
            day.buckets[10].totals.meetings,
            day.buckets[10].totals.peak_concurrent
        ),
        ("10:00", 2, 5)
    );

    // Rankings for the platform's admins: organisations, rooms, regions.
    let all_nov = plenary_usage::read_ranked(&*store, &all, nov, now)
        .await
        .unwrap();
    let orgs: Vec<(String, f64)> = all_nov
        .ranking(RankBy::Organisation)
        .into_iter()
        .map(|r| (r.key, r.totals.participant_minutes))
        .collect();
    assert_eq!(orgs, vec![("2".into(), 170.0), ("1".into(), 85.0)]);
    let rooms: Vec<String> = all_nov
        .ranking(RankBy::Room)
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(
        rooms,
        vec!["r2", "r1", "r3"],
        "140, 55, 30 participant-minutes"
    );
    let regions: Vec<(String, u64)> = all_nov
        .ranking(RankBy::Region)
        .into_iter()
        .map(|r| (r.key, r.totals.meetings))
        .collect();
    assert_eq!(regions, vec![("ca".into(), 1), ("eu".into(), 3)]);

    // The CSV is the table: a row per day, then the month's.
    let table = r.table();
    let text = csv(&COLUMNS, &table);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 30 + 1);
    assert_eq!(lines[0], COLUMNS.join(","));
    assert_eq!(
        lines[31],
        "2026-11,4,115.0,225.0,6,5,2026-11-10 10:40 UTC,1,1000,500"
    );

    // The JSON export carries the same numbers.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["totals"]["participant_minutes"], 225.0);
    assert_eq!(json["buckets"][9]["distinct_participants"], 5);
}

#[tokio::test]
async fn history_on_sqlite() {
    let db = common::Fresh::sqlite("usage-reports").await;
    history(db.store.clone()).await;
    db.finish().await;
}

#[tokio::test]
async fn history_on_postgres() {
    let db = common::Fresh::postgres("usage_reports").await;
    history(db.store.clone()).await;
    db.finish().await;
}
