//! `stockade`: parse the command line, run the command, exit with its status.

use clap::Parser;

fn main() {
    let cli = stockade::cli::Cli::parse();
    std::process::exit(stockade::app::main(cli));
}
