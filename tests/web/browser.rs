//! The pages in headless Chromium, driven through chromedriver (WebDriver) against the
//! demo data: what a leader sees, that it matches the API, that nothing leaves the
//! server, and full-page screenshots in `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`). Without them the test says SKIPPED, unless `CI` is set: then
//! it fails, since CI installs them.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fantoccini::wd::{PrintConfiguration, PrintSize, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use offerlab::analysis::words::{p_value, percent, percent_range};
use serde_json::{Value, json};

use crate::helpers::{GENERATED_STATES, Server, demo, keys};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser can run; under CI a missing browser is a failure.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} missing under CI: browser tests may not be skipped (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    eprintln!(
        "SKIPPED (browser): {} not installed; run apt-get install -y chromium chromium-driver",
        missing.join(" and ")
    );
    false
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// A chromedriver this test started on a free port; stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(format!("{}status", driver.url))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn session(&self, profile: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's browser log (console messages, failed loads, CSP violations).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

async fn cdp(c: &Client, cmd: &'static str, params: Value) -> Value {
    c.issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
}

/// Log entries since the last read.
async fn browser_log(c: &Client) -> Vec<Value> {
    c.issue_cmd(BrowserLog)
        .await
        .expect("browser log")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script {script}: {e}"))
}

async fn count(c: &Client, selector: &str) -> usize {
    js(
        c,
        "return document.querySelectorAll(arguments[0]).length;",
        vec![json!(selector)],
    )
    .await
    .as_u64()
    .expect("count") as usize
}

async fn text(c: &Client, selector: &str) -> String {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .text()
        .await
        .expect("text")
}

/// No console error, nothing loaded from outside `origin`, no absolute URL in the page.
async fn assert_clean(c: &Client, origin: &str, what: &str) {
    let errors: Vec<Value> = browser_log(c)
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "{what}: console errors {errors:#?}");
    let resources = js(
        c,
        "return performance.getEntriesByType('resource').map(e => e.name);",
        vec![],
    )
    .await;
    let resources = resources.as_array().expect("resources");
    assert!(!resources.is_empty(), "{what}: the stylesheet at least");
    for r in resources {
        let r = r.as_str().expect("name");
        assert!(
            r.starts_with(&format!("{origin}/")),
            "{what}: {r} left the server"
        );
    }
    let refs = js(
        c,
        "return Array.from(document.querySelectorAll('[href],[src],[action],[srcset]'))\
         .flatMap(e => ['href', 'src', 'action', 'srcset'].map(a => e.getAttribute(a)).filter(v => v !== null));",
        vec![],
    )
    .await;
    for r in refs.as_array().expect("references") {
        let r = r.as_str().expect("reference");
        assert!(
            r.starts_with('/') || r.starts_with('#') || r == "data:,",
            "{what}: reference {r:?} is not relative"
        );
    }
    let html = c.source().await.expect("page source");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{what}: an absolute URL in the page"
    );
}

/// A PNG of the whole page, beyond the viewport.
async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let metrics = cdp(c, "Page.getLayoutMetrics", json!({})).await;
    let size = &metrics["cssContentSize"];
    let (width, height) = (
        size["width"].as_f64().expect("width"),
        size["height"].as_f64().expect("height"),
    );
    let shot = cdp(
        c,
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }),
    )
    .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    let path = screenshots_dir().join(name);
    std::fs::write(&path, png).expect("write screenshot");
    path
}

