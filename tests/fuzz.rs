//! Property test: no input makes `load` + `compile` (and rendering their results) panic.
//!
//! Inputs come from a small xorshift generator (deterministic for a seed):
//! - structured profiles built from the real schema (`stockade schema`): every key the
//!   format has, values of the right type most of the time and of a wrong one sometimes,
//!   tricky strings (variables, sizes, durations, names close to real ones), `[[mount]]`
//!   entries of every type, `extends` of builtins, fixtures and missing files, `reset` of
//!   valid and misspelt keys;
//! - the same text with random byte edits (syntax errors at random places);
//! - arbitrary bytes.
//!
//! Compiled plans must also keep the ordering invariants, and every error must render.
//!
//! `STOCKADE_FUZZ_CASES` sets the number of cases (default below, small enough for a debug
//! `cargo test`), `STOCKADE_FUZZ_SEED` the seed; the cases are spread over one thread per
//! core. CI runs the full count in release mode:
//! `STOCKADE_FUZZ_CASES=100000 cargo test --release --test fuzz`.

mod util;

use serde_json::Value as Json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use stockade::compile::{compile, CompileOptions};
use stockade::diag;
use stockade::host::HostFacts;
use stockade::plan::{Phase, Plan, Step};
use stockade::profile::load::{load, load_text, Loaded};

/// Cases run by a plain `cargo test` (debug build); CI sets STOCKADE_FUZZ_CASES=100000.
const DEFAULT_CASES: u64 = 1_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "",
    " ",
    "/",
    "/usr",
    "/tmp",
    "/etc",
    "/dev",
    "/proc",
    "/a/../../b",
    "//x/./y/",
    "relative",
    "./rel",
    "${PWD}",
    "${HOME}/.cargo",
    "${UID}",
    "${GID}",
    "${USER}",
    "${PROFILE_DIR}/x",
    "${HOEM}",
    "${env:HOME}",
    "${env:NOPE}",
    "${env:NOPE:-/fallback}",
    "${env:}",
    "${",
    "${}",
    "$$",
    "$",
    "${PWD",
    "512MiB",
    "1.5GiB",
    "64K",
    "2G",
    "0",
    "1",
    "-1",
    "512MB",
    "512mb",
    "1.2.3M",
    ".",
    "99999999999999999999G",
    "17179869184G",
    "18446744073709551615",
    "18446744073709551616",
    "0x10",
    "0xffffffffffffffffff",
    "90s",
    "1h 30m",
    "500ms",
    "0s",
    "10",
    "-5s",
    "99999999999999999999h",
    "read",
    "write",
    "ptrace",
    "mount",
    "@mount",
    "@privileged",
    "@nope",
    "ptrce",
    "clone3",
    "CAP_SYS_ADMIN",
    "net_bind_service",
    "CAP_NET_BIND_SERVIC",
    "cap_",
    "SIGTERM",
    "KILL",
    "9",
    "SIGTREM",
    "64",
    "allow",
    "errno:EPERM",
    "errno:9999",
    "errno:",
    "errno:0",
    "errno",
    "kill-process",
    "kill-thread",
    "trap",
    "log",
    "deny",
    "eq",
    "masked-eq",
    "ne",
    "x86",
    "x32",
    "arm",
    "native",
    "unlimited",
    "infinity",
    "0755",
    "1777",
    "0o755",
    "0999",
    "rw-r--r--",
    "022",
    "0-1",
    "0,2-3",
    "3-2",
    "1-",
    ",",
    "read-file",
    "execute",
    "ioctl-dev",
    "signal",
    "abstract-unix-socket",
    "tmpfs",
    "build",
    "my host",
    "a.b-c",
    "CARGO_*",
    "*",
    "?",
    "MY-VAR",
    "1ABC",
    "builtin:strict",
    "é€😀",
    "line\nbreak",
    "nul\u{0}byte",
    "tab\there",
    "\u{202e}rtl",
];

const INTEGERS: &[i64] = &[
    0,
    1,
    -1,
    2,
    5,
    6,
    7,
    8,
    255,
    256,
    1000,
    1024,
    4096,
    65535,
    65536,
    100_000,
    1_000_000,
    4_294_967_294,
    4_294_967_295,
    4_294_967_296,
    i64::MAX,
    i64::MIN,
];

/// `reset` keys: valid ones first, then mistakes.
const RESET: &[&str] = &[
    "mount",
    "landlock.write",
    "resources.memory",
    "env",
    "landlock.wirte",
    "mount.target",
    "",
    "version",
];

