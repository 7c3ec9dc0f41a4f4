use std::process::ExitCode;

fn main() -> ExitCode {
    ratel_server::cli::main()
}
