//! Who may watch a recording, over real HTTP, on every byte: the playback page, the
//! timeline, a track (with a range request, as a player seeks) and the MP4. Strangers and
//! people without an account get 403 whatever the room's setting, unless it lets anyone with
//! the link in (the link's key, never the id alone; not for a protected recording);
//! organisation members when the room says so; unpublished recordings only to owners; the
//! owner deletes and the files are gone.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::process::Command;
use std::time::Duration;

use common::TestServer;
use common::browser::*;
use plenary_accounts::SignupPolicy;
use plenary_proto::RoomId;
use plenary_recordings::NewRecording;
use plenary_store::{RecordingStatus, RecordingUpdate};

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg (Debian's; the test command installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (status, content-range) of a GET with a `Range`.
async fn ranged(
    b: &mut Browser,
    server: &TestServer,
    path: &str,
    range: &str,
) -> (u16, Option<String>, usize) {
    let r = client()
        .get(format!("http://{}{path}", server.http))
        .header("cookie", b.header())
        .header("range", range)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cr = r
        .headers()
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cr, r.bytes().await.unwrap().len())
}

async fn settings(owner: &mut Browser, server: &TestServer, room: &str, audience: &str) {
    let csrf = owner.csrf(server, "/rooms").await;
    let p = owner
        .post(
            server,
            &format!("/rooms/{room}/settings"),
            &[
                ("csrf", &csrf),
                ("recording_allowed", "on"),
                ("recordings_audience", audience),
                ("anyone_may_start", "on"),
                ("guests_allowed", "on"),
            ],
        )
        .await;
    assert!(
        p.status == 200 && p.body.contains("id=\"form-notice\""),
        "{}",
        p.body
    );
}

