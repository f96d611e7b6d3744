#![no_main]
//! The Cosmos SQL subset: parse any query with any parameters, and
//! evaluate what parses against a document.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    // query \0 parameters \0 document
    let mut parts = s.splitn(3, '\0');
    let sql = parts.next().unwrap_or("");
    let params = parts.next().unwrap_or("{}");
    let doc = parts.next().unwrap_or("{\"id\":\"a\",\"n\":1}");
    keyrotor_dataplane::fuzzing::cosmos_query(sql, params, doc);
});
