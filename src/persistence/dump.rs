//! The payload of DUMP and RESTORE (and so of MIGRATE): one value as Redis
//! serializes it.
//!
//! A payload is the value's RDB type byte and its RDB encoding (the same
//! bytes as in a dump file, without the key), then the RDB version as two
//! little-endian bytes, then the CRC-64 of everything before it, also
//! little-endian. respd writes version 9 with plain encodings (streams as
//! Redis 7.0's listpacks, type 19), as in its
//! files; it reads every encoding and any version up to 10 (Redis 7.0), so
//! a payload from redis-server 7.0 restores here and the other way round.

use super::{crc64, rdb};
use crate::store::Value;

/// Redis's answer to a payload with a bad footer.
pub const BAD_VERSION_OR_CHECKSUM: &str = "ERR DUMP payload version or checksum are wrong";
/// Redis's answer to a payload whose footer is fine but whose body is not.
pub const BAD_FORMAT: &str = "ERR Bad data format";

/// The version and checksum after the value.
const FOOTER_LEN: usize = 10;

/// `value` as a DUMP payload.
pub fn serialize(value: &Value) -> Vec<u8> {
    let mut payload = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rdb::write_value(&mut rdb::Checksummed::new(&mut payload), None, value);
    add_footer(&mut payload, rdb::WRITE_VERSION);
    payload
}

/// The value in a DUMP payload, or the error RESTORE replies with.
pub fn deserialize(payload: &[u8]) -> Result<Value, &'static str> {
    check_footer(payload)?;
    // As Redis, the value is read from the whole payload, footer included
    // (a value cut short may read into it) and what follows it is ignored;
    // an empty aggregate is refused, as Redis 7.0 does.
    let mut reader = rdb::Reader::new(payload);
    let kind = reader.byte().map_err(|_| BAD_FORMAT)?;
    match rdb::read_value(&mut reader, kind, 0) {
        Ok(Some(value)) => Ok(value),
        Ok(None) | Err(_) => Err(BAD_FORMAT),
    }
}

/// Every library's code as a FUNCTION DUMP payload: one function opcode
/// and code per library, then the same footer as DUMP's, with Redis 7.0's
/// version (10: no older Redis has functions), so that the payload is
/// Redis's own byte for byte when no code is long enough for Redis to
/// compress.
pub fn serialize_libraries(codes: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut writer = rdb::Checksummed::new(&mut payload);
    for code in codes {
        // Writing to a Vec cannot fail.
        let _ = rdb::write_library(&mut writer, code);
    }
    add_footer(&mut payload, rdb::MAX_READ_VERSION);
    payload
}

/// The libraries' code in a FUNCTION DUMP payload (of respd or of Redis
/// 7.0, which may hold the release candidates' opcode too), or the error
/// FUNCTION RESTORE replies with.
pub fn deserialize_libraries(payload: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    check_footer(payload)?;
    // As Redis: entries until only the footer is left.
    let mut reader = rdb::Reader::new(payload);
    let mut codes = Vec::new();
    while reader.remaining() > FOOTER_LEN {
        let opcode = reader.byte().map_err(|_| "ERR can not read data type")?;
        if !rdb::is_library(opcode) {
            return Err("ERR given type is not a function");
        }
        let code = rdb::read_library(&mut reader, opcode)
            .map_err(|_| "ERR Failed loading library payload")?;
        codes.push(code);
    }
    Ok(codes)
}

fn add_footer(payload: &mut Vec<u8>, version: u32) {
    payload.extend_from_slice(&(version as u16).to_le_bytes());
    let crc = crc64::update(0, payload);
    payload.extend_from_slice(&crc.to_le_bytes());
}

/// Redis's `verifyDumpPayload`: a version it could have written, and the
/// checksum of everything before the checksum.
fn check_footer(payload: &[u8]) -> Result<(), &'static str> {
    let Some(body_len) = payload.len().checked_sub(FOOTER_LEN) else {
        return Err(BAD_VERSION_OR_CHECKSUM);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = crc64::update(0, &payload[..body_len + 2]);
    if u32::from(version) > rdb::MAX_READ_VERSION || crc.to_le_bytes() != footer[2..] {
        return Err(BAD_VERSION_OR_CHECKSUM);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_and_damage_is_caught() {
        let value = Value::List(Box::new(vec![b"a".to_vec(), b"12".to_vec()].into()));
        let payload = serialize(&value);
        // Type 1 (list), 2 items: "a", then 12 as an 8-bit integer; version 9.
        assert_eq!(&payload[..7], b"\x01\x02\x01a\xc0\x0c\x09");
        assert!(matches!(deserialize(&payload), Ok(Value::List(l)) if l.len() == 2));
        for cut in 0..payload.len() {
            assert!(deserialize(&payload[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = payload.clone();
        flipped[3] ^= 1;
        assert_eq!(deserialize(&flipped).err(), Some(BAD_VERSION_OR_CHECKSUM));
    }

    #[test]
    fn redis_7_payload_restores() {
        // redis-server 7.0.15: RPUSH l a b; DUMP l (a quicklist 2 of one listpack).
        let payload = b"\x12\x01\x02\x0d\x0d\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\x0a\x00";
        let mut full = payload.to_vec();
        full.extend_from_slice(b"\x68\xeb\x0a\x89\x13\x41\xbb\xb1");
        assert!(matches!(deserialize(&full), Ok(Value::List(l)) if l.len() == 2));
        // Version 11 (Redis 7.2) is refused, as Redis 7.0 refuses it.
        let mut newer = payload.to_vec();
        let at = newer.len() - 2;
        newer[at] = 11;
        let crc = crc64::update(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(deserialize(&newer).err(), Some(BAD_VERSION_OR_CHECKSUM));
    }
}
