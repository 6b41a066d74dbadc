//! `weir-crdgen`: writes the CRD YAML generated from the Rust types into a
//! directory (default `crds/`), or checks that the files there are current.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;

/// Generates the weir CRDs.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Directory to write to.
    #[arg(default_value = "crds")]
    dir: PathBuf,
    /// Fail instead of writing when a file differs.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    for (name, crd) in weir_operator::crd::all() {
        let yaml = weir_operator::crd::to_yaml(&crd)?;
        let path = args.dir.join(name);
        if args.check {
            let current = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if current != yaml {
                bail!(
                    "{} is stale: run `cargo run -p weir-operator --bin weir-crdgen`",
                    path.display()
                );
            }
        } else {
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
