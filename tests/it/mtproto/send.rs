//! Sending through the test server: the request carries the delivery's
//! stored random_id, peer, text and entities; a repeat after kill -9 is
//! de-duplicated by random_id and the row ends `sent` with the first id.