const EXTENDS: &[&str] = &[
    "builtin:strict",
    "builtin:minimal",
    "builtin:strit",
    "builtin:",
    "tests/fixtures/extends/base.toml",
    "tests/fixtures/extends/child.toml",
    "tests/fixtures/bad/extends-cycle.toml",
    "tests/fixtures/bad/unknown-key.toml",
    "no/such/file.toml",
    "/",
    "",
];

/// Builds random profiles from the JSON Schema.
struct Gen<'s> {
    root: &'s Json,
    rng: Rng,
    /// Wrong types and unknown keys allowed (else every value has its schema type, so most
    /// cases reach the compiler).
    wild: bool,
}

impl Gen<'_> {
    fn resolve<'a>(&'a self, s: &'a Json) -> &'a Json {
        match s.get("$ref").and_then(Json::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                self.root
                    .get("$defs")
                    .and_then(|d| d.get(name))
                    .unwrap_or(s)
            }
            None => s,
        }
    }

    fn string(&mut self) -> String {
        match self.rng.below(100) {
            0..10 => {
                // A random short string from a small alphabet (names close to real ones).
                let alphabet = b"abcdeilmnoprstuwxyz-_/$.{}:@*0123456789 ";
                let len = self.rng.below(12);
                (0..len)
                    .map(|_| char::from(*self.rng.pick(alphabet)))
                    .collect()
            }
            10 => "a".repeat(self.rng.below(5000)),
            _ => (*self.rng.pick(STRINGS)).to_owned(),
        }
    }

    fn integer(&mut self) -> i64 {
        if self.rng.chance(20) {
            self.rng.next() as i64
        } else {
            *self.rng.pick(INTEGERS)
        }
    }

    fn float(&mut self) -> f64 {
        *self.rng.pick(&[
            0.0,
            -1.0,
            0.5,
            1.5,
            2.0,
            1e300,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            1e-9,
            1024.5,
        ])
    }

    /// A value of a random type.
    fn anything(&mut self, depth: u32) -> toml::Value {
        match self.rng.below(if depth > 2 { 4 } else { 6 }) {
            0 => toml::Value::String(self.string()),
            1 => toml::Value::Integer(self.integer()),
            2 => toml::Value::Boolean(self.rng.chance(50)),
            3 => toml::Value::Float(self.float()),
            4 => toml::Value::Array(
                (0..self.rng.below(3))
                    .map(|_| self.anything(depth + 1))
                    .collect(),
            ),
            _ => {
                let mut t = toml::Table::new();
                for _ in 0..self.rng.below(3) {
                    let k = self.string();
                    let v = self.anything(depth + 1);
                    t.insert(k, v);
                }
                toml::Value::Table(t)
            }
        }
    }

    fn value(&mut self, schema: &Json, depth: u32) -> toml::Value {
        if self.wild && (depth > 6 || self.rng.chance(4)) {
            return self.anything(depth);
        }
        let schema = self.resolve(schema).clone();
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = schema.get(key).and_then(Json::as_array) {
                // TOML has no null: `Option<T>` fields are `anyOf [T, null]`.
                let alts: Vec<&Json> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Json::as_str) != Some("null"))
                    .collect();
                if !alts.is_empty() {
                    let alt = alts[self.rng.below(alts.len())].clone();
                    return self.value(&alt, depth);
                }
            }
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array) {
            if !values.is_empty() && self.rng.chance(90) {
                if let Some(s) = values[self.rng.below(values.len())].as_str() {
                    return toml::Value::String(s.to_owned());
                }
            }
        }
        if let Some(c) = schema.get("const").and_then(Json::as_str) {
            return toml::Value::String(c.to_owned());
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => vec![],
        };
        let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        if types.is_empty() {
            return self.anything(depth);
        }
        match *self.rng.pick(&types) {
            "boolean" => toml::Value::Boolean(self.rng.chance(50)),
            "integer" => {
                let mut n = self.integer();
                if !self.wild {
                    let min = schema
                        .get("minimum")
                        .and_then(Json::as_i64)
                        .unwrap_or(i64::MIN);
                    let max = schema
                        .get("maximum")
                        .and_then(Json::as_i64)
                        .unwrap_or(i64::MAX);
                    if n < min || n > max {
                        n = min.max(0) + (n.unsigned_abs() % 8) as i64;
                    }
                }
                toml::Value::Integer(n)
            }
            "number" => {
                if self.rng.chance(50) {
                    toml::Value::Float(self.float())
                } else {
                    toml::Value::Integer(self.integer())
                }
            }
            "string" => toml::Value::String(self.string()),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(Json::Null);
                let n = self.rng.below(if depth == 0 { 12 } else { 5 });
                toml::Value::Array((0..n).map(|_| self.value(&items, depth + 1)).collect())
            }
            "object" => toml::Value::Table(self.table(&schema, depth)),
            _ => self.anything(depth),
        }
    }

    fn table(&mut self, schema: &Json, depth: u32) -> toml::Table {
        let mut t = toml::Table::new();
        if let Some(props) = schema.get("properties").and_then(Json::as_object) {
            let percent = if depth == 0 { 60 } else { 50 };
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Json::as_array)
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            for (k, s) in props {
                let must = !self.wild && (required.contains(&k.as_str()) || k == "version");
                // `reset` and `[remove]` act on what was inherited; random ones mostly fail
                // to load (an unknown key, nothing to remove), so they are drawn rarely.
                let taking = depth == 0 && (k == "reset" || k == "remove");
                let chance = if taking { 5 } else { percent };
                if must || self.rng.chance(chance) {
                    let v = if k == "reset" && depth == 0 {
                        let pool = if self.wild { RESET } else { &RESET[..4] };
                        toml::Value::Array(
                            (0..self.rng.below(3))
                                .map(|_| toml::Value::String((*self.rng.pick(pool)).into()))
                                .collect(),
                        )
                    } else if k == "extends" {
                        let pool = if self.wild { EXTENDS } else { &EXTENDS[..2] };
                        toml::Value::Array(
                            (0..self.rng.below(3))
                                .map(|_| toml::Value::String((*self.rng.pick(pool)).into()))
                                .collect(),
                        )
                    } else if k == "version" && (!self.wild || self.rng.chance(95)) {
                        toml::Value::Integer(1)
                    } else {
                        self.value(s, depth + 1)
                    };
                    t.insert(k.clone(), v);
                }
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            for _ in 0..self.rng.below(4) {
                let k = self.string();
                let v = self.value(extra, depth + 1);
                t.insert(k, v);
            }
        }
        if self.wild && self.rng.chance(3) {
            // An unknown key.
            let k = self.string();
            let v = self.anything(depth + 1);
            t.insert(k, v);
        }
        t
    }

    /// One input text.
    fn case(&mut self) -> String {
        let kind = self.rng.below(100);
        if kind < 5 {
            // Arbitrary bytes (as the loader sees them after UTF-8 decoding).
            let n = self.rng.below(300);
            let bytes: Vec<u8> = (0..n).map(|_| self.rng.next() as u8).collect();
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        self.wild = kind < 50;
        let root = self.root.clone();
        let table = self.table(&root, 0);
        let mut text = toml::to_string(&table).unwrap_or_default();
        if kind < 20 {
            // Random edits: syntax errors and odd spans anywhere.
            let mut bytes = text.into_bytes();
            for _ in 0..1 + self.rng.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let i = self.rng.below(bytes.len());
                match self.rng.below(4) {
                    0 => bytes[i] = *self.rng.pick(b"[]{}=\"'#,\n.\\ $x0"),
                    1 => {
                        bytes.remove(i);
                    }
                    2 => bytes.insert(i, self.rng.next() as u8),
                    _ => bytes.truncate(i),
                }
            }
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }
}