/// Runs `check` in a fresh Chromium session on the demo service, closing the browser
/// whether the check passes or panics (then the panic is resumed).
async fn in_browser(
    check: for<'a> fn(&'a Client, &'a Server) -> futures_util::future::BoxFuture<'a, ()>,
) {
    if !browser_available() {
        return;
    }
    let server = demo();
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().expect("profile folder");
    let client = driver.session(profile.path()).await;
    let result = AssertUnwindSafe(check(&client, server))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_in_headless_chromium() {
    in_browser(|c, s| Box::pin(check_pages(c, s))).await;
}

async fn check_pages(c: &Client, server: &Server) {
    let origin = server.address.as_str();

    // The console check reads what it should: a probe error shows up.
    c.goto(&server.url("/")).await.expect("portfolio");
    js(c, "console.error('offerlab-probe');", vec![]).await;
    let probe = browser_log(c).await;
    assert!(
        probe.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("offerlab-probe"))),
        "the browser log is readable: {probe:?}"
    );

    portfolio(c, server).await;
    assert_clean(c, origin, "portfolio").await;
    screenshot(c, "portfolio.png").await;

    for key in keys(&server.portfolio().await) {
        readout(c, server, &key).await;
        assert_clean(c, origin, &key).await;
        screenshot(c, &format!("readout-{key}.png")).await;
    }

    // Generated states as well as the demo: the headline the browser shows is the
    // verdict's own figure, and never tells another story than the verdict.
    let generated = Server::start(false);
    for (i, (mode, n, k)) in GENERATED_STATES.iter().enumerate() {
        let key = generated.pilot(i, mode, *n, *k).await;
        readout(c, &generated, &key).await;
        assert_clean(c, &generated.address, &key).await;
        let report = generated
            .json(&format!("/api/v1/initiatives/{key}/report"))
            .await;
        let headline = match &report["demand"]["fixed_read"] {
            Value::Null => &report["demand"],
            read => read,
        };
        let (low, high) = (
            headline["ci"]["low"].as_f64().expect("low"),
            headline["ci"]["high"].as_f64().expect("high"),
        );
        let status = report["verdict"]["status"].as_str().expect("status");
        let what = format!("{key} ({mode}, {k} of {n}): {status}");
        match status {
            "validated" => assert!(low > 0.05, "{what}"),
            "not_validated" => assert!(high < 0.05, "{what}"),
            "inconclusive" => assert!(low <= 0.05 && 0.05 <= high, "{what}"),
            _ => {}
        }
        let block = text(c, ".verdict-block").await;
        assert!(
            !block.contains("Chance"),
            "{what}: a competing figure in the verdict"
        );
        assert_eq!(
            count(c, &format!(".verdict-block[data-verdict=\"{status}\"]")).await,
            1,
            "{what}"
        );
    }

    // Print on A4.
    c.goto(&server.url("/initiatives/team-workspaces"))
        .await
        .expect("readout");
    let pdf = c
        .print(
            PrintConfiguration::builder()
                .size(PrintSize::A4)
                .background(true)
                .build()
                .expect("print configuration"),
        )
        .await
        .expect("print");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    std::fs::write(
        screenshots_dir().join("readout-team-workspaces-a4.pdf"),
        pdf,
    )
    .expect("write PDF");
    assert_clean(c, origin, "print").await;

    // An unknown initiative is a page too (the 404 itself is logged by the browser).
    c.goto(&server.url("/initiatives/no-such-pilot"))
        .await
        .expect("404 page");
    assert!(text(c, "h1").await.contains("No initiative called"));
    browser_log(c).await;
}

/// The widths every page must fit: two desktops, a small laptop, a phone.
const WIDTHS: [(u32, u32, bool); 4] = [
    (1440, 900, false),
    (1280, 800, false),
    (1024, 768, false),
    (390, 844, true),
];

/// What does not fit at the current width: the page scrolling sideways, an SVG (or a
/// label inside it) outside its container (a horizontally scrolling box stands in for
/// the container: then that box must fit), a badge or a card whose text overflows it.
const FIT_PROBLEMS: &str = r#"
const out = [];
const de = document.documentElement;
if (de.scrollWidth > de.clientWidth) {
    out.push(`page: scrollWidth ${de.scrollWidth} > clientWidth ${de.clientWidth}`);
}
const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1
    && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '');
