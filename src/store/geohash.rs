//! geohash
