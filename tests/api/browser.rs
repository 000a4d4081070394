//! End to end in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven through WebDriver signs in to the example relying party through
//! Tessera's login and consent pages. A screenshot of every page visited is saved under
//! `test-output/browser/`. Without a driver the test says so and skips, unless
//! `TESSERA_REQUIRE_BROWSER` is set (as CI sets it), when a missing driver is a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::Command;

use crate::children::{Output, Process, try_start, word_after};
use crate::examples::ExampleStack;
use crate::helpers::ADMIN_PASSWORD;

/// How long to wait for an element: a click starts a navigation through redirects, a token
/// exchange and API calls, which a busy machine may take a while to finish.
const PAGE_WAIT: Duration = Duration::from_secs(30);

/// How often to look for the element meanwhile (fantoccini's default, 250 ms, adds up over
/// the dozen or so pages this test waits for).
const PAGE_POLL: Duration = Duration::from_millis(50);

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// chromedriver and chromium, when both are installed.
pub fn browser_programs() -> Option<(PathBuf, PathBuf)> {
    let driver = find_program("chromedriver")?;
    let browser = find_program("chromium").or_else(|| find_program("chromium-browser"))?;
    Some((driver, browser))
}

/// Numbered screenshots under `test-output/browser/`.
pub struct Shots {
    dir: PathBuf,
    prefix: String,
    count: usize,
}

impl Shots {
    /// Screenshots numbered from 01.
    pub fn new() -> Shots {
        Self::with_prefix("")
    }

    /// Screenshots whose file names start with `prefix` (one series per test).
    pub fn with_prefix(prefix: &str) -> Shots {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test-output")
            .join("browser");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        Shots {
            dir,
            prefix: prefix.to_string(),
            count: 0,
        }
    }

    /// Saves a screenshot of the page now shown.
    pub async fn take(&mut self, browser: &Client, name: &str) {
        self.count += 1;
        let png = browser.screenshot().await.expect("screenshot");
        std::fs::write(
            self.dir
                .join(format!("{}{:02}-{name}.png", self.prefix, self.count)),
            png,
        )
        .expect("save screenshot");
    }
}

/// The start of the name of every profile folder these tests give a browser, by which a
/// later run recognises browsers a killed run left behind.
const PROFILE_PREFIX: &str = "tessera-browser-";

/// A fresh profile folder for a browser of these tests.
pub fn profile() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(PROFILE_PREFIX)
        .tempdir()
        .expect("profile folder")
}

/// Kills the browsers whose command line holds `marker` (a `--user-data-dir=…` prefix),
/// or with `orphans_only` only those whose parent is neither a chromedriver nor another
/// process of a browser of ours.
fn kill_browsers(marker: &str, orphans_only: bool) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let command_line = |pid: &str| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .unwrap_or_default()
    };
    let ours = profile_marker(&std::env::temp_dir().join(PROFILE_PREFIX));
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || !command_line(&pid).contains(marker) {
            continue;
        }
        if orphans_only {
            // The parent is the second field after the process name in /proc/PID/stat.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some(parent) = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
            else {
                continue;
            };
            let parent = command_line(parent);
            if parent.contains("chromedriver") || parent.contains(&ours) {
                continue;
            }
        }
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
    }
}

/// The command-line argument that gives a browser the profile `path` (or a prefix of it).
fn profile_marker(path: &Path) -> String {
    format!("--user-data-dir={}", path.display())
}

/// chromedriver and the browser it started, both stopped when this is dropped (also when a
/// test fails): Chromium outlives a chromedriver that is killed.
pub struct BrowserProcesses {
    _driver: Process,
    profile: PathBuf,
}

impl Drop for BrowserProcesses {
    fn drop(&mut self) {
        kill_browsers(&profile_marker(&self.profile), false);
    }
}

/// Starts chromedriver and a headless Chromium session with a fresh profile.
pub async fn start_browser(
    driver: &Path,
    chromium: &Path,
    profile: &Path,
) -> (BrowserProcesses, Client) {
    // A killed test run drops nothing: its browsers are found by their profile and parent.
    kill_browsers(
        &profile_marker(&std::env::temp_dir().join(PROFILE_PREFIX)),
        true,
    );
    // Two rustls backends are compiled in (through different dependencies); pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // chromedriver picks its own port; now and then the port it picked for IPv4 is taken on
    // IPv6 and it gives up ("IPv4 port not available"), so it gets a few tries.
    let mut attempts = 0;
    let (process, port) = loop {
        attempts += 1;
        let mut command = Command::new(driver);
        command.arg("--port=0").stderr(Stdio::null());
        // chromedriver dies with the thread that started it, even when the test run is killed.
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let started = try_start(command, "chromedriver", Output::Stdout, |line| {
            word_after(line, "started successfully on port ")
                .map(|port| port.trim_end_matches('.').to_string())
        })
        .await;
        match started {
            Ok(started) => break started,
            Err(why) if attempts >= 3 => panic!("{why}"),
            Err(why) => eprintln!("chromedriver failed to start, trying again: {why}"),
        }
    };
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    };
    let client = ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("could not start a browser session: {e:?}"));
    let processes = BrowserProcesses {
        _driver: process,
        profile: profile.to_path_buf(),
    };
    (processes, client)
}

