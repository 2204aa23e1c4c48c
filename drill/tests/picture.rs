//! The drill as a picture and as data (issue 17): the page is self-contained, its SVG is XML
//! with one lane per sampled client, the same seed gives the same bytes on one thread or many,
//! headless Chromium draws it (not blank), and the event log and JSON report agree with the
//! report.
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

use drill::{Options, Run, Scenario};

/// A small fleet with every fault the lanes show: an outage, reboots, a clock loss.
fn scenario(clients: &str) -> Scenario {
    Scenario::from_args([
        "--clients",
        clients,
        "--generations",
        "2",
        "--join-window",
        "20d",
        "--outage",
        "297d+1d",
        "--reboot-share",
        "20",
        "--clock-loss",
        "10@400d+2d",
        "--key-pool",
        "8",
    ])
    .unwrap()
    .unwrap()
}

fn traced(s: &Scenario, threads: usize) -> Run {
    let mut o = Options::default();
    o.trace = true;
    o.threads = threads;
    drill::run_with(s, o).unwrap()
}

fn page(s: &Scenario, run: &Run) -> String {
    drill::html_page(s, &run.report, run.trace.as_ref().unwrap())
}

/// The `<svg>…</svg>` element of the page.
fn svg_of(html: &str) -> &str {
    let from = html.find("<svg").unwrap();
    let to = html.rfind("</svg>").unwrap() + "</svg>".len();
    &html[from..to]
}

fn lane_clients(svg: &str) -> Vec<usize> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("lane"))
        .map(|n| n.attribute("data-client").unwrap().parse().unwrap())
        .collect()
}

#[test]
fn svg_is_xml_with_one_lane_per_sampled_client() {
    let s = scenario("60");
    let run = traced(&s, 0);
    let html = page(&s, &run);
    let lanes = lane_clients(svg_of(&html));
    // About fifty clients: fifty of sixty, each once.
    assert_eq!(lanes.len(), 50);
    let distinct: BTreeSet<usize> = lanes.iter().copied().collect();
    assert_eq!(distinct.len(), 50);
    assert!(distinct.iter().all(|i| *i < 60));
    // The clients that rebooted or lost their clock are among them.
    let trace = run.trace.as_ref().unwrap();
    let rebooted: BTreeSet<usize> = trace
        .events
        .iter()
        .filter(|e| e.kind == "reboot")
        .filter_map(|e| e.client)
        .collect();
    assert!(!rebooted.is_empty());
    let shown = rebooted.iter().filter(|i| distinct.contains(i)).count();
    assert!(shown >= rebooted.len().min(10), "{rebooted:?} {distinct:?}");
    // Self-contained: nothing is fetched (the SVG namespace is a name, not a download).
    for banned in ["src=", "href=", "url(", "@import", "<link", "https:"] {
        assert!(
            !html.contains(banned),
            "the page refers to something outside: {banned}"
        );
    }
    // A small fleet has a lane per client.
    let s = scenario("12");
    let run = traced(&s, 1);
    assert_eq!(
        lane_clients(svg_of(&page(&s, &run))),
        (0..12).collect::<Vec<_>>()
    );
}

#[test]
fn same_seed_same_bytes_on_one_thread_or_several() {
    let s = scenario("30");
    let one = traced(&s, 1);
    let three = traced(&s, 3);
    assert_eq!(page(&s, &one), page(&s, &three));
    assert_eq!(one.report, three.report);
    let events = |r: &Run| {
        let mut out = Vec::new();
        r.trace.as_ref().unwrap().write_events(&mut out).unwrap();
        out
    };
    assert_eq!(events(&one), events(&three));
    assert_eq!(one.report.to_json(s.start), three.report.to_json(s.start));
    // And another seed draws another picture.
    let mut other = s.clone();
    other.seed = 2;
    assert_ne!(page(&s, &one), page(&other, &traced(&other, 2)));
}

#[test]
fn events_and_json_agree_with_the_report() {
    let s = scenario("20");
    let run = traced(&s, 0);
    let r = &run.report;
    let mut out = Vec::new();
    run.trace.as_ref().unwrap().write_events(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut renewed = 0u64;
    let mut last = 0u64;
    let mut refused = 0u64;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let offset = v["offset_s"].as_u64().unwrap();
        assert!(offset >= last, "events are in time order: {line}");
        last = offset;
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert!(v["client"].is_null() || v["client"].as_u64().unwrap() < 20);
        match v["kind"].as_str().unwrap() {
            "Renewed" => renewed += 1,
            "request" if v["detail"].as_str().unwrap().contains("CA outage") => refused += 1,
            _ => {}
        }
    }
    assert_eq!(renewed, r.renewals);
    assert_eq!(refused, r.load.refused_in_outage);
    assert!(refused > 0, "the outage refused requests");
    let json: serde_json::Value = serde_json::from_str(&r.to_json(s.start)).unwrap();
    let summary = &json["summary"];
    assert_eq!(summary["clients"], 20);
    assert_eq!(summary["renewals"].as_u64().unwrap(), r.renewals);
    assert_eq!(summary["gaps"].as_u64().unwrap(), r.gaps.len() as u64);
    assert_eq!(
        summary["peak_requests_per_hour"].as_u64().unwrap(),
        r.load.peak().unwrap().1
    );
    assert_eq!(json["verdict"]["exit_code"], r.exit_code());
    assert_eq!(
        json["generations"].as_array().unwrap().len(),
        r.generations.len()
    );
}

/// Headless Chromium (installed by `.ci/test`) draws the page; the plot is not blank.
#[test]
fn chromium_draws_the_picture() {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed: run `bash .ci/test`, which installs it");
    let s = scenario("60");
    let run = traced(&s, 0);
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("drill.html");
    std::fs::write(&html, page(&s, &run)).unwrap();
    let png = dir.path().join("drill.png");
    let profile = dir.path().join("profile");
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1440,1800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1440, 1800));
    let channels = info.color_type.samples();
    // The plot area: right of the labels, below the page's header.
    let (mut colours, mut inked, mut total) = (BTreeSet::new(), 0usize, 0usize);
    for y in 320..1700usize {
        for x in 200..1400usize {
            let at = (y * info.width as usize + x) * channels;
            let px = &buf[at..at + 3];
            total += 1;
            if px != [255, 255, 255] {
                inked += 1;
            }
            // Coarse buckets, so anti-aliasing does not count as colour.
            colours.insert((px[0] >> 4, px[1] >> 4, px[2] >> 4));
        }
    }
    assert!(colours.len() >= 8, "only {} colours", colours.len());
    assert!(inked * 10 > total, "{inked} of {total} pixels drawn");
}
