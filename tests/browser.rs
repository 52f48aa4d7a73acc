//! The HTML report in a real browser: each sample's page is opened in headless Chromium through chromedriver
//! (WebDriver, plain HTTP/JSON on loopback) and checked for what a person sees on the rendered page — the root
//! causes, the fixes and their commands, every failed account, the timeline's bars and the graph's nodes with a
//! size on screen, nothing fetched, no script, no sideways scrolling on a phone (docs/report-html.md#tests).
//! The browser is Debian's `chromium` and `chromium-driver`: `bash scripts/browser.sh install`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stackset_doctor::report::{self, layout, timeline, Format, Report};

use crate::common::diagnose;

/// The flags a closed network needs: nothing in the background may try to reach the outside.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// One HTTP/1.1 exchange with `Connection: close`: the answer's status and JSON body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open whatever the request says: read the header, then exactly the body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the header ended".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let mut body = raw[header_end..].to_vec();
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let body = if chunked { dechunk(&body) } else { body };
    let v = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?
    };
    Ok((status, v))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// chromedriver with one Chromium session; both are ended on drop.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let missing = || {
            panic!(
                "the browser test needs Chromium and chromedriver on PATH (Debian: chromium, chromium-driver): \
                 run `bash scripts/browser.sh install`"
            )
        };
        let chromium = on_path(&["chromium", "chromium-browser"]).unwrap_or_else(missing);
        let chromedriver = on_path(&["chromedriver"]).unwrap_or_else(missing);
        let mut last = String::new();
        for _ in 0..3 {
            // A free loopback port: bound, read, released, then given to chromedriver.
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut cmd = Command::new(&chromedriver);
            cmd.arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let mut driver = cmd.spawn().expect("chromedriver starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut ready = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = driver.try_wait() {
                    break;
                }
                if let Ok((200, v)) = http(addr, "GET", "/status", None) {
                    if v["value"]["ready"] == true {
                        ready = true;
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !ready {
                last = format!("chromedriver did not answer on {addr}");
                kill(&mut driver);
                continue;
            }
            let profile = tempfile::tempdir().expect("a profile directory");
            let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
            args.push(format!("--user-data-dir={}", profile.path().display()));
            args.push("--window-size=1280,900".into());
            let caps = json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args}
            }}});
            match http(addr, "POST", "/session", Some(&caps)) {
                Ok((200, v)) => {
                    let session = v["value"]["sessionId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    return Browser {
                        driver,
                        addr,
                        session,
                        _profile: profile,
                    };
                }
                other => {
                    last = format!("no browser session: {other:?}");
                    kill(&mut driver);
                }
            }
        }
        panic!("{last} (is `bash scripts/browser.sh check` fine?)");
    }

    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}/{what}", self.session);
        match http(self.addr, method, &path, body.as_ref()) {
            Ok((200, v)) => v["value"].clone(),
            other => panic!("WebDriver {method} {what}: {other:?}"),
        }
    }

    fn open(&self, file: &Path) {
        self.call(
            "POST",
            "url",
            Some(json!({"url": format!("file://{}", file.display())})),
        );
    }

    fn run(&self, script: &str) -> Value {
        self.call(
            "POST",
            "execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }
}

fn kill(child: &mut Child) {
    // The whole group: chromedriver and the browser it started.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        kill(&mut self.driver);
    }
}

/// What a person sees: the page's text, and the size on screen of the pictures' parts.
const LOOK: &str = r#"
const size = e => { const b = e.getBoundingClientRect(); return {w: b.width, h: b.height, right: b.right}; };
return {
  text: document.body.innerText,
  commands: [...document.querySelectorAll('pre.cmd code')].map(e => e.textContent),
  bars: [...document.querySelectorAll('svg.timeline rect.bar')].map(e => size(e)),
  milestones: [...document.querySelectorAll('svg.timeline .milestone')].filter(e => e.getBoundingClientRect().width > 0).length,
  nodes: [...document.querySelectorAll('svg.graph g.node')].map(e => Object.assign(size(e), {failures: e.getAttribute('data-failures'), root: e.classList.contains('root')})),
  fetched: performance.getEntriesByType('resource').length,
  scripts: document.scripts.length,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
};
"#;

/// Runs of white space as one space: how a page's text compares with the report's strings.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A string as the page shows it: backticked spans are code, their backticks gone.
fn shown(s: &str) -> String {
    let s = stackset_doctor::text::sanitize(s);
    if s.matches('`').count().is_multiple_of(2) {
        squash(&s.replace('`', " "))
    } else {
        squash(&s)
    }
}

/// How many of the measured elements have a size on screen (a hidden drawing's have none).
fn visible(sizes: &Value) -> usize {
    sizes
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|b| {
                    b["w"].as_f64().unwrap_or(0.0) > 0.0 && b["h"].as_f64().unwrap_or(0.0) > 0.0
                })
                .count()
        })
        .unwrap_or(0)
}

