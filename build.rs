// The rule catalog is embedded with include_dir; rebuild when any rule file changes.
fn main() {
    println!("cargo:rerun-if-changed=rules");
}