fn hosts() -> Vec<HostFacts> {
    let fixed = HostFacts::fixed();
    let mut root = HostFacts::fixed();
    root.uid = 0;
    root.gid = 0;
    root.landlock_abi = 0;
    root.has_newidmap = false;
    root.env
        .insert("NOTIFY_SOCKET".into(), "/run/notify".into());
    root.env.insert("LISTEN_FDS".into(), "2".into());
    vec![fixed, root]
}

/// Invariants of every compiled plan.
fn check_plan(plan: &Plan) -> Result<(), String> {
    let steps = &plan.steps;
    if steps.last() != Some(&Step::Exec) {
        return Err(format!("last step is not Exec: {steps:?}"));
    }
    if !steps.windows(2).all(|w| w[0].phase() <= w[1].phase()) {
        return Err(format!("phases go backwards: {steps:?}"));
    }
    if plan.seccomp.is_some() && steps.get(steps.len().wrapping_sub(2)) != Some(&Step::Seccomp) {
        return Err(format!("seccomp is not last before exec: {steps:?}"));
    }
    if let Some(l) = steps.iter().position(|s| *s == Step::Landlock) {
        if steps[l..]
            .iter()
            .any(|s| matches!(s.phase(), Phase::Mounts | Phase::Pivot))
        {
            return Err(format!("a mount step after Landlock: {steps:?}"));
        }
    }
    for s in steps {
        if let Step::Mount(i) = s {
            if *i >= plan.mounts.len() {
                return Err(format!(
                    "Step::Mount({i}) with {} mounts",
                    plan.mounts.len()
                ));
            }
        }
    }
    if plan.mounts.iter().any(|m| !m.target.is_absolute()) {
        return Err("a relative mount target in the plan".into());
    }
    Ok(())
}

