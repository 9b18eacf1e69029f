//! `--endpoint https://HOST:PORT --ca F --cert F --key F` (or
//! `MICROBOT_ENDPOINT`, `MICROBOT_CA`, `MICROBOT_CERT`, `MICROBOT_KEY`): the
//! connection to a remote daemon over mutual TLS.

use std::path::{Path, PathBuf};

use microbot_proto::client::Client;

use crate::cli::Cli;
use crate::failure::Failure;

const EXIT_USAGE: u8 = 2;

fn usage(message: impl Into<String>, hint: &str) -> Failure {
    Failure {
        message: message.into(),
        hint: Some(hint.into()),
        code: EXIT_USAGE,
    }
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::new(format!("{flag} {}: {e}", path.display())))
}

/// Connects to `endpoint` with the TLS files named on the command line.
pub async fn connect(endpoint: &str, cli: &Cli) -> Result<Client, Failure> {
    const HINT: &str =
        "microbotctl --endpoint https://HOST:PORT --ca CA.pem --cert ME.pem --key ME.key …";
    if !endpoint.starts_with("https://") {
        return Err(usage(
            format!("--endpoint {endpoint:?}: only https:// (mutual TLS) is supported"),
            HINT,
        ));
    }
    let ca: &PathBuf = cli
        .ca
        .as_ref()
        .ok_or_else(|| usage("--endpoint needs --ca (or MICROBOT_CA)", HINT))?;
    let ca = read("--ca", ca)?;
    let identity = match (&cli.cert, &cli.key) {
        (Some(cert), Some(key)) => Some((read("--cert", cert)?, read("--key", key)?)),
        (None, None) => None,
        _ => return Err(usage("--cert and --key go together", HINT)),
    };
    let client = Client::connect_tls(
        endpoint,
        &ca,
        identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
    )
    .await?;
    Ok(client)
}
