//! How a survey tool's answers become responses: one mapping per initiative.

use std::collections::BTreeMap;

use super::{FieldErrors, Sentiment};

/// Which Typeform form belongs to the initiative, which question holds the sentiment,
/// which choice label means which sentiment, and which hidden fields hold the customer
/// id (and, for customers not exposed yet, their segment).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SurveyMapping {
    /// The Typeform form id (`form_response.form_id`); one initiative per form.
    pub form_id: String,
    /// The `ref` of the question whose choice is the sentiment.
    pub sentiment_ref: String,
    /// Choice label -> sentiment. Labels are matched exactly.
    pub choices: BTreeMap<String, Sentiment>,
    /// The hidden field holding the customer id.
    pub customer_field: String,
    /// The hidden field holding the segment, used only when the customer has no
    /// exposure yet (the exposure is then recorded in that segment).
    pub segment_field: Option<String>,
}

/// The largest a form id, ref, field name or label may be.
const MAX_LEN: usize = 200;

fn name(errors: &mut FieldErrors, field: &str, value: String) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(field, "must not be empty");
        None
    } else if trimmed.len() > MAX_LEN {
        errors.push(field, format!("must be at most {MAX_LEN} characters"));
        None
    } else {
        Some(trimmed.to_owned())
    }
}

impl SurveyMapping {
    /// Parses a mapping; every problem is named by field.
    pub fn parse(
        form_id: String,
        sentiment_ref: String,
        choices: BTreeMap<String, String>,
        customer_field: String,
        segment_field: Option<String>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let form_id = name(&mut errors, "form_id", form_id);
        let sentiment_ref = name(&mut errors, "sentiment_ref", sentiment_ref);
        let customer_field = name(&mut errors, "customer_field", customer_field);
        let segment_field = match segment_field {
            Some(s) => name(&mut errors, "segment_field", s).map(Some),
            None => Some(None),
        };
        if choices.is_empty() {
            errors.push(
                "choices",
                "must map at least one choice label to a sentiment",
            );
        }
        let mut parsed = BTreeMap::new();
        for (label, sentiment) in choices {
            let field = format!("choices.{label}");
            if label.is_empty() || label.len() > MAX_LEN {
                errors.push(
                    field,
                    format!("a choice label must have 1 to {MAX_LEN} characters"),
                );
                continue;
            }
            if let Some(s) = errors.take(&field, Sentiment::parse(&sentiment)) {
                parsed.insert(label, s);
            }
        }
        errors.finish(|| {
            Some(Self {
                form_id: form_id?,
                sentiment_ref: sentiment_ref?,
                choices: parsed,
                customer_field: customer_field?,
                segment_field: segment_field?,
            })
        })
    }

    /// The sentiment a choice label means.
    pub fn sentiment(&self, label: &str) -> Option<Sentiment> {
        self.choices.get(label).copied()
    }
}