const scrolls = e => /(auto|scroll)/.test(getComputedStyle(e).overflowX);
// Every ancestor up to <body> contains the box, up to the first box that scrolls
// sideways; that one must then fit in its own ancestors.
const contained = (el, what) => {
    let box = el.getBoundingClientRect();
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const pb = p.getBoundingClientRect();
        if (getComputedStyle(p).display === 'contents') continue;
        if (scrolls(p)) { box = pb; continue; }
        if (!inside(box, pb)) {
            out.push(`${what}: ${JSON.stringify([box.left, box.right])} outside ${name(p)} ${JSON.stringify([pb.left, pb.right])}`);
            return;
        }
    }
};
// Chart text must be readable where it is drawn: a chart shows the layout that fits
// its box (the other is display: none), so its text never shrinks below this.
const MIN_TEXT_HEIGHT = 10;
document.querySelectorAll('svg').forEach((svg, i) => {
    if (svg.getClientRects().length === 0) return; // the layout not shown
    const what = `svg ${i} ${svg.getAttribute('class') || ''}`;
    contained(svg, what);
    const box = svg.getBoundingClientRect();
    svg.querySelectorAll('text').forEach(t => {
        const r = t.getBoundingClientRect();
        if (r.width > 0 && !inside(r, box)) {
            out.push(`${what}: label "${t.textContent.trim()}" cut at ${JSON.stringify([r.left, r.right, r.top, r.bottom])}, chart ${JSON.stringify([box.left, box.right, box.top, box.bottom])}`);
        }
        if (r.width > 0 && r.height < MIN_TEXT_HEIGHT) {
            out.push(`${what}: label "${t.textContent.trim()}" drawn ${r.height.toFixed(1)} px high (< ${MIN_TEXT_HEIGHT})`);
        }
    });
});
// Every chart frame shows exactly one of its layouts.
document.querySelectorAll('.chart-frame.responsive').forEach((f, i) => {
    const shown = Array.from(f.querySelectorAll('svg.chart')).filter(s => s.getClientRects().length > 0).length;
    if (shown !== 1) out.push(`chart frame ${i}: ${shown} layouts shown`);
});
document.querySelectorAll('.badge').forEach(b => {
    if (b.scrollWidth > b.clientWidth) {
        out.push(`badge "${b.textContent.trim()}": scrollWidth ${b.scrollWidth} > clientWidth ${b.clientWidth}`);
    }
    contained(b, `badge "${b.textContent.trim()}"`);
});
document.querySelectorAll('.card, .figure, .tile, .verdict-block, .decision-entry, .inbox-entry, .banner, form.filters, table.portfolio tbody tr').forEach(e => {
    if (e.scrollWidth > e.clientWidth + 1) {
        out.push(`${name(e)}: text overflows, scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}`);
    }
});
// What scrolls sideways: from a laptop up nothing needs to; on a phone only a data
// table, in its .table-scroll box (which shows that it scrolls), never a chart or the
// portfolio.
const narrow = window.innerWidth < 760;
document.querySelectorAll('main *').forEach(e => {
    if (scrolls(e) && e.scrollWidth > e.clientWidth + 1) {
        const allowed = narrow && e.matches('.table-scroll') && !e.querySelector('table.portfolio, svg');
        if (!allowed) {
            out.push(`${name(e)} scrolls sideways: scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}`);
        }
    }
});
return out;
"#;

/// Every page of the demo at every width in [`WIDTHS`]: nothing wider than the screen,
/// nothing cut, with a screenshot of each in `target/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_every_screen() {
    in_browser(|c, s| Box::pin(check_fit(c, s))).await;
}

