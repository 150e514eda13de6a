//! The CSV files ImportApiKeys reads: a header row naming the columns in any order and case
//! (`Name` and `Key` required; `Description`, `Enabled`, `UsagePlanIds` optional; others
//! ignored), then one key per row. A field may be quoted with `"` or `'` to hold commas, as a
//! list of usage plan ids is. Rows that cannot become keys are skipped with a warning.

use crate::error::Error;

/// One key the file describes, with its line number for warnings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub line: usize,
    pub name: String,
    pub key: String,
    pub description: String,
    pub enabled: bool,
    pub usage_plan_ids: Vec<String>,
}

/// The rows of a file and the warnings for the rows it skipped.
pub(crate) fn parse(text: &str) -> Result<(Vec<Row>, Vec<String>), Error> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(Error::bad("The API key file is empty"));
    };
    let columns: Vec<String> = fields(header).iter().map(|c| c.trim().to_ascii_lowercase()).collect();
    let column = |name: &str| columns.iter().position(|c| c == name);
    let (Some(name_at), Some(key_at)) = (column("name"), column("key")) else {
        return Err(Error::bad("The API key file must have a header row with the Name and Key columns"));
    };
    let (description_at, enabled_at, plans_at) =
        (column("description"), column("enabled"), column("usageplanids"));
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for (index, line) in lines {
        let line_no = index + 1;
        let values = fields(line);
        let get = |at: Option<usize>| {
            at.and_then(|i| values.get(i)).map(|v| v.trim().to_owned()).unwrap_or_default()
        };
        let (name, key) = (get(Some(name_at)), get(Some(key_at)));
        if !(20..=128).contains(&key.chars().count()) {
            warnings.push(format!("Line {line_no}: a Key must be between 20 and 128 characters"));
            continue;
        }
        if name.is_empty() || name.chars().count() > 1024 {
            warnings.push(format!("Line {line_no}: a Name must be between 1 and 1024 characters"));
            continue;
        }
        let enabled = match get(enabled_at).to_ascii_lowercase().as_str() {
            "" | "true" => true,
            "false" => false,
            other => {
                warnings.push(format!("Line {line_no}: Enabled must be true or false, not {other}"));
                continue;
            }
        };
        let usage_plan_ids =
            get(plans_at).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        rows.push(Row {
            line: line_no,
            name,
            key,
            description: get(description_at),
            enabled,
            usage_plan_ids,
        });
    }
    Ok((rows, warnings))
}

/// A CSV line's fields; `"…"` or `'…'` quote a field (a doubled quote inside is one quote).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    field.push(q);
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => field.push(c),
            None if (c == '"' || c == '\'') && field.trim().is_empty() => {
                field.clear();
                quote = Some(c);
            }
            None if c == ',' => out.push(std::mem::take(&mut field)),
            None => field.push(c),
        }
    }
    out.push(field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_any_order_and_case_with_quoted_plan_lists() {
        let file = "Enabled,Name,key,UsageplanIds,Color\n\
                    true,first,apikey1234abcdefghij0123456789,\"c7y23b,glvrsr\",red\n\
                    FALSE,second,apikey1234abcdefghij9876543210,'c7y23b',blue\n\
                    ,third,apikey1234abcdefghij5555555555,,\n";
        let (rows, warnings) = parse(file).expect("parses");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].usage_plan_ids, ["c7y23b", "glvrsr"]);
        assert!(rows[0].enabled && !rows[1].enabled && rows[2].enabled);
        assert_eq!(
            (rows[1].name.as_str(), rows[1].usage_plan_ids.as_slice()),
            ("second", &["c7y23b".to_owned()][..])
        );
        assert_eq!(rows[2].description, "");
    }

    #[test]
    fn bad_rows_are_warnings_and_a_bad_header_an_error() {
        let (rows, warnings) =
            parse("key,name\nshort,x\napikey1234abcdefghij0123456789,\napikey1234abcdefghij0123456789,ok\n")
                .expect("parses");
        assert_eq!(rows.len(), 1);
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].starts_with("Line 2:") && warnings[1].starts_with("Line 3:"), "{warnings:?}");
        assert!(parse("name,value\nx,y\n").is_err());
        assert!(parse("").is_err());
    }
}