/// A real S3-compatible server on loopback (moto in server mode, from PyPI; the test command
/// installs it into e2e/.venv), with an empty bucket; stopped when dropped.
struct S3 {
    child: std::process::Child,
    endpoint: String,
    url: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3 {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let venv = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../e2e/.venv/bin/moto_server"
        );
        let program = std::env::var("PLENARY_TEST_MOTO_SERVER").unwrap_or_else(|_| {
            if std::path::Path::new(venv).exists() {
                venv.to_owned()
            } else {
                "moto_server".to_owned()
            }
        });
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} (moto[server]; the test command installs it): {e}")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..200 {
            if reqwest::Client::new()
                .put(format!("{endpoint}/plenary-test"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "the S3 server answers and makes the bucket");
        Self {
            child,
            endpoint: endpoint.clone(),
            url: format!(
                "s3://plenary-test/recordings?endpoint={endpoint}&allow_http=true&region=us-east-1&access_key_id=test&secret_access_key=test"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_byte_of_a_recording_is_served_only_to_whom_the_room_allows() {
    story(None).await;
}

/// The same from an S3-compatible server: once ready the files are there, not here, and
/// deleting removes them there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_kept_in_object_storage_is_served_and_deleted_there() {
    story(Some(S3::start().await)).await;
}

/// A long meeting's MP4 goes to the object storage in parts (a multipart upload: its ETag
/// says how many), and comes back byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_goes_to_object_storage_in_parts() {
    use futures_util::TryStreamExt as _;
    let s3 = S3::start().await;
    let remote = plenary_recordings::remote::Remote::from_url(&s3.url).unwrap();
    let dir = std::env::temp_dir().join(format!("plenary-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let part = plenary_recordings::remote::PART_BYTES;
    let data: Vec<u8> = (0..(2 * part + 12_345))
        .map(|i| (i as u64).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    std::fs::write(dir.join("recording.mp4"), &data).unwrap();
    remote
        .upload(&dir, "r1", &["recording.mp4".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        remote.size("r1", "recording.mp4").await.unwrap(),
        data.len() as u64
    );
    let etag = reqwest::Client::new()
        .head(format!(
            "{}/plenary-test/recordings/r1/recording.mp4",
            s3.endpoint()
        ))
        .send()
        .await
        .unwrap()
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "a 3-part upload: {etag}"
    );
    let at = part as u64 - 10;
    let got: Vec<_> = remote
        .read_range("r1", "recording.mp4", at, 40)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let got: Vec<u8> = got.iter().flat_map(|b| b.to_vec()).collect();
    assert_eq!(got, data[at as usize..at as usize + 40]);
    assert_eq!(remote.read("r1", "recording.mp4").await.unwrap(), data);
    remote.delete("r1").await.unwrap();
    assert!(remote.list("r1").await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn story(s3: Option<S3>) {
    let url = s3.as_ref().map(|s| s.url.clone());
    let server = TestServer::start_with(|s| {
        s.signup = SignupPolicy::Open;
        s.recordings_url = url;
    })
    .await;
    let pw = "a long enough password";
    let mut owner = Browser::default();
    assert_eq!(
        owner
            .sign_up(&server, "Ola", "ola@example.coop", pw)
            .await
            .status,
        303
    );
    let mut mia = Browser::default();
    assert_eq!(
        mia.sign_up(&server, "Mia", "mia@example.coop", pw)
            .await
            .status,
        303
    );
    let mut sam = Browser::default();
    assert_eq!(
        sam.sign_up(&server, "Sam", "sam@example.coop", pw)
            .await
            .status,
        303
    );
    let mut anonymous = Browser::default();
    let csrf = owner.csrf(&server, "/rooms").await;
    let room = owner.new_room(&server, &csrf, "Assembly").await;

    // Ola and Mia are in one organisation; Sam is not.
    let mut admin = Browser::default();
    let (email, password) = first_admin(&server);
    assert_eq!(admin.sign_in(&server, &email, &password).await.status, 303);
    let org = make_org(&server, &mut admin, "social.coop").await;
    add_member(&server, &mut admin, &org, "ola@example.coop", false).await;
    add_member(&server, &mut admin, &org, "mia@example.coop", false).await;

    // A recording of real media, ended: playable at once, composed by the server's worker.
    let state = &server.running.as_ref().unwrap().state;
    let (row, dir) = state
        .recordings
        .begin(&NewRecording {
            room: RoomId::parse(&room).unwrap(),
            meeting_id: room.clone(),
            meeting_ms: 1,
            name: "Assembly".into(),
            started_ms: plenary_proto::clock::unix_millis() as i64,
            meta: "{}".into(),
        })
        .await
        .unwrap();
    let f = |n: &str| dir.join(n).to_string_lossy().into_owned();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=320x240:r=15:d=3",
        "-c:v",
        "libvpx",
        &f("p1-camera.webm"),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=d=3",
        "-c:a",
        "libopus",
        &f("p1-microphone.webm"),
    ]);
    let tracks: Vec<_> = ["p1-camera.webm", "p1-microphone.webm"]
        .iter()
        .map(|n| plenary_record::files::track_file(&dir, n).unwrap().unwrap())
        .collect();
    let t = plenary_recordings::timeline_of(&row, &tracks, Vec::new(), Vec::new());
    state
        .recordings
        .end(&row.id, &t, row.started_ms + 3_000)
        .await
        .unwrap();
    let store = &state.store;
    for _ in 0..300 {
        if store.get_recording(&row.id).await.unwrap().unwrap().status == RecordingStatus::Ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = store.get_recording(&row.id).await.unwrap().unwrap();
    assert_eq!(ready.status, RecordingStatus::Ready);
    let remote = s3
        .as_ref()
        .map(|s| plenary_recordings::remote::Remote::from_url(&s.url).unwrap());
    if let Some(remote) = &remote {
        // Moved: in the bucket, checked, and no longer here.
        assert!(ready.remote);
        assert!(!dir.exists());
        assert_eq!(
            remote.list(&ready.folder).await.unwrap(),
            [
                "play/p1-camera.webm",
                "play/p1-microphone.webm",
                "recording.mp4",
                "timeline.json"
            ]
        );
    } else {
        assert!(!ready.remote && dir.join("recording.mp4").exists());
    }

    let key = state.recordings.link_key(&row.id);
    let id = &row.id;
    let page = format!("/recordings/{id}");
    let timeline = format!("/recordings/{id}/timeline.json");
    let track = format!("/recordings/{id}/media/p1-camera.webm");
    let mp4 = format!("/recordings/{id}/download");
    let with_key = |p: &str| format!("{p}?k={key}");
    let every = [page.clone(), timeline.clone(), track.clone(), mp4.clone()];

    // Closed by default: the owners only, even with the link.
    for p in &every {
        let got = owner.get(&server, p).await;
        assert_eq!(got.status, 200, "{p}: {}", got.body);
        assert_eq!(admin.get(&server, p).await.status, 200, "{p}");
        for b in [&mut mia, &mut sam, &mut anonymous] {
            assert_eq!(b.get(&server, p).await.status, 403, "{p}");
            assert_eq!(b.get(&server, &with_key(p)).await.status, 403, "{p}");
        }
    }
    // Seeking: a byte range of the track.
    let (status, range, n) = ranged(&mut owner, &server, &track, "bytes=100-199").await;
    assert_eq!((status, n), (206, 100));
    assert!(range.unwrap().starts_with("bytes 100-199/"));
    // Only the tracks the timeline names, never a path.
    assert_eq!(
        owner
            .get(
                &server,
                &format!("/recordings/{id}/media/..%2Ftimeline.json")
            )
            .await
            .status,
        404
    );
    assert_eq!(
        owner
            .get(&server, &format!("/recordings/{id}/media/recording.mp4"))
            .await
            .status,
        404
    );

    // Members of the owner's organisation.
    settings(&mut owner, &server, &room, "members").await;
    for p in &every {
        assert_eq!(mia.get(&server, p).await.status, 200, "{p}");
        assert_eq!(sam.get(&server, &with_key(p)).await.status, 403, "{p}");
        assert_eq!(
            anonymous.get(&server, &with_key(p)).await.status,
            403,
            "{p}"
        );
    }

    // Anyone with the link: its key, not the id alone, nor a wrong key.
    settings(&mut owner, &server, &room, "link").await;
    for p in &every {
        assert_eq!(
            anonymous.get(&server, &with_key(p)).await.status,
            200,
            "{p}"
        );
        assert_eq!(anonymous.get(&server, p).await.status, 403, "{p}");
        assert_eq!(
            anonymous
                .get(&server, &format!("{p}?k=0123456789abcdef0123456789abcdef"))
                .await
                .status,
            403,
            "{p}"
        );
    }
    let (status, _, _) = ranged(&mut anonymous, &server, &with_key(&track), "bytes=0-").await;
    assert_eq!(status, 206);
    // Protected (BBB `protect`): the link no longer opens it; members still may.
    let protect = RecordingUpdate {
        protected: Some(true),
        ..Default::default()
    };
    store.update_recording(id, &protect).await.unwrap();
    assert_eq!(anonymous.get(&server, &with_key(&mp4)).await.status, 403);
    assert_eq!(mia.get(&server, &mp4).await.status, 200);

    // Unpublished: owners only.
    let csrf = owner
        .csrf(&server, &format!("/rooms/{room}/recordings"))
        .await;
    let p = owner
        .post(
            &server,
            &format!("/recordings/{id}/publish"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(!store.get_recording(id).await.unwrap().unwrap().published);
    assert_eq!(mia.get(&server, &mp4).await.status, 403);
    assert_eq!(owner.get(&server, &mp4).await.status, 200);

    // Nobody else manages it: the list, deleting.
    assert_eq!(
        mia.get(&server, &format!("/rooms/{room}/recordings"))
            .await
            .status,
        403
    );
    let sam_csrf = sam.csrf(&server, "/rooms").await;
    assert_eq!(
        sam.post(
            &server,
            &format!("/recordings/{id}/delete"),
            &[("csrf", &sam_csrf)]
        )
        .await
        .status,
        403
    );
    // My rooms shows the state.
    let rooms = owner.get(&server, "/rooms").await.body;
    assert!(
        rooms.contains(&format!(
            "href=\"/rooms/{room}/recordings\" data-recordings=\"1\""
        )),
        "{rooms}"
    );
    // The owner deletes: the files are gone for real, and the recording with them.
    let p = owner
        .post(
            &server,
            &format!("/recordings/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(!dir.exists());
    if let Some(remote) = &remote {
        assert!(
            remote.list(&ready.folder).await.unwrap().is_empty(),
            "deleted in the bucket too"
        );
    }
    assert_eq!(owner.get(&server, &page).await.status, 404);
    server.stop().await;
}
