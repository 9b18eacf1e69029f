//! TOML errors as one line that never quotes the input: "line 3, column 7:
//! expected `=`". toml's own rendering shows the offending source line,
//! and serde's messages quote the offending value; either would carry a
//! file's content (a secret, if the file was the wrong one) into errors,
//! the audit trail and logs.

/// `line L, column C: message`, without any quoted value from the input.
pub fn describe(text: &str, e: &toml::de::Error) -> String {
    let msg = without_quoted_values(e.message().trim()).replace('\n', " ");
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {msg}")
        }
        None => msg,
    }
}

/// serde quotes values in double quotes (`invalid type: string "x",
/// expected a boolean`) and names keys in backticks: values go, keys stay.
fn without_quoted_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        let mut escaped = false;
        for c in chars.by_ref() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => break,
                _ => escaped = false,
            }
        }
        out.push_str("\"…\"");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            #[serde(default)]
            active: bool,
        }
        describe(text, &toml::from_str::<Doc>(text).unwrap_err())
    }

    #[test]
    fn no_input_is_quoted() {
        let shadow = "root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n";
        let e = err(shadow);
        assert!(e.starts_with("line 1, column "), "{e}");
        assert!(!e.contains("saltsalt") && !e.contains("root"), "{e}");
        let e = err("\n\nactive = \"hunter2\"\n");
        assert_eq!(
            e,
            "line 3, column 10: invalid type: string \"…\", expected a boolean"
        );
        assert_eq!(
            err("a = 1\nb c\n"),
            "line 2, column 3: key with no value, expected `=`"
        );
    }
}
