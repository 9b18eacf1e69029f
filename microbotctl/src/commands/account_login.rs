//! `microbotctl account login NAME`: asks the daemon to send a code, reads
//! it (and the 2FA password when the account has one) and submits it.
//!
//! On a terminal a wrong answer is asked again, up to [`TRIES`] times; from a
//! pipe it fails at once with exit 1, so scripts see the error.

use std::process::ExitCode;

use microbot_proto::v1::{self, StartLoginRequest, SubmitCodeRequest, SubmitPasswordRequest};
use tonic::Code;

use super::Ctx;
use super::account::print_account;
use crate::failure::Failure;
use crate::output::Format;
use crate::prompt::Input;

/// Answers a person may try before the command gives up.
const TRIES: usize = 3;

pub async fn run(ctx: &Ctx, name: &str) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.accounts();
    let mut input = Input::new();
    let started = client
        .start_login(StartLoginRequest {
            name: name.to_owned(),
        })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    if started.already_authorized {
        report(ctx, name, started.account.as_ref(), "already logged in");
        return Ok(ExitCode::SUCCESS);
    }
    if input.is_tty() {
        eprintln!(
            "A login code for {name} was sent via {}.",
            started.code_sent_via
        );
    }
    let mut step = None;
    for attempt in 1..=TRIES {
        let code = input.line("Login code: ", "login code")?;
        let answer = client
            .submit_code(SubmitCodeRequest {
                name: name.to_owned(),
                code,
            })
            .await;
        match answer {
            Ok(s) => {
                step = Some(s.into_inner());
                break;
            }
            Err(s) if retry(&input, &s, attempt) => eprintln!("That code is wrong; try again."),
            Err(s) => return Err(ctx.fail(s)),
        }
    }
    let Some(mut step) = step else {
        return Err(Failure::new("no login code given"));
    };
    if step.password_needed {
        step = password(ctx, &mut input, name, &step.password_hint).await?;
    }
    report(ctx, name, step.account.as_ref(), "logged in");
    Ok(ExitCode::SUCCESS)
}

/// Reads and submits the 2FA password, asking again on a terminal.
async fn password(
    ctx: &Ctx,
    input: &mut Input,
    name: &str,
    hint: &str,
) -> Result<v1::LoginStep, Failure> {
    let mut client = ctx.client.accounts();
    let prompt = if hint.is_empty() {
        "Two-step verification password: ".to_owned()
    } else {
        format!("Two-step verification password (hint: {hint}): ")
    };
    for attempt in 1..=TRIES {
        let password = input.secret(&prompt, "2FA password")?;
        let answer = client
            .submit_password(SubmitPasswordRequest {
                name: name.to_owned(),
                password,
            })
            .await;
        match answer {
            Ok(s) => return Ok(s.into_inner()),
            Err(s) if retry(input, &s, attempt) => {
                eprintln!("That password is wrong; try again.")
            }
            Err(s) => return Err(ctx.fail(s)),
        }
    }
    Err(Failure::new("no 2FA password given"))
}

/// A wrong answer typed by a person who has tries left.
fn retry(input: &Input, status: &tonic::Status, attempt: usize) -> bool {
    input.is_tty() && status.code() == Code::InvalidArgument && attempt < TRIES
}

fn report(ctx: &Ctx, name: &str, account: Option<&v1::Account>, what: &str) {
    if ctx.format == Format::Json {
        print_account(ctx, account);
        return;
    }
    let user = account
        .map(|a| a.telegram_user.as_str())
        .filter(|u| !u.is_empty())
        .unwrap_or("?");
    println!("{what}: {name} as {user}");
}
