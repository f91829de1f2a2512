//! Who sends payloads to the intake webhooks.

use super::initiative::text_enum;

text_enum!(
    /// A provider whose signed webhooks offerlab reads: Stripe, Typeform, or the generic
    /// signed form webhook (`form`).
    Provider { Stripe => "stripe", Typeform => "typeform", Form => "form" }
);