async fn check_fit(c: &Client, server: &Server) {
    let mut pages = vec![("/".to_owned(), "portfolio".to_owned())];
    for key in keys(&server.portfolio().await) {
        pages.push((format!("/initiatives/{key}"), format!("readout-{key}")));
    }
    // The pages of people, signed out: sign-in and an open invite.
    let invite = invite_path(server, "fit-invitee@example.com", "viewer", &[]).await;
    pages.push(("/sign-in".to_owned(), "sign-in".to_owned()));
    pages.push((invite, "invite".to_owned()));
    let mut problems = fit_pages(c, server, &pages).await;
    // Signed in as an admin: the users page, the account page, and a running pilot's
    // readout with its decision form.
    let email = "fit-admin@example.com";
    let invite = invite_path(server, email, "admin", &[]).await;
    set_password_over_http(server, &invite).await;
    browser_sign_in(c, server, email).await;
    let running = server
        .portfolio()
        .await
        .into_iter()
        .find(|e| e["status"] == "running")
        .and_then(|e| e["key"].as_str().map(str::to_owned))
        .expect("a running demo pilot");
    let signed_in = vec![
        ("/users".to_owned(), "users".to_owned()),
        ("/account".to_owned(), "account".to_owned()),
        ("/audit".to_owned(), "audit".to_owned()),
        (
            format!("/initiatives/{running}"),
            format!("readout-{running}-decide"),
        ),
    ];
    c.goto(&server.url(&signed_in[3].0)).await.expect("readout");
    assert_eq!(
        count(c, "form[action$='/decide']").await,
        1,
        "an admin sees the form"
    );
    problems.extend(fit_pages(c, server, &signed_in).await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What does not fit on `pages` at every width in [`WIDTHS`], with a screenshot each.
async fn fit_pages(c: &Client, server: &Server, pages: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (width, height, mobile) in WIDTHS {
        cdp(
            c,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
        for (path, name) in pages {
            c.goto(&server.url(path)).await.expect("page");
            // Every <details> open: what it holds must fit as well.
            js(
                c,
                "document.querySelectorAll('details').forEach(d => d.open = true);",
                vec![],
            )
            .await;
            let found = js(c, FIT_PROBLEMS, vec![]).await;
            problems.extend(
                found
                    .as_array()
                    .expect("problems")
                    .iter()
                    .map(|p| format!("{path} at {width} px: {}", p.as_str().unwrap_or("?"))),
            );
            screenshot(c, &format!("{name}-{width}.png")).await;
        }
    }
    cdp(c, "Emulation.clearDeviceMetricsOverride", json!({})).await;
    problems
}

/// The password every person of these tests sets.
const PASSWORD: &str = "browser test passphrase";

/// Invites someone through the API (admin key): the invite link's path.
async fn invite_path(server: &Server, email: &str, role: &str, teams: &[&str]) -> String {
    let invited = server
        .post(
            "/api/v1/users/invites",
            &json!({"email": email, "name": format!("Fit {role}"), "role": role, "teams": teams}),
        )
        .await;
    let url = invited["invite_url"].as_str().expect("invite_url");
    url.strip_prefix(&server.address)
        .expect("same host")
        .to_owned()
}

async fn set_password_over_http(server: &Server, invite: &str) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("password", PASSWORD)
        .append_pair("confirm", PASSWORD)
        .finish();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(server.url(invite))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("set password");
    assert_eq!(r.status(), 303);
}

async fn fill(c: &Client, selector: &str, value: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
}

async fn click(c: &Client, selector: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// Waits for an element of the next page.
async fn arrive(c: &Client, selector: &str) {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("waiting for {selector}: {e}"));
}

/// Signs the browser in with the sign-in form.
async fn browser_sign_in(c: &Client, server: &Server, email: &str) {
    c.goto(&server.url("/sign-in")).await.expect("sign-in page");
    assert_eq!(
        count(c, "form.sign-out").await,
        0,
        "signed out: no Sign out"
    );
    fill(c, "#email", email).await;
    fill(c, "#password", PASSWORD).await;
    click(c, "#sign-in").await;
    arrive(c, "form.sign-out").await;
}

/// What a leader does: accept an invite, set a password, sign in, read the JSON and CSV
/// behind a readout through its links, record a decision from the form, sign out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_sign_in_read_decide_sign_out() {
    in_browser(|c, _| Box::pin(check_people(c))).await;
}

async fn check_people(c: &Client) {
    let server = Server::start(false);
    let key = server.pilot(0, "sequential", 300, 60).await;
    let report = server
        .json(&format!("/api/v1/initiatives/{key}/report"))
        .await;
    assert_eq!(report["verdict"]["status"], "validated", "a pilot to scale");
    let email = "wren@example.com";
    let invite = invite_path(&server, email, "writer", &["growth"]).await;

    // The invite: a styled page, no "Sign out", two password fields.
    c.goto(&server.url(&invite)).await.expect("invite page");
    assert!(text(c, "h1").await.contains("Welcome, Fit writer"));
    assert_eq!(count(c, "form.sign-out").await, 0);
    fill(c, "#password", PASSWORD).await;
    fill(c, "#confirm", PASSWORD).await;
    click(c, "#set-password").await;
    arrive(c, "p.done").await;
    assert!(
        c.current_url()
            .await
            .expect("url")
            .as_str()
            .ends_with("/sign-in?welcome=1")
    );
    // The link works once.
    c.goto(&server.url(&invite)).await.expect("used invite");
    assert!(text(c, "h1").await.contains("used already"));

    // Not signed in: the API answers 401 to the browser.
    let readout = format!("/initiatives/{key}");
    c.goto(&server.url(&format!("/api/v1/initiatives/{key}/report")))
        .await
        .expect("report");
    assert!(
        js(c, "return document.body.innerText;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .contains("401")
    );
    browser_log(c).await;

    browser_sign_in(c, &server, email).await;
    assert!(text(c, "header.site nav").await.contains("Fit writer"));

    // The JSON link, followed by the signed-in browser.
    c.goto(&server.url(&readout)).await.expect("readout");
    click(c, "#report-json").await;
    arrive(c, "pre").await;
    let body = js(
        c,
        "return document.querySelector('pre').textContent;",
        vec![],
    )
    .await;
    let json: Value = serde_json::from_str(body.as_str().expect("text")).expect("JSON report");
    assert_eq!(json["initiative"]["key"], key.as_str());
    assert_eq!(json["demand"]["exposures"], report["demand"]["exposures"]);

    // The CSV link: a download of the same report.
    let downloads = tempfile::tempdir().expect("download folder");
    cdp(
        c,
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.path().display().to_string()}),
    )
    .await;
    c.goto(&server.url(&readout)).await.expect("readout");
    click(c, "#report-csv").await;
    let mut csv = String::new();
    for _ in 0..200 {
        let done = std::fs::read_dir(downloads.path())
            .expect("downloads")
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "csv"));
        if let Some(file) = done {
            csv = std::fs::read_to_string(file.path()).expect("CSV");
            if !csv.is_empty() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        csv.lines().count() > 1,
        "the CSV export downloaded: {csv:?}"
    );
    assert!(csv.contains("smb"), "{csv}");

    // Decide from the readout's form.
    c.goto(&server.url(&readout)).await.expect("readout");
    c.find(Locator::Css("#decide-decision"))
        .await
        .expect("decision field")
        .select_by_value("scale")
        .await
        .expect("choose scale");
    fill(
        c,
        "#decide-note",
        "Demand is clear: roll it out to every SMB account.",
    )
    .await;
    click(c, "#record-decision").await;
    arrive(c, "li.decision-entry").await;
    assert!(text(c, "#decision-log").await.contains("By Fit writer"));
    assert_eq!(
        count(c, "form[action$='/decide']").await,
        0,
        "concluded: no form"
    );
    let log = server
        .json(&format!("/api/v1/initiatives/{key}/decisions"))
        .await;
    assert_eq!(log["decisions"][0]["decided_by"], "Fit writer");
    assert_eq!(log["decisions"][0]["decision"], "scale");
    assert_clean(c, &server.address, "decided").await;
    screenshot(c, "readout-decided.png").await;

    // Sign out: back to the sign-in page, and the API closed again.
    click(c, "form.sign-out button").await;
    arrive(c, "#email").await;
    assert_eq!(count(c, "form.sign-out").await, 0);
    c.goto(&server.url(&format!("/api/v1/initiatives/{key}/report")))
        .await
        .expect("report");
    assert!(
        js(c, "return document.body.innerText;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .contains("401")
    );
    browser_log(c).await;
}