/// Waits for the element `css` names (a click starts a navigation that may take a while).
pub async fn element(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(PAGE_WAIT)
        .every(PAGE_POLL)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

/// Clicks the element `css` names.
pub async fn click(browser: &Client, css: &str) {
    element(browser, css).await.click().await.expect("click");
}

/// The text of the element `css` names.
pub async fn text(browser: &Client, css: &str) -> String {
    element(browser, css).await.text().await.unwrap_or_default()
}

async fn sign_in(
    browser: &Client,
    shots: &mut Shots,
    stack: &ExampleStack,
    user: &str,
    password: &str,
    tag: &str,
) {
    browser.goto(&format!("{}/", stack.rp_url)).await.unwrap();
    shots.take(browser, &format!("{tag}-app-home")).await;
    click(browser, "#signin").await;
    element(browser, "#username")
        .await
        .send_keys(user)
        .await
        .expect("typing");
    element(browser, "#password")
        .await
        .send_keys(password)
        .await
        .expect("typing");
    shots.take(browser, &format!("{tag}-tessera-login")).await;
    click(browser, "form button[type=submit]").await;
    element(browser, "button[value=approve]").await;
    shots.take(browser, &format!("{tag}-tessera-consent")).await;
    click(browser, "button[value=approve]").await;
    element(browser, "#roles").await;
    shots.take(browser, &format!("{tag}-app-profile")).await;
}

/// The browser programs; `None` (after saying so) when they are missing and not required.
pub fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
    let found = browser_programs();
    if found.is_none() {
        if std::env::var_os("TESSERA_REQUIRE_BROWSER").is_some() {
            panic!("TESSERA_REQUIRE_BROWSER is set but chromium/chromedriver are not installed");
        }
        eprintln!(
            "skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
    }
    found
}

#[tokio::test]
async fn a_person_signs_in_through_the_browser() {
    let Some((driver, chromium)) = browser_or_skip() else {
        return;
    };
    let stack = ExampleStack::start().await;
    stack
        .app
        .create_user("paula", "paula password 1", &["user"])
        .await;
    let profile = profile();
    let (_driver, browser) = start_browser(&driver, &chromium, profile.path()).await;
    let mut shots = Shots::new();

    sign_in(
        &browser,
        &mut shots,
        &stack,
        "admin",
        ADMIN_PASSWORD,
        "admin",
    )
    .await;
    assert_eq!(text(&browser, "#roles").await, "admin, user");
    assert!(text(&browser, "#userinfo-roles").await.contains("admin"));

    browser.goto(&stack.app.url("/account")).await.unwrap();
    assert!(text(&browser, "main").await.contains("admin@tessera.local"));
    shots.take(&browser, "admin-tessera-account").await;

    browser
        .goto(&format!("{}/admin", stack.rp_url))
        .await
        .unwrap();
    assert_eq!(text(&browser, "#admin-title").await, "Admin area");
    shots.take(&browser, "admin-app-admin-page").await;

    browser.goto(&format!("{}/", stack.rp_url)).await.unwrap();
    click(&browser, "#refresh").await;
    element(&browser, "#roles").await;
    shots.take(&browser, "admin-app-refreshed").await;

    click(&browser, "#signout").await;
    element(&browser, "#signin").await;
    shots.take(&browser, "admin-app-signed-out").await;
    browser.goto(&stack.app.url("/account")).await.unwrap();
    element(&browser, "#username").await;

    sign_in(
        &browser,
        &mut shots,
        &stack,
        "paula",
        "paula password 1",
        "user",
    )
    .await;
    assert_eq!(text(&browser, "#roles").await, "user");
    browser
        .goto(&format!("{}/admin", stack.rp_url))
        .await
        .unwrap();
    assert!(text(&browser, "#forbidden").await.contains("admin role"));
    shots.take(&browser, "user-app-forbidden").await;

    // Signing out at Tessera itself reaches the app through back-channel logout.
    browser.goto(&stack.app.url("/logout")).await.unwrap();
    shots.take(&browser, "user-tessera-sign-out").await;
    click(&browser, "form[action='/logout'] button[type=submit]").await;
    let mut signed_out_of_app = false;
    for _ in 0..50 {
        browser.goto(&format!("{}/", stack.rp_url)).await.unwrap();
        if browser.find(Locator::Css("#signin")).await.is_ok() {
            signed_out_of_app = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        signed_out_of_app,
        "the app signed the user out after Tessera did"
    );
    shots.take(&browser, "user-app-signed-out-by-tessera").await;

    browser.close().await.unwrap();
}
