//! The `hilum` binary: the viewer (no subcommand) and the command line.

use clap::Parser;

fn main() {
    // Decoder panics are contained and reported as errors naming the file;
    // the default hook would also print a backtrace banner for each.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = hilum::cli::Cli::parse();
    let code = match std::panic::catch_unwind(|| hilum::cli::run(cli)) {
        Ok(code) => code,
        Err(payload) => {
            let message = hilum::imaging::panic_message(&*payload);
            eprintln!("hilum: internal error: {message}");
            3
        }
    };
    // `exit` runs no destructors: remove the unpacked archives first.
    hilum::imaging::archive::remove_unpacked();
    std::process::exit(code);
}