async fn portfolio(c: &Client, server: &Server) {
    let api = server.portfolio().await;
    assert_eq!(
        count(c, "table.portfolio tbody tr").await,
        api.len(),
        "every initiative"
    );
    for e in &api {
        let key = e["key"].as_str().expect("key");
        let row = format!("table.portfolio tr[data-key=\"{key}\"]");
        assert_eq!(
            text(c, &format!("{row} a.name")).await,
            e["name"].as_str().expect("name")
        );
        assert_eq!(count(c, &format!("{row} svg.chart-strip")).await, 1);
        if let (Some(rate), Some(low), Some(high)) = (
            e["rate"].as_f64(),
            e["ci"]["low"].as_f64(),
            e["ci"]["high"].as_f64(),
        ) {
            assert_eq!(text(c, &format!("{row} .rate-value")).await, percent(rate));
            assert_eq!(
                text(c, &format!("{row} .rate-interval")).await,
                percent_range(low, high)
            );
            assert_eq!(
                count(c, &format!("{row} svg g.mark-interval > *")).await,
                1,
                "{key}: its interval"
            );
        }
    }
    // The strips' scale reaches the largest upper bound (or target) on the page, not 100%.
    let top = api
        .iter()
        .filter_map(|e| e["ci"]["high"].as_f64().or(e["rate"].as_f64()))
        .chain(
            api.iter()
                .filter_map(|e| e["target_preorder_rate"].as_f64()),
        )
        .fold(0.0, f64::max);
    let scale = offerlab::web::charts::rate_axis_max(top);
    assert!(
        scale < 0.5,
        "a scale that shows rates of a few percent: {scale}"
    );
    assert!(
        text(c, "#rate-scale")
            .await
            .starts_with(&format!("Scale 0–{}", percent(scale))),
        "the scale is labelled"
    );
    // The Benjamini-Hochberg p-values the API computes, with what they are.
    let adjusted: Vec<(&str, f64)> = api
        .iter()
        .filter_map(|e| Some((e["key"].as_str()?, e["p_value_bh"].as_f64()?)))
        .collect();
    assert!(!adjusted.is_empty(), "the demo has running pilots");
    assert_eq!(count(c, ".p-adjusted").await, adjusted.len());
    for (key, p) in &adjusted {
        assert_eq!(
            text(
                c,
                &format!("table.portfolio tr[data-key=\"{key}\"] .p-adjusted")
            )
            .await,
            format!("Adjusted {}", p_value(*p))
        );
    }
    assert!(
        text(c, "#bh-note").await.contains(&format!(
            "for the {} running pilots (Benjamini-Hochberg)",
            adjusted.len()
        )),
        "the adjustment is explained"
    );
    // Rows in the portfolio's order: what needs a decision first.
    let shown = js(
        c,
        "return Array.from(document.querySelectorAll('table.portfolio tbody tr')).map(r => r.dataset.key);",
        vec![],
    )
    .await;
    assert_eq!(shown, json!(keys(&api)));
}

