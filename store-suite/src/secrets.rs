//! Cases for generated secrets.

use crate::fixtures::*;
use crate::{OrFail, Outcome};
#[allow(unused_imports)]
use uuid::Uuid;
use workgate_core::Stores;

// ---------------------------------------------------------------------------------------------
// Settings

pub(crate) async fn token_secret_keeps_the_first_candidate(s: &Stores) -> Outcome {
    let first: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    let got = s
        .secrets
        .token_secret(first.clone())
        .await
        .or_fail("token_secret(first)")?;
    ensure_eq!(got, first, "the first candidate is stored");
    for candidate in [vec![1u8; 32], vec![], vec![0u8; 64]] {
        ensure_eq!(
            s.secrets
                .token_secret(candidate)
                .await
                .or_fail("token_secret(other)")?,
            first,
            "a later candidate is ignored"
        );
    }
    // Other writes leave it alone.
    seed(s, [joining(admin(1, "root"), 10, &["team"])]).await?;
    s.audit
        .append_audit(audit_entry(1, at(1)))
        .await
        .or_fail("append_audit")?;
    fail(s, "root", at(2), 900)
        .await
        .or_fail("record_login_failure")?;
    ensure_eq!(
        s.secrets
            .token_secret(vec![9; 32])
            .await
            .or_fail("token_secret")?,
        first,
        "after other writes"
    );
    Ok(())
}
