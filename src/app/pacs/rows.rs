//! The matches as the window shows them: the date filters, a row's value
//! as text, sorting.

use crate::net::Row;

/// The study date filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateFilter {
    /// Any date.
    #[default]
    Any,
    /// Today.
    Today,
    /// Yesterday.
    Yesterday,
    /// The last seven days, today included.
    LastWeek,
    /// The range typed in `custom_dates`.
    Custom,
}

impl DateFilter {
    /// The filters, in the order the window offers them.
    pub const ALL: [DateFilter; 5] = [
        DateFilter::Any,
        DateFilter::Today,
        DateFilter::Yesterday,
        DateFilter::LastWeek,
        DateFilter::Custom,
    ];

    /// Its name in the window.
    pub fn label(self) -> &'static str {
        match self {
            DateFilter::Any => "Any date",
            DateFilter::Today => "Today",
            DateFilter::Yesterday => "Yesterday",
            DateFilter::LastWeek => "Last 7 days",
            DateFilter::Custom => "Custom",
        }
    }

    /// The DICOM date range for `today`, or `None` for any date.
    pub fn range(self, today: chrono::NaiveDate, custom: &str) -> Option<String> {
        let day = |d: chrono::NaiveDate| d.format("%Y%m%d").to_string();
        match self {
            DateFilter::Any => None,
            DateFilter::Today => Some(day(today)),
            DateFilter::Yesterday => Some(day(today - chrono::Duration::days(1))),
            DateFilter::LastWeek => Some(format!(
                "{}-{}",
                day(today - chrono::Duration::days(6)),
                day(today)
            )),
            DateFilter::Custom => Some(custom.trim().to_string()).filter(|c| !c.is_empty()),
        }
    }
}

/// A row's value as text.
pub fn field(row: &Row, key: &str) -> Option<String> {
    match row.get(key)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Sorts rows by `key` (numbers as numbers, missing values last).
pub fn sort_rows(rows: &mut [Row], key: &str, ascending: bool) {
    rows.sort_by(|a, b| {
        let (x, y) = (a.get(key), b.get(key));
        let order = match (x.and_then(|v| v.as_f64()), y.and_then(|v| v.as_f64())) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => field(a, key)
                .unwrap_or_default()
                .cmp(&field(b, key).unwrap_or_default()),
        };
        if ascending { order } else { order.reverse() }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_filters_become_dicom_ranges() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(DateFilter::Any.range(today, ""), None);
        assert_eq!(
            DateFilter::Today.range(today, "").as_deref(),
            Some("20260302")
        );
        assert_eq!(
            DateFilter::Yesterday.range(today, "").as_deref(),
            Some("20260301")
        );
        assert_eq!(
            DateFilter::LastWeek.range(today, "").as_deref(),
            Some("20260224-20260302")
        );
        assert_eq!(
            DateFilter::Custom.range(today, " 2025-2026 ").as_deref(),
            Some("2025-2026")
        );
    }

    #[test]
    fn rows_sort_by_number_or_text() {
        let row = |date: &str, n: i64| {
            let mut r = Row::new();
            r.insert("StudyDate".into(), date.into());
            r.insert("NumberOfStudyRelatedInstances".into(), n.into());
            r
        };
        let mut rows = vec![
            row("20240101", 10),
            row("20250101", 9),
            row("20230101", 100),
        ];
        sort_rows(&mut rows, "StudyDate", false);
        assert_eq!(field(&rows[0], "StudyDate").as_deref(), Some("20250101"));
        sort_rows(&mut rows, "NumberOfStudyRelatedInstances", true);
        assert_eq!(
            field(&rows[0], "NumberOfStudyRelatedInstances").as_deref(),
            Some("9")
        );
    }
}
