use std::process::ExitCode;
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {}
pub fn run(_args: GenerateArgs) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
