//! `stagemerge-sandbox`: runs the guest in Wasmtime for `stagemerge
//! --sandbox`, which starts it (see `stagemerge_cli::sandbox`).

fn main() -> std::process::ExitCode {
    stagemerge_cli::sandbox::serve::main()
}
