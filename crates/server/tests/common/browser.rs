//! A browser-like client for the portal's pages, and the steps tests take with it.

use super::TestServer;

/// A browser-like client: keeps cookies by hand (names and values), follows no redirects.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
    pub lang: Option<&'static str>,
    /// The client address a trusted proxy forwards for this browser (`X-Forwarded-For`).
    pub from: Option<&'static str>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(k, _)| k != name);
        if !value.is_empty() {
            self.cookies.push((name.into(), value.into()));
        }
    }

    pub async fn send(&mut self, r: reqwest::RequestBuilder) -> Page {
        let mut r = r.header("cookie", self.header());
        if let Some(l) = self.lang {
            r = r.header("accept-language", l);
        }
        if let Some(f) = self.from {
            r = r.header("x-forwarded-for", f);
        }
        let resp = r.send().await.unwrap();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.set(k, val);
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn post_owned(
        &mut self,
        server: &TestServer,
        path: &str,
        form: &[(&str, String)],
    ) -> Page {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(server, path, &pairs).await
    }

    pub async fn get(&mut self, server: &TestServer, path: &str) -> Page {
        self.send(client().get(format!("http://{}{path}", server.http)))
            .await
    }

    pub async fn post(&mut self, server: &TestServer, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            client()
                .post(format!("http://{}{path}", server.http))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&mut self, server: &TestServer, path: &str) -> String {
        let page = self.get(server, path).await;
        value_after(&page.body, "name=\"csrf\" value=\"")
    }

    pub async fn sign_up(
        &mut self,
        server: &TestServer,
        name: &str,
        email: &str,
        password: &str,
    ) -> Page {
        let csrf = self.csrf(server, "/signup").await;
        let p = self
            .post(
                server,
                "/signup",
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        // Sign-up never signs in (its answer tells nobody whether the address was free): the
        // person signs in next, which works when the account is new and active.
        if p.status == 200 && p.body.contains("id=\"form-notice\"") {
            let signed_in = self.sign_in(server, email, password).await;
            if signed_in.status == 303 {
                return signed_in;
            }
        }
        p
    }

    /// Creates a room from the rooms page (with the page's `csrf`) and returns its id.
    pub async fn new_room(&mut self, server: &TestServer, csrf: &str, name: &str) -> String {
        let before = room_ids(&self.get(server, "/rooms").await.body);
        let p = self
            .post(server, "/rooms", &[("csrf", csrf), ("name", name)])
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        // Rooms made in the same second are listed in id order: the one not there before.
        let after = room_ids(&self.get(server, "/rooms").await.body);
        after
            .into_iter()
            .find(|id| !before.contains(id))
            .expect("the new room is listed")
    }

    pub async fn sign_in(&mut self, server: &TestServer, email: &str, password: &str) -> Page {
        let csrf = self.csrf(server, "/signin").await;
        self.post(
            server,
            "/signin",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The admin account the server made on its first start: (email, password).
pub fn first_admin(server: &TestServer) -> (String, String) {
    server
        .running
        .as_ref()
        .unwrap()
        .first_admin
        .clone()
        .unwrap()
}

/// Every `data-room` id on a page, in order.
pub fn room_ids(body: &str) -> Vec<String> {
    body.split("data-room=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The text following the first `marker` in `body`, up to the next `"`.
pub fn value_after(body: &str, marker: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {body}"));
    let rest = &body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Creates an organisation as `admin` and returns its id (from the link on /admin/orgs).
pub async fn make_org(server: &TestServer, admin: &mut Browser, name: &str) -> String {
    let csrf = admin.csrf(server, "/admin/orgs").await;
    let p = admin
        .post(server, "/admin/orgs", &[("csrf", &csrf), ("name", name)])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = admin.get(server, "/admin/orgs").await;
    let row = format!("<tr data-org=\"{name}\"><td><a href=\"/orgs/");
    value_after(&page.body, &row)
}

/// Adds `email` to organisation `org` through the platform admin's page.
pub async fn add_member(
    server: &TestServer,
    admin: &mut Browser,
    org: &str,
    email: &str,
    org_admin: bool,
) {
    let csrf = admin.csrf(server, "/admin/orgs").await;
    let mut form = vec![("csrf", csrf.as_str()), ("org", org), ("email", email)];
    if org_admin {
        form.push(("org_admin", "on"));
    }
    let p = admin.post(server, "/admin/orgs/members", &form).await;
    assert_eq!(p.status, 303, "{}", p.body);
}
