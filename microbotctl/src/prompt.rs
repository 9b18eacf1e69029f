//! [`Input`]: reading login codes and passwords. On a terminal it prompts
//! on stderr and reads passwords without echo; otherwise it reads plain
//! lines from stdin, so scripts and tests can pipe the answers in.

use std::io::{self, BufRead, IsTerminal, StdinLock, Write};

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use crate::failure::Failure;

/// Where answers come from.
pub struct Input {
    stdin: StdinLock<'static>,
    tty: bool,
}

impl Input {
    pub fn new() -> Self {
        let stdin = io::stdin();
        let tty = stdin.is_terminal();
        Input {
            stdin: stdin.lock(),
            tty,
        }
    }

    /// True when a person is typing (prompts shown, retries offered).
    pub fn is_tty(&self) -> bool {
        self.tty
    }

    /// One answer, echoed (login codes are short-lived).
    pub fn line(&mut self, prompt: &str, what: &str) -> Result<String, Failure> {
        self.prompt(prompt);
        self.read(what)
    }

    /// One answer, not echoed on a terminal (passwords).
    pub fn secret(&mut self, prompt: &str, what: &str) -> Result<String, Failure> {
        self.prompt(prompt);
        let _echo_off = if self.tty { EchoOff::new() } else { None };
        let answer = self.read(what);
        if self.tty {
            // The user's Enter was not echoed either.
            eprintln!();
        }
        answer
    }

    fn prompt(&self, prompt: &str) {
        if self.tty {
            eprint!("{prompt}");
            let _ = io::stderr().flush();
        }
    }

    fn read(&mut self, what: &str) -> Result<String, Failure> {
        let mut buf = String::new();
        let n = self
            .stdin
            .read_line(&mut buf)
            .map_err(|e| Failure::new(format!("cannot read the {what}: {e}")))?;
        if n == 0 {
            let mut f = Failure::new(format!("no {what} given (stdin ended)"));
            f.hint = Some(
                "pipe the login code, then the 2FA password if the account has one, one per line"
                    .into(),
            );
            return Err(f);
        }
        Ok(buf.trim_end_matches(['\n', '\r']).to_owned())
    }
}

/// Turns terminal echo off until dropped.
struct EchoOff {
    saved: Termios,
}

impl EchoOff {
    fn new() -> Option<EchoOff> {
        let saved = termios::tcgetattr(io::stdin()).ok()?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &quiet).ok()?;
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}