async fn readout(c: &Client, server: &Server, key: &str) {
    let report = server
        .json(&format!("/api/v1/initiatives/{key}/report"))
        .await;
    c.goto(&server.url(&format!("/initiatives/{key}")))
        .await
        .expect("readout");
    assert_eq!(
        text(c, "#summary").await,
        report["summary"].as_str().expect("summary"),
        "{key}: the verdict sentence"
    );
    assert_eq!(
        text(c, "h1").await,
        report["initiative"]["name"].as_str().expect("name")
    );
    let srm_warning = report["srm"]["mismatch"] == true;
    assert_eq!(count(c, "#srm-warning").await, usize::from(srm_warning));

    let demand = &report["demand"];
    if demand["exposures"] == 0 {
        assert!(text(c, "#next-steps").await.contains("No exposures yet"));
        assert_eq!(count(c, "svg.chart").await, 0, "{key}: no empty charts");
        return;
    }
    // The same rate and interval as the API, formatted as the verdict formats them.
    let headline = match &demand["fixed_read"] {
        Value::Null => demand,
        read => read,
    };
    let interval = &headline["ci"];
    assert_eq!(
        text(c, "#rate").await,
        percent(headline["rate"].as_f64().expect("rate"))
    );
    assert_eq!(
        text(c, "#rate-interval").await,
        percent_range(
            interval["low"].as_f64().expect("low"),
            interval["high"].as_f64().expect("high")
        )
    );

    // The charts, mark by mark, in both layouts (wide and narrow).
    for layout in [":not(.narrow)", ".narrow"] {
        let segments = report["segments"].as_array().expect("segments");
        let with_interval = |rows: &[Value]| {
            rows.iter()
                .filter(|s| !s["rate"].is_null() && !s["ci"].is_null())
                .count()
        };
        assert_eq!(
            count(c, &format!("svg.chart-forest{layout} g.mark-interval > *")).await,
            with_interval(segments),
            "{key} {layout}: one interval per segment"
        );
        assert_eq!(
            count(c, &format!("svg.chart-forest{layout} g.mark-point > *")).await,
            with_interval(segments),
            "{key} {layout}: one point per segment"
        );
        assert_eq!(
            count(c, &format!("svg.chart-forest{layout} g.band-highlight > *")).await,
            segments.iter().filter(|s| s["breakout"] == true).count(),
            "{key} {layout}: breakouts highlighted"
        );
        if report["enthusiasm"]["responses"].as_u64() > Some(0) {
            let loving = usize::from(report["enthusiasm"]["love"].as_u64() > Some(0))
                + segments
                    .iter()
                    .filter(|s| s["love"].as_u64() > Some(0))
                    .count();
            assert_eq!(
                count(
                    c,
                    &format!("svg.chart-sentiment{layout} g.mark-love > rect")
                )
                .await,
                loving,
                "{key} {layout}: a love bar per row with lovers"
            );
            assert_eq!(count(c, &format!("svg.chart-say-do{layout}")).await, 1);
        }
        let days = report["timeline"].as_array().expect("timeline");
        assert_eq!(
            count(
                c,
                &format!("svg.chart-timeline{layout} g.mark-rate > circle")
            )
            .await,
            days.iter().filter(|d| !d["rate"].is_null()).count(),
            "{key} {layout}: a dot per day"
        );
        assert_eq!(
            count(
                c,
                &format!("svg.chart-timeline{layout} g.mark-band > polygon")
            )
            .await,
            1
        );
        let variants = report["variants"].as_array().expect("variants");
        if !variants.is_empty() {
            assert_eq!(
                count(
                    c,
                    &format!("svg.chart-variants{layout} g.mark-interval > *")
                )
                .await,
                with_interval(variants),
                "{key} {layout}: one interval per variant"
            );
        }
    }
    // Every chart scales with its box and has its numbers in a table beside it.
    let charts = js(
        c,
        "return Array.from(document.querySelectorAll('svg.chart')).filter(s => s.getClientRects().length > 0).map(s => ({\
            viewBox: s.getAttribute('viewBox'),\
            width: s.getBoundingClientRect().width,\
            label: s.getAttribute('aria-label'),\
            table: !!s.closest('td, .figure') || !!s.closest('section').querySelector('table')\
         }));",
        vec![],
    )
    .await;
    for chart in charts.as_array().expect("charts") {
        assert!(chart["viewBox"].is_string(), "{key}: {chart}");
        assert!(chart["width"].as_f64() > Some(100.0), "{key}: {chart}");
        assert!(chart["label"].as_str().is_some_and(|l| !l.is_empty()));
        assert_eq!(chart["table"], true, "{key}: numbers beside {chart}");
    }
}

