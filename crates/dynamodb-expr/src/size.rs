//! Item and key sizes as DynamoDB counts them for its limits (400 KB items, 2048-byte partition
//! keys, 1024-byte sort keys), following the formula in the DynamoDB developer guide.

use crate::{AttributeValue, Error, Item, Number};

/// The largest item DynamoDB stores: 400 KB, names and values together.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;
/// The largest partition key value, in bytes.
pub const MAX_PARTITION_KEY_SIZE: usize = 2048;
/// The largest sort key value, in bytes.
pub const MAX_SORT_KEY_SIZE: usize = 1024;

/// The size of an item: for each attribute, the UTF-8 length of its name plus its value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

/// Refuses an item over [`MAX_ITEM_SIZE`]; `updated` picks UpdateItem's wording.
pub fn check_item_size(item: &Item, updated: bool) -> Result<(), Error> {
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(if updated { Error::UpdatedItemTooLarge } else { Error::ItemTooLarge });
    }
    Ok(())
}

/// The size of one value:
/// - strings: UTF-8 bytes; binary: raw bytes;
/// - numbers: one byte per two significant digits, plus one;
/// - booleans and null: one byte;
/// - lists and maps: three bytes, plus one byte per element, plus the elements (a map element
///   counts its name's bytes too);
/// - sets: the sum of their members.
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::Bool(_) | AttributeValue::Null => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        AttributeValue::SS(v) => v.iter().map(String::len).sum(),
        AttributeValue::BS(v) => v.iter().map(Vec::len).sum(),
        AttributeValue::NS(v) => v.iter().map(number_size).sum(),
    }
}

/// DynamoDB's documented number size: `ceil(significant digits / 2) + 1`.
pub fn number_size(n: &Number) -> usize {
    n.significant_digits().div_ceil(2) + 1
}