fn write_html(dir: &Path, name: &str, r: &Report) -> PathBuf {
    let mut out = Vec::new();
    report::reporter(Format::Html)
        .render(r, &mut out)
        .expect("render");
    let path = dir.join(format!("{name}.html"));
    std::fs::write(&path, out).expect("write the page");
    path
}

use crate::common::scenarios;

/// A sample whose resource names try to inject markup.
fn hostile_report() -> Report {
    let mut ev = stackset_doctor::collect::load_paths(&["samples/bucket-already-exists".into()])
        .unwrap()
        .evidence;
    for e in &mut ev.stack_events {
        e.logical_id = e.logical_id.as_ref().map(|l| {
            format!("{l}<script>document.title='pwned'</script>\"'><img src=x onerror=alert(1)>")
        });
    }
    let d = stackset_doctor::diagnose(
        &ev,
        &stackset_doctor::classify::Catalog::builtin().unwrap(),
        Vec::new(),
    );
    Report::new(&d)
}

#[test]
fn html_escapes_what_comes_from_the_input() {
    let r = hostile_report();
    let mut out = Vec::new();
    report::reporter(Format::Html).render(&r, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert!(!html.contains("<script"), "a script tag got through");
    assert!(!html.contains("<img"), "an img tag got through");
    assert!(html.contains(
        "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&quot;&#39;&gt;&lt;img"
    ));
    // Self-contained: nothing is loaded from outside the file. Links for the reader to follow (the console, the
    // documentation) are anchors to https addresses, and nothing else refers outside.
    let anchors =
        regex::Regex::new(r#"<a href="https://[^"<>]*" rel="noreferrer">[^<]*</a>"#).unwrap();
    assert!(anchors.is_match(&html), "the links are anchors");
    let html = anchors.replace_all(&html, "").into_owned();
    for outside in ["http://", "https://", "src=", "href=", "@import", "url("] {
        let hits: Vec<&str> = html
            .match_indices(outside)
            .map(|(i, _)| &html[i.saturating_sub(40)..(i + 60).min(html.len())])
            .filter(|ctx| {
                !ctx.contains("xmlns=\"http://www.w3.org/2000/svg\"")
                    && !ctx.contains("&lt;img src=x")
            })
            .collect();
        assert!(hits.is_empty(), "{outside}: {hits:?}");
    }
}

#[test]
fn samples_read_right_in_a_real_browser() {
    let started = Instant::now();
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    let mut pages = Vec::new();
    let names = scenarios();
    assert!(names.iter().any(|n| n == "quicksetup-scp-deny"));
    assert!(names.len() >= 2);
    for name in &names {
        let r = Report::new(&diagnose(&[&format!("samples/{name}")]));
        let page = write_html(dir.path(), name, &r);
        browser.open(&page);
        let seen = browser.run(LOOK);
        let text = squash(seen["text"].as_str().unwrap_or_default());
        assert_eq!(seen["fetched"], 0, "{name}: the page fetched something");
        assert_eq!(seen["scripts"], 0, "{name}: the page has a script");
        assert!(
            text.contains(&squash(&r.summary.verdict)),
            "{name}: no verdict in {text}"
        );
        let cmds: Vec<String> = seen["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| squash(c.as_str().unwrap_or_default()))
            .collect();
        // Each group of alike root causes is one block, with the group's commands (its retry covers them all).
        for g in &r.root_cause_groups {
            let rc = r.members(g)[0];
            let title = rc
                .title
                .as_deref()
                .unwrap_or("No rule matched this message");
            assert!(
                text.contains(&shown(title)),
                "{name} {}: no title {title:?}",
                rc.id
            );
            if !rc.message.is_empty() {
                assert!(
                    text.contains(&shown(&rc.message)),
                    "{name} {}: no message",
                    rc.id
                );
            }
            assert!(
                text.contains(&shown(&rc.remediation.summary)),
                "{name} {}: no fix {:?} in {text}",
                rc.id,
                rc.remediation.summary
            );
            for c in &g.commands {
                assert!(
                    cmds.contains(&squash(c)),
                    "{name} {}: command not in a code block: {c}",
                    rc.id
                );
            }
            if let Some(cmd) = rc
                .remediation
                .scp_exemption
                .as_ref()
                .and_then(|e| e.statement.as_ref())
                .and_then(|s| s.apply_command.as_ref())
            {
                assert!(
                    cmds.contains(&squash(cmd)),
                    "{name}: apply command not in a code block"
                );
            }
        }
        assert!(!r.failed_instances.is_empty(), "{name}: no failed instance");
        for fi in &r.failed_instances {
            assert!(
                text.contains(&fi.account),
                "{name}: failed account {} not shown",
                fi.account
            );
        }
        let t = timeline::timeline(&r).expect("every sample has timestamps");
        let rows: usize = t.sections.iter().map(|s| s.rows.len()).sum();
        assert_eq!(
            visible(&seen["bars"]),
            rows,
            "{name}: bars on screen: {}",
            seen["bars"]
        );
        let milestones: usize = t
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .map(|r| r.milestones.len())
            .sum();
        assert_eq!(
            seen["milestones"].as_u64(),
            Some(milestones as u64),
            "{name}: milestones"
        );
        let nodes = seen["nodes"].as_array().unwrap();
        let laid_out = layout::layout(&r).nodes.len();
        assert_eq!(
            visible(&seen["nodes"]),
            laid_out,
            "{name}: nodes on screen: {nodes:?}"
        );
        for rc in &r.root_causes {
            let id = rc.failure.to_string();
            assert!(
                nodes.iter().any(|n| n["root"] == true
                    && n["w"].as_f64().unwrap_or(0.0) > 0.0
                    && n["failures"]
                        .as_str()
                        .unwrap_or_default()
                        .split(' ')
                        .any(|f| f == id)),
                "{name}: root cause {} ({id}) is no node of the graph",
                rc.id
            );
        }
        pages.push((page, rows, milestones, laid_out));
    }
    // Markup from the input stays text on the rendered page.
    let hostile = write_html(dir.path(), "hostile", &hostile_report());
    browser.open(&hostile);
    let seen = browser.run(LOOK);
    assert_eq!(seen["scripts"], 0);
    assert!(seen["text"]
        .as_str()
        .unwrap_or_default()
        .contains("<script>document.title='pwned'</script>\"'><img src=x onerror=alert(1)>"));
    assert_eq!(
        browser.run("return document.title;"),
        "StackSet deployment diagnosis"
    );
    assert_eq!(browser.run("return document.images.length;"), 0);
    // On a phone the page itself never scrolls sideways (wide pictures and tables scroll in their own box).
    browser.resize(390, 844);
    for (page, rows, milestones, laid_out) in &pages {
        browser.open(page);
        let seen = browser.run(LOOK);
        // The timeline drawn for a narrow screen: every bar and milestone still on screen.
        assert_eq!(
            visible(&seen["bars"]),
            *rows,
            "{}: bars on a phone",
            page.display()
        );
        assert_eq!(
            seen["milestones"].as_u64(),
            Some(*milestones as u64),
            "{}: milestones on a phone",
            page.display()
        );
        // And the causal graph as an outline that fits the screen: every node on it, none off its right edge.
        assert_eq!(
            visible(&seen["nodes"]),
            *laid_out,
            "{}: nodes on a phone",
            page.display()
        );
        let iw = seen["innerWidth"].as_f64().unwrap();
        for n in seen["nodes"].as_array().unwrap() {
            let w = n["w"].as_f64().unwrap_or(0.0);
            assert!(
                w == 0.0 || n["right"].as_f64().unwrap_or(f64::MAX) <= iw + 1.0,
                "{}: a node off the screen: {n}",
                page.display()
            );
        }
        let text = seen["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("Failed stack instances"),
            "{}",
            page.display()
        );
        let (sw, iw) = (
            seen["scrollWidth"].as_f64().unwrap(),
            seen["innerWidth"].as_f64().unwrap(),
        );
        // What sticks out, outside the boxes that scroll on their own, for the message.
        let wide = browser.run(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !(e.parentElement && e.parentElement.closest('.scroll'))).slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60));",
        );
        assert!(
            sw <= iw + 1.0,
            "{}: {sw} px wide in a {iw} px window: {wide}",
            page.display()
        );
    }
    drop(browser);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// The 1,000-account synthetic organisation: the page stays a ticket attachment, not a dump — alike bars,
/// nodes and instances collapse, and every failed account is still in it.
#[test]
fn html_of_the_1k_organisation_stays_small() {
    let r = Report::new(&crate::common::diagnose_organisation(1000));
    let mut out = Vec::new();
    report::reporter(Format::Html).render(&r, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    let t = timeline::timeline(&r).unwrap();
    let rows: usize = t.sections.iter().map(|s| s.rows.len()).sum();
    let l = layout::layout(&r);
    eprintln!(
        "1k organisation: {} failures, {} failed instances, {} root causes; {} bytes of HTML, {} timeline rows of {} places, {} graph nodes",
        r.failures.len(),
        r.failed_instances.len(),
        r.root_causes.len(),
        html.len(),
        rows,
        t.places,
        l.nodes.len()
    );
    assert!(t.collapsed && rows <= timeline::MAX_ROWS, "{rows} rows");
    assert!(l.collapsed && l.nodes.len() <= layout::MAX_NODES);
    // 62 KB today; the bound leaves room for wording, not for one row per failure (which would be ~400 KB).
    assert!(html.len() < 150_000, "{} bytes", html.len());
    for fi in &r.failed_instances {
        assert!(html.contains(&fi.account), "{} missing", fi.account);
    }
}