/// The admin inbox page at every width in [`WIDTHS`], with long ids, reasons and
/// payloads, signed in with an admin key through the sign-in form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_fits_every_screen() {
    in_browser(|c, s| Box::pin(check_inbox_fit(c, s))).await;
}

async fn check_inbox_fit(c: &Client, server: &Server) {
    use offerlab::store::{Store, inbox};
    let mut settings =
        offerlab::settings::Settings::load_from(std::path::Path::new("config"), "test").unwrap();
    settings.database.url = server.database_url.as_str().into();
    let store = Store::open(settings.store_options().unwrap()).unwrap();
    let mut conn = store.conn().unwrap();
    let long = "x".repeat(180);
    for (i, initiative) in [Some("team-workspaces"), None].into_iter().enumerate() {
        let payload = serde_json::json!({
            "id": format!("evt_{i}_{long}"), "type": "checkout.session.completed",
            "data": {"object": {"client_reference_id": format!("ghost:{long}"), "amount_total": 1900}}
        });
        inbox::keep(
            &mut conn,
            inbox::NewEntry {
                provider: offerlab::intake::Provider::Stripe,
                external_id: format!("evt_{i}_{long}"),
                kind: "checkout.session.completed".into(),
                initiative: initiative.map(str::to_owned),
                reason: format!("unknown initiative 'ghost-{long}'"),
                payload: serde_json::to_string_pretty(&payload).unwrap(),
                received_at: chrono::Utc::now(),
            },
        )
        .unwrap();
    }
    drop(conn);
    // An admin signs in through the form, as a person.
    let email = "inbox-admin@example.com";
    let invite = invite_path(server, email, "admin", &[]).await;
    set_password_over_http(server, &invite).await;
    browser_sign_in(c, server, email).await;
    c.goto(&server.url("/inbox?status=all"))
        .await
        .expect("inbox");
    assert_eq!(
        count(c, "li.inbox-entry").await,
        2,
        "the inbox lists the entries"
    );
    let pages = [("/inbox?status=all".to_owned(), "inbox".to_owned())];
    let problems = fit_pages(c, server, &pages).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The admin pages (users, audit log, inbox) are linked from every page's navigation
/// for an admin only: not for a viewer, not for a signed-out visitor. On a phone the
/// navigation wraps: every link stays inside the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_links_for_admins_only() {
    in_browser(|c, s| Box::pin(check_admin_links(c, s))).await;
}