fn run_one(loaded: &Loaded, host: &HostFacts, opts: &CompileOptions) -> Result<(), String> {
    match compile(loaded, host, opts) {
        Ok(c) => {
            check_plan(&c.plan)?;
            let _ = stockade::plan::explain::render_text(&c.plan);
            let _ = stockade::plan::provenance::render(loaded, &c.plan);
            serde_json::to_string(&c.plan).map_err(|e| e.to_string())?;
            let _ = diag::render(&c.warnings.0, &loaded.sources, false);
        }
        Err(d) => {
            if !d.has_errors() {
                return Err("compile failed without an error".into());
            }
            let _ = diag::render(&d.0, &loaded.sources, host.uid == 0);
        }
    }
    Ok(())
}

/// Ok(true) when the text loaded (and was compiled).
fn fuzz_case(text: &str, hosts: &[HostFacts], rng: &mut Rng) -> Result<bool, String> {
    match load_text("fuzz.toml", text) {
        Ok(loaded) => {
            let opts = CompileOptions {
                command: match rng.below(3) {
                    0 => Some(vec!["true".into()]),
                    1 => Some(Vec::new()),
                    _ => None,
                },
                command_optional: rng.chance(50),
            };
            for host in hosts {
                run_one(&loaded, host, &opts)?;
            }
            Ok(true)
        }
        Err(e) => {
            if !e.diagnostics.has_errors() {
                return Err("load failed without an error".into());
            }
            let _ = diag::render(&e.diagnostics.0, &e.sources, false);
            for d in &e.diagnostics.0 {
                let _ = diag::to_json(d, &e.sources);
            }
            Ok(false)
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Run `cases` cases from `seed`; returns how many loaded.
fn fuzz_worker(schema: &Json, seed: u64, cases: u64) -> u64 {
    let mut generator = Gen {
        root: schema,
        rng: Rng(seed),
        wild: true,
    };
    let hosts = hosts();
    let mut loaded = 0u64;
    for i in 0..cases {
        let text = generator.case();
        let mut rng = Rng(generator.rng.next() | 1);
        let result = catch_unwind(AssertUnwindSafe(|| fuzz_case(&text, &hosts, &mut rng)));
        match result {
            Ok(Ok(ok)) => loaded += u64::from(ok),
            Ok(Err(problem)) => {
                panic!("case {i} of seed {seed:#x}: {problem}\n--- input ---\n{text}")
            }
            Err(_) => panic!("case {i} of seed {seed:#x} panicked\n--- input ---\n{text}"),
        }
    }
    loaded
}

#[test]
fn load_and_compile_never_panic() {
    let cases = env_u64("STOCKADE_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let seed = env_u64("STOCKADE_FUZZ_SEED").unwrap_or(0x5eed_5eed_1234_5678);
    let schema: Json =
        serde_json::from_str(&stockade::schema::render()).expect("the schema is JSON");
    // One worker per core, each with its own seed (reported when a case fails).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let loaded: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let share = cases / workers + u64::from(w < cases % workers);
                let worker_seed = (seed ^ w.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
                let schema = &schema;
                s.spawn(move || fuzz_worker(schema, worker_seed, share))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum()
    });
    eprintln!("fuzz: {cases} cases on {workers} threads, {loaded} loaded (seed {seed:#x})");
    // The generator must reach the compiler, not only the parser.
    assert!(
        cases < 1000 || loaded * 10 > cases,
        "only {loaded} of {cases} cases loaded"
    );
}

#[test]
fn non_utf8_files_are_rejected_cleanly() {
    let dir = std::env::temp_dir().join(format!("stockade-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for i in 0..50 {
        let path = dir.join(format!("p{i}.toml"));
        let mut bytes = b"version = 1\n".to_vec();
        bytes.extend((0..rng.below(200)).map(|_| rng.next() as u8));
        bytes.push(0xff);
        std::fs::write(&path, &bytes).expect("write");
        let name = path.display().to_string();
        match load(&name) {
            Ok(_) => panic!("{name}: invalid UTF-8 loaded"),
            Err(e) => {
                assert!(e.diagnostics.has_errors());
                let _ = diag::render(&e.diagnostics.0, &e.sources, false);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
