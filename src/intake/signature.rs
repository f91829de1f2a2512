//! Webhook signatures, verified exactly as the providers sign.
//!
//! - Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 keyed
//!   with the endpoint secret (the whole `whsec_...` string) over `"<t>.<raw body>"`.
//!   Any listed `v1` may match any configured secret (rotation); a timestamp older
//!   than the tolerance is refused (replay protection), as Stripe's libraries do.
//! - Typeform (and the generic form hook): `Typeform-Signature: sha256=<base64>`,
//!   HMAC-SHA256 of the raw body keyed with the webhook secret.
//!
//! Comparisons are constant-time (`Mac::verify_slice`).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::settings::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing: the request carries no {0} header")]
    Missing(&'static str),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("too old: signed {age} s ago, more than the {tolerance} s tolerance")]
    TooOld { age: i64, tolerance: u64 },
    #[error("does not match the body with any configured secret")]
    NoMatch,
}

fn mac(secret: &Secret) -> Option<HmacSha256> {
    HmacSha256::new_from_slice(secret.expose()).ok()
}

/// Verifies a `Stripe-Signature` header; returns its timestamp.
pub fn verify_stripe(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&Secret],
    now: i64,
    tolerance_seconds: u64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing("Stripe-Signature"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((name, value)) = item.trim().split_once('=') else {
            return Err(SignatureError::Malformed(format!(
                "'{}' is not name=value",
                item.trim()
            )));
        };
        match name {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one t=".into()));
                }
                timestamp = Some(value.parse::<i64>().map_err(|_| {
                    SignatureError::Malformed("t= must be a unix timestamp".into())
                })?);
            }
            // Other schemes (v0, a test scheme) are ignored, as Stripe's libraries do.
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| SignatureError::Malformed("no t= timestamp".into()))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1= signature".into()));
    }
    let age = now.saturating_sub(t);
    if age > i64::try_from(tolerance_seconds).unwrap_or(i64::MAX) {
        return Err(SignatureError::TooOld {
            age,
            tolerance: tolerance_seconds,
        });
    }
    for secret in secrets {
        let Some(mut m) = mac(secret) else { continue };
        m.update(t.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        for signature in &signatures {
            if m.clone().verify_slice(signature).is_ok() {
                return Ok(t);
            }
        }
    }
    Err(SignatureError::NoMatch)
}

/// Verifies a `Typeform-Signature: sha256=<base64>` header (also the generic form hook's).
pub fn verify_typeform(
    header_name: &'static str,
    header: Option<&str>,
    body: &[u8],
    secret: &Secret,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing(header_name))?;
    let encoded = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| SignatureError::Malformed("must start with sha256=".into()))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::Malformed("sha256= must be followed by base64".into()))?;
    let mut m = mac(secret).ok_or(SignatureError::NoMatch)?;
    m.update(body);
    m.verify_slice(&signature)
        .map_err(|_| SignatureError::NoMatch)
}

/// `sha256=<base64>` of `body` under `secret`: how a form tool signs (for docs and tests).
pub fn sign_typeform(body: &[u8], secret: &Secret) -> Option<String> {
    let mut m = mac(secret)?;
    m.update(body);
    Some(format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe_header(t: i64, body: &[u8], secret: &str) -> String {
        let mut m = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        m.update(format!("{t}.").as_bytes());
        m.update(body);
        format!("t={t},v1={}", hex::encode(m.finalize().into_bytes()))
    }

    #[test]
    fn stripe_rotation_tolerance_and_tampering() {
        let body = br#"{"id":"evt_1"}"#;
        let (a, b) = (Secret::new("whsec_a"), Secret::new("whsec_b"));
        let now = 1_700_000_000;
        let h = stripe_header(now - 10, body, "whsec_b");
        assert_eq!(
            verify_stripe(Some(&h), body, &[&a, &b], now, 300),
            Ok(now - 10)
        );
        assert_eq!(
            verify_stripe(Some(&h), body, &[&a], now, 300),
            Err(SignatureError::NoMatch)
        );
        // One of several v1 values may match.
        let two = format!("{},v1={}", h, "00".repeat(32));
        assert!(verify_stripe(Some(&two), body, &[&b], now, 300).is_ok());
        assert_eq!(
            verify_stripe(Some(&h), br#"{"id":"evt_2"}"#, &[&b], now, 300),
            Err(SignatureError::NoMatch)
        );
        assert!(matches!(
            verify_stripe(Some(&h), body, &[&b], now + 400, 300),
            Err(SignatureError::TooOld { .. })
        ));
        assert_eq!(
            verify_stripe(None, body, &[&b], now, 300),
            Err(SignatureError::Missing("Stripe-Signature"))
        );
        assert!(matches!(
            verify_stripe(Some("v1=00"), body, &[&b], now, 300),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn typeform_scheme() {
        let secret = Secret::new("abc123");
        let body = br#"{"event_id":"e1"}"#;
        let header = sign_typeform(body, &secret).unwrap_or_default();
        assert!(verify_typeform("Typeform-Signature", Some(&header), body, &secret).is_ok());
        assert_eq!(
            verify_typeform("Typeform-Signature", Some(&header), b"{}", &secret),
            Err(SignatureError::NoMatch)
        );
        assert!(verify_typeform("Typeform-Signature", Some("abc"), body, &secret).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("whsec_x")), "***");
    }
}
