//! `stagemerge`: the command-line front end (see the library, `stagemerge_cli`).

fn main() -> std::process::ExitCode {
    stagemerge_cli::main()
}
