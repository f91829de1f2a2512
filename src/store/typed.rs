//! Typed columns: the closed sets of `domain` stored as their text names, and JSON
//! columns ([`Json`]), read and written through diesel's `ToSql` / `FromSql`
//! (vaultwarden's pattern) instead of by hand at each query.
//!
//! One impl per type covers SQLite, PostgreSQL and the `MultiBackend` of [`super::DbConn`]:
//! each is generic over a backend that can read and write `Text`. The domain types carry only
//! `#[derive(AsExpression, FromSqlRow)]` (added by `domain::initiative::text_enum!`): diesel
//! gives no stable way to declare those two for a type from outside its definition (its
//! `foreign_derive` and `internal::derives` are unstable internals); what a value looks like
//! in SQL, and what a stored value outside the set becomes, is decided here.
//!
//! A stored text outside the closed set is a deserialization error, which `StoreError`
//! turns into [`super::StoreError::Corrupt`]: a clean error naming the type and the value,
//! never a panic nor a silent default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::inbox::InboxStatus;
use super::outbox::DeliveryState;
use super::sessions::Kind as SessionKind;
use crate::domain::access::Role;
use crate::domain::audit::{Action, ActorKind, TargetType};
use crate::domain::provider::Provider;
use crate::domain::webhook::{EventType, Format};
use crate::domain::{Decision, EventKind, Kind, Mode, PreorderKind, Sentiment, Status};

/// A closed set stored as text: its name, and the value of a name.
pub trait ClosedSet: Sized + Copy {
    fn name(self) -> &'static str;
    fn from_name(s: &str) -> Result<Self, String>;
}

/// `ToSql`/`FromSql<Text>` for closed sets with `as_str(self) -> &'static str` and
/// `parse(&str) -> Result<Self, String>`.
macro_rules! text_column {
    ($($ty:ident),+ $(,)?) => {$(
        impl ClosedSet for $ty {
            fn name(self) -> &'static str {
                self.as_str()
            }

            fn from_name(s: &str) -> Result<Self, String> {
                $ty::parse(s).map_err(|why| format!("{} '{s}' {why}", stringify!($ty)))
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                Ok($ty::from_name(&text)?)
            }
        }
    )+};
}

text_column!(
    Kind,
    Mode,
    Status,
    Decision,
    Sentiment,
    PreorderKind,
    EventKind,
    Provider,
    Role,
    ActorKind,
    TargetType,
    Action,
    EventType,
    Format,
    InboxStatus,
    SessionKind,
    DeliveryState,
);

/// A JSON column (`core_segments`, `variants`, a decision's `snapshot`, a survey mapping's
/// `choices`, the audit log's `before_json`/`after_json`): the value and its stored text.
///
/// The text is made once, by [`Json::new`] (a value that does not serialize is an error
/// there, not while a statement binds it) or read from the database; a stored text that
/// does not read as `T` is a deserialization error, so a [`super::StoreError::Corrupt`].
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Json<T> {
    value: T,
    text: String,
}

impl<T: serde::Serialize> Json<T> {
    pub fn new(value: T) -> Result<Self, super::StoreError> {
        let text = serde_json::to_string(&value)
            .map_err(|e| super::StoreError::Corrupt(format!("JSON column: {e}")))?;
        Ok(Self { value, text })
    }
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T, DB> ToSql<Text, DB> for Json<T>
where
    T: std::fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(&self.text, out)
    }
}

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: serde::de::DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        let value =
            serde_json::from_str(&text).map_err(|e| format!("stored JSON does not read: {e}"))?;
        Ok(Self { value, text })
    }
}

/// A list of a closed set's names stored comma-separated (a webhook's `event_types`): the
/// values and their stored text, made once like [`Json`]'s.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct NameList<T> {
    values: Vec<T>,
    text: String,
}

impl<T: ClosedSet> NameList<T> {
    pub fn new(values: Vec<T>) -> Self {
        let text = values
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(",");
        Self { values, text }
    }

    pub fn into_inner(self) -> Vec<T> {
        self.values
    }
}

impl<T, DB> ToSql<Text, DB> for NameList<T>
where
    T: std::fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(&self.text, out)
    }
}

impl<T, DB> FromSql<Text, DB> for NameList<T>
where
    T: ClosedSet,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        let values = text
            .split(',')
            .filter(|s| !s.is_empty())
            .map(T::from_name)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { values, text })
    }
}
