//! Benchmark of live collection against the project's emulator (moto on loopback, `scripts/emulator.sh`):
//! one stack set of 1,000 instances of which 5 failed, collected with `--quick-setup` and a member role, as
//! a user would. Prints the API calls one collection makes; divan times it. Run with
//! `cargo bench --bench collect` (it starts and stops the emulator itself). Figures are in the README.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use divan::Bencher;
use stackset_doctor::collect::aws::Sdk;
use stackset_doctor::collect::live::{collect, Collected, Options};

fn main() {
    divan::main();
}

/// The emulator, started once; it exits when this process does (its stdin closes).
fn emulator() -> &'static str {
    static EMU: OnceLock<(String, std::sync::Mutex<Child>)> = OnceLock::new();
    &EMU.get_or_init(|| {
        let mut child = Command::new("bash")
            .args([
                "scripts/emulator.sh",
                "run",
                "--scenario",
                "scale",
                "--accounts",
                "1000",
                "--failed",
                "5",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scripts/emulator.sh starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("READY line");
        let url = line
            .trim()
            .strip_prefix("READY ")
            .expect("emulator started")
            .to_owned();
        (url, std::sync::Mutex::new(child))
    })
    .0
}

fn collect_once(rt: &tokio::runtime::Runtime, url: &str) -> Collected {
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("ap-northeast-1"))
            .endpoint_url(url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "bench",
            ))
            .load()
            .await;
        let sdk = Sdk::from_config(config, Vec::new()).expect("sdk");
        let opts = Options {
            quick_setup: true,
            member_role: Some("OrganizationAccountAccessRole".into()),
            ..Options::default()
        };
        collect(&opts, &sdk).await.expect("collects")
    })
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn quick_setup_1000_instances_5_failed(b: Bencher) {
    let url = emulator();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let first = collect_once(&rt, url);
    eprintln!("collect: {}", first.summary());
    eprintln!("collect: calls {:?}", first.stats.calls);
    b.bench(|| collect_once(&rt, url));
}
