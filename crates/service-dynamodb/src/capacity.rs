//! Consumed capacity as DynamoDB computes it: a write unit per started KB of the larger of the
//! old and new item, a read unit per started 4 KB (half for eventually consistent reads), and
//! the `ConsumedCapacity` member in the shape `TOTAL` or `INDEXES` asks for.

use serde_json::{Map, Value, json};

use crate::Env;
use crate::error::Error;

/// The usage meter, once `server` hands one over.
#[derive(Clone, Default)]
pub struct Meter(pub std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn ports::UsageMeter>>>);

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "Meter(set)" } else { "Meter(unset)" })
    }
}

impl Env<'_> {
    /// The `ConsumedCapacity` member `mode` asks for (see [`Mode::render`]), and the units
    /// counted against `table` in the usage meter either way: on-demand tables are billed by
    /// exactly these units.
    pub fn consumed(
        &self,
        mode: Mode,
        table: &str,
        units: f64,
        write: bool,
        indexes: &[(String, bool, f64)],
    ) -> Option<Value> {
        if let Some(meter) = self.meter {
            let total = units + indexes.iter().map(|(_, _, u)| u).sum::<f64>();
            // Reads come in half units; counting halves keeps the sum exact.
            let (unit, amount) = if write {
                (ports::Unit::WriteUnits, total.ceil() as u64)
            } else {
                (ports::Unit::ReadHalfUnits, (total * 2.0).ceil() as u64)
            };
            meter.add(self.scope, ports::ResourceKind::Table, table, unit, amount);
        }
        mode.render(table, units, write, indexes)
    }
}

/// Write units of writing an item of `size` bytes (at least one).
pub fn write_units(size: usize) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

/// Read units of reading `size` bytes in one request (at least one unit, or a half).
pub fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// How a request asked for its consumed capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    None,
    Total,
    Indexes,
}

impl Mode {
    pub fn parse(value: Option<&str>) -> Result<Mode, Error> {
        match value {
            None | Some("NONE") => Ok(Mode::None),
            Some("TOTAL") => Ok(Mode::Total),
            Some("INDEXES") => Ok(Mode::Indexes),
            Some(other) => Err(Error::validation(protocol::validation_message([(
                "returnConsumedCapacity",
                other,
                "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
            )]))),
        }
    }

    /// The `ConsumedCapacity` of `units` on `table` (and, for `INDEXES`, on the indexes named,
    /// each charged `per_index`); `None` when the request did not ask.
    pub fn render(
        self,
        table: &str,
        units: f64,
        write: bool,
        indexes: &[(String, bool, f64)],
    ) -> Option<Value> {
        if self == Mode::None {
            return None;
        }
        let kind = if write { "WriteCapacityUnits" } else { "ReadCapacityUnits" };
        let total = units + indexes.iter().map(|(_, _, u)| u).sum::<f64>();
        let mut out = Map::new();
        out.insert("TableName".to_owned(), json!(table));
        out.insert("CapacityUnits".to_owned(), json!(total));
        out.insert(kind.to_owned(), json!(total));
        if self == Mode::Indexes {
            out.insert("Table".to_owned(), json!({ "CapacityUnits": units, kind: units }));
            let mut gsis = Map::new();
            let mut lsis = Map::new();
            for (name, global, u) in indexes {
                let target = if *global { &mut gsis } else { &mut lsis };
                target.insert(name.clone(), json!({ "CapacityUnits": u, kind: u }));
            }
            if !gsis.is_empty() {
                out.insert("GlobalSecondaryIndexes".to_owned(), Value::Object(gsis));
            }
            if !lsis.is_empty() {
                out.insert("LocalSecondaryIndexes".to_owned(), Value::Object(lsis));
            }
        }
        Some(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_per_started_block() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(4096, false), 0.5);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
    }
}
