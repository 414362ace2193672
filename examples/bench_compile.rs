//! In-process timing of the front half of the pipeline, for the benchmark (bench/run.sh):
//! `load` (read, parse, follow `extends`, merge) and `compile` (Profile + HostFacts → Plan),
//! without process startup. Prints one line per profile:
//! `PROFILE<TAB>load_us<TAB>compile_us<TAB>plan_json_us` (medians over the iterations).
//!
//! cargo run --release --example bench_compile -- [-n ITERATIONS] PROFILE...

use std::time::Instant;
use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::profile::load::load;

fn median(mut v: Vec<u128>) -> u128 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut iterations = 30usize;
    if args.first().map(String::as_str) == Some("-n") && args.len() >= 2 {
        iterations = args[1].parse().unwrap_or(30).max(1);
        args.drain(..2);
    }
    let host = HostFacts::probe();
    let opts = CompileOptions {
        command: Some(vec!["/bin/true".into()]),
        command_optional: false,
    };
    let mut status = 0;
    for name in &args {
        let (mut load_us, mut compile_us, mut json_us) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..iterations {
            let t0 = Instant::now();
            let Ok(loaded) = load(name) else {
                eprintln!("bench_compile: {name}: does not load (run `stockade check {name}`)");
                status = 1;
                break;
            };
            let t1 = Instant::now();
            let Ok(compiled) = compile(&loaded, &host, &opts) else {
                eprintln!("bench_compile: {name}: does not compile (run `stockade check {name}`)");
                status = 1;
                break;
            };
            let t2 = Instant::now();
            let json = serde_json::to_string(&compiled.plan).unwrap_or_default();
            let t3 = Instant::now();
            std::hint::black_box(json);
            load_us.push((t1 - t0).as_micros());
            compile_us.push((t2 - t1).as_micros());
            json_us.push((t3 - t2).as_micros());
        }
        if !load_us.is_empty() {
            println!(
                "{name}\t{}\t{}\t{}",
                median(load_us),
                median(compile_us),
                median(json_us)
            );
        }
    }
    std::process::exit(status);
}
