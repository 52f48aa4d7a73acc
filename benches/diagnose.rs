//! Benchmarks: classification throughput (messages/s over the whole catalog) and a whole diagnosis of the
//! reference sample. Run with `cargo bench`; figures are in the README.

#[path = "../tests/support/synth.rs"]
mod synth;

use divan::{black_box, counter::ItemsCount, Bencher};
use stackset_doctor::classify::{classify_unwrapped, unwrap::unwrap, Catalog};

fn main() {
    divan::main();
}

/// Realistic messages, 200–600 bytes with envelopes, each tried against the whole catalog.
fn messages() -> Vec<String> {
    let mut v = vec![
        r#"ResourceLogicalId:DiagnosisBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:Resource handler returned message: "User: arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678 is not authorized to perform: s3:PutBucketPublicAccessBlock on resource: "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab" with an explicit deny in a service control policy (Service: S3, Status Code: 403, Request ID: XXXXXXXX, Extended Request ID: IT/XXX1111/XXXXXXX)" (RequestToken: XXXXXXXXXXXXXXXXXXX, HandlerErrorCode: GeneralServiceException)."#.to_owned(),
        r#"ResourceLogicalId:ManagedInstanceCrossAccountExecutionRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Resource handler returned message: "Invalid principal in policy: "AWS":"arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole" (Service: Iam, Status Code: 400, Request ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)" (RequestToken: 7a8b9c0d-1e2f-3a4b-5c6d-7e8f9a0b1c2d, HandlerErrorCode: InvalidRequest)."#.to_owned(),
        "Resource creation cancelled".to_owned(),
        "The following resource(s) failed to create: [ManagedInstanceCrossAccountManagementRole, DiagnosisBucket]. Rollback requested by user.".to_owned(),
        "Account 444444444444 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.".to_owned(),
        r#"Resource handler returned message: "acme-central-logs already exists" (RequestToken: 3f2e1d0c-9b8a-7f6e-5d4c-3b2a1f0e9d8c, HandlerErrorCode: AlreadyExists)"#.to_owned(),
        "Cancelled since failure tolerance has exceeded".to_owned(),
        r#"Resource handler returned message: "The frobnicator in account 111122223333 is out of flux capacitance and cannot proceed with the requested operation at this time" (RequestToken: 1, HandlerErrorCode: GeneralServiceException)"#.to_owned(),
    ];
    // Distinct texts, as across accounts (the classifier in the pipeline caches repeats; this measures the catalog).
    let base = v.clone();
    for n in 0..8 {
        v.extend(
            base.iter()
                .map(|m| m.replace("121212121212", &format!("1212121212{n:02}"))),
        );
    }
    v
}

#[divan::bench]
fn classify_whole_catalog(bencher: Bencher) {
    let catalog = Catalog::builtin().expect("catalog");
    let msgs = messages();
    bencher
        .counter(ItemsCount::new(msgs.len()))
        .bench_local(|| {
            for m in &msgs {
                let u = unwrap(m);
                black_box(classify_unwrapped(
                    &catalog,
                    &u,
                    None,
                    Some("CREATE_FAILED"),
                ));
            }
        });
}

#[divan::bench]
fn diagnose_reference_sample(bencher: Bencher) {
    let catalog = Catalog::builtin().expect("catalog");
    bencher.bench_local(|| {
        let loaded = stackset_doctor::collect::load_paths(&["samples/quicksetup-scp-deny".into()])
            .expect("sample");
        let d = stackset_doctor::diagnose(&loaded.evidence, &catalog, Vec::new());
        black_box(stackset_doctor::report::Report::new(&d));
    });
}

/// Organisation scale: synthetic evidence (examples/generate) of N accounts × 2 regions × 3 stack sets, read,
/// classified, graphed, traced and reported as JSON. 1k vs 10k shows how the cost grows.
#[divan::bench(args = [1000, 10000], sample_count = 5, sample_size = 1)]
fn diagnose_organisation(bencher: Bencher, accounts: usize) {
    let dir = std::env::temp_dir().join(format!("stackset-doctor-bench-{accounts}"));
    if !dir.join("org-baseline-logging").exists() {
        let cfg = synth::SynthConfig {
            accounts,
            ..Default::default()
        };
        synth::generate(&cfg, &dir).expect("generate synthetic evidence");
    }
    let catalog = Catalog::builtin().expect("catalog");
    bencher.bench_local(|| {
        let loaded =
            stackset_doctor::collect::load_paths(std::slice::from_ref(&dir)).expect("evidence");
        let d = stackset_doctor::diagnose(&loaded.evidence, &catalog, Vec::new());
        let report = stackset_doctor::report::Report::new(&d);
        let mut out = Vec::new();
        stackset_doctor::report::reporter(stackset_doctor::report::Format::Json)
            .render(&report, &mut out)
            .expect("render");
        black_box(out.len());
    });
}
