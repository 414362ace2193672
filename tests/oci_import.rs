//! OCI import: the generated profile, and errors naming the JSON path.

mod oci_support;

use oci_support::{full_plan, minimal_plan};
use serde_json::{json, Value};
use stockade::oci::{export_config, import, import_bundle};
use stockade::profile::Profile;

fn exported(plan: &stockade::plan::Plan) -> String {
    export_config(plan).unwrap().config_json
}

fn parse(toml_text: &str) -> Profile {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"))
}

#[test]
fn show_full() {
    let t = import(&exported(&full_plan())).unwrap();
    println!("{t}");
}