async fn check_admin_links(c: &Client, server: &Server) {
    const ADMIN_LINKS: &str = "header.site nav a[href='/users'], header.site nav a[href='/audit'], header.site nav a[href='/inbox']";
    c.goto(&server.url("/sign-in")).await.expect("sign-in");
    assert_eq!(count(c, ADMIN_LINKS).await, 0, "signed out: no admin links");

    let viewer = "links-viewer@example.com";
    let invite = invite_path(server, viewer, "viewer", &[]).await;
    set_password_over_http(server, &invite).await;
    browser_sign_in(c, server, viewer).await;
    c.goto(&server.url("/")).await.expect("portfolio");
    assert_eq!(
        count(c, ADMIN_LINKS).await,
        0,
        "a viewer sees no admin links"
    );
    click(c, "form.sign-out button").await;
    arrive(c, "#email").await;

    let admin = "links-admin@example.com";
    let invite = invite_path(server, admin, "admin", &[]).await;
    set_password_over_http(server, &invite).await;
    browser_sign_in(c, server, admin).await;
    for (width, height, mobile) in WIDTHS {
        cdp(
            c,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
        c.goto(&server.url("/")).await.expect("portfolio");
        assert_eq!(
            count(c, ADMIN_LINKS).await,
            3,
            "an admin sees the admin links"
        );
        let outside = js(
            c,
            &format!(
                "return Array.from(document.querySelectorAll(\"{ADMIN_LINKS}\")).filter(a => {{\
                   const r = a.getBoundingClientRect();\
                   return r.width === 0 || r.left < 0 || r.right > document.documentElement.clientWidth;\
                 }}).map(a => a.getAttribute('href'));"
            ),
            vec![],
        )
        .await;
        assert_eq!(
            outside,
            json!([]),
            "at {width} px every admin link is on screen"
        );
        screenshot(c, &format!("nav-admin-{width}.png")).await;
    }
    cdp(c, "Emulation.clearDeviceMetricsOverride", json!({})).await;
    for (href, heading) in [
        ("/audit", "Audit"),
        ("/inbox", "Inbox"),
        ("/users", "Users"),
    ] {
        c.goto(&server.url("/")).await.expect("portfolio");
        click(c, &format!("header.site nav a[href='{href}']")).await;
        arrive(c, "h1").await;
        assert!(text(c, "h1").await.contains(heading), "{href}");
    }
}
