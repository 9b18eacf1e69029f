//! The results table: microbot's figure, the peer's, the ratio and the goal.

/// One measured row.
pub struct Row {
    pub workload: String,
    pub metric: String,
    pub microbot: Option<f64>,
    pub peer: Option<(String, f64)>,
    pub goal: String,
    pub unit: String,
}

impl Row {
    pub fn new(
        workload: &str,
        metric: &str,
        unit: &str,
        microbot: Option<f64>,
        goal: &str,
    ) -> Self {
        Row {
            workload: workload.into(),
            metric: metric.into(),
            microbot,
            peer: None,
            goal: goal.into(),
            unit: unit.into(),
        }
    }

    pub fn peer(mut self, name: &str, value: Option<f64>) -> Self {
        self.peer = value.map(|v| (name.to_string(), v));
        self
    }
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints the table (Markdown, so it pastes into bench/RESULTS.md).
pub fn print(rows: &[Row]) {
    println!("| workload | metric | microbot | peer | peer value | ratio (peer/microbot) | goal |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let m = r
            .microbot
            .map(|v| format!("{} {}", fmt(v), r.unit))
            .unwrap_or_else(|| "n/a".into());
        let (pname, pval, ratio) = match (&r.peer, r.microbot) {
            (Some((n, v)), Some(m)) if m != 0.0 => (
                n.clone(),
                format!("{} {}", fmt(*v), r.unit),
                format!("{:.1}×", v / m),
            ),
            (Some((n, v)), _) => (n.clone(), format!("{} {}", fmt(*v), r.unit), "-".into()),
            (None, _) => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {m} | {pname} | {pval} | {ratio} | {} |",
            r.workload, r.metric, r.goal
        );
    }
}

/// Percentile of sorted-in-place values.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let k = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    Some(values[k.min(values.len() - 1)])
}
