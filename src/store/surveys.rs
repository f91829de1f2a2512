//! Survey mappings, and what intake needs to know about a customer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::customers::dsl as cu;
use super::schema::survey_mappings::dsl as m;
use super::typed::Json;
use super::{DbConn, StoreError, on_backend, to_naive};
use crate::domain::audit::{Action, Actor, AuditEntry};
use crate::domain::survey::SurveyMapping;
use crate::domain::{InitiativeKey, Sentiment};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = super::schema::survey_mappings, treat_none_as_null = true)]
struct Row {
    initiative_id: i64,
    form_id: String,
    sentiment_ref: String,
    customer_field: String,
    segment_field: Option<String>,
    choices: Json<BTreeMap<String, Sentiment>>,
    updated_at: chrono::NaiveDateTime,
}

impl Row {
    fn into_mapping(self) -> Result<SurveyMapping, StoreError> {
        Ok(SurveyMapping {
            form_id: self.form_id,
            sentiment_ref: self.sentiment_ref,
            choices: self.choices.into_inner(),
            customer_field: self.customer_field,
            segment_field: self.segment_field,
        })
    }
}

/// Sets the initiative's mapping (replacing one set before), recorded in the audit log
/// in the same transaction. A form mapped to another initiative is a conflict.
pub fn put(
    conn: &mut DbConn,
    actor: &Actor,
    key: &InitiativeKey,
    mapping: &SurveyMapping,
    now: DateTime<Utc>,
) -> Result<SurveyMapping, StoreError> {
    super::write_transaction(conn, |conn| {
        let initiative = super::initiatives::get(conn, key)?;
        let choices = Json::new(mapping.choices.clone())?;
        let row = Row {
            initiative_id: initiative.id,
            form_id: mapping.form_id.clone(),
            sentiment_ref: mapping.sentiment_ref.clone(),
            customer_field: mapping.customer_field.clone(),
            segment_field: mapping.segment_field.clone(),
            choices,
            updated_at: to_naive(now),
        };
        let taken: Option<i64> = m::survey_mappings
            .select(m::initiative_id)
            .filter(m::form_id.eq(&row.form_id))
            .filter(m::initiative_id.ne(initiative.id))
            .first(conn)
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "form '{}' is mapped to another initiative",
                mapping.form_id
            )));
        }
        let before = get(conn, key)?;
        on_backend!(conn, |c| diesel::insert_into(m::survey_mappings)
            .values(&row)
            .on_conflict(m::initiative_id)
            .do_update()
            .set(&row)
            .execute(c))?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::InitiativeSurveyMapping,
                key.as_str(),
                before
                    .map(|b| super::initiatives::to_json(&b))
                    .transpose()?,
                Some(super::initiatives::to_json(mapping)?),
                now,
            ),
        )?;
        Ok(mapping.clone())
    })
}

/// The initiative's mapping, if one is set.
pub fn get(conn: &mut DbConn, key: &InitiativeKey) -> Result<Option<SurveyMapping>, StoreError> {
    let initiative = super::initiatives::get(conn, key)?;
    m::survey_mappings
        .filter(m::initiative_id.eq(initiative.id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_mapping)
        .transpose()
}

/// The initiative key and mapping a Typeform form belongs to.
pub fn for_form(
    conn: &mut DbConn,
    form_id: &str,
) -> Result<Option<(InitiativeKey, SurveyMapping)>, StoreError> {
    use super::schema::initiatives::dsl as i;
    let Some(row) = m::survey_mappings
        .filter(m::form_id.eq(form_id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let key: String = i::initiatives
        .select(i::key)
        .filter(i::id.eq(row.initiative_id))
        .first(conn)?;
    Ok(Some((
        InitiativeKey::from_trusted(key),
        row.into_mapping()?,
    )))
}

/// The segment a customer was first exposed in (`None`: not exposed yet).
pub fn exposed_segment(
    conn: &mut DbConn,
    initiative_id: i64,
    customer: &str,
) -> Result<Option<String>, StoreError> {
    Ok(cu::customers
        .select(cu::segment)
        .filter(cu::initiative_id.eq(initiative_id))
        .filter(cu::customer_id.eq(customer))
        .first(conn)
        .optional()?)
}
