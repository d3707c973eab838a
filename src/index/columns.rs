//! Typed names of the index's columns (its fast fields), for the code that reads them
//! segment by segment (`query::scan`, reports): a misspelt column is a compile error,
//! and the unit test below checks once that every name is a column of the schema, of
//! its type.

/// A string column: values as dictionary ordinals (`query::scan::StrValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextColumn {
    Verb,
    User,
    ServiceAccount,
    Pod,
    PodUid,
    Node,
    Impersonated,
    Resource,
    Sub,
    Namespace,
    Name,
    Decision,
    Stage,
    Level,
    Ip,
    /// userAgent whole (`ua` is its searchable, tokenized twin, not a column).
    Agent,
}

impl TextColumn {
    pub const ALL: [TextColumn; 16] = [
        TextColumn::Verb,
        TextColumn::User,
        TextColumn::ServiceAccount,
        TextColumn::Pod,
        TextColumn::PodUid,
        TextColumn::Node,
        TextColumn::Impersonated,
        TextColumn::Resource,
        TextColumn::Sub,
        TextColumn::Namespace,
        TextColumn::Name,
        TextColumn::Decision,
        TextColumn::Stage,
        TextColumn::Level,
        TextColumn::Ip,
        TextColumn::Agent,
    ];

    /// The field's name in the schema (`schema::build`).
    pub fn name(self) -> &'static str {
        match self {
            TextColumn::Verb => "verb",
            TextColumn::User => "user",
            TextColumn::ServiceAccount => "sa",
            TextColumn::Pod => "pod",
            TextColumn::PodUid => "poduid",
            TextColumn::Node => "node",
            TextColumn::Impersonated => "as",
            TextColumn::Resource => "resource",
            TextColumn::Sub => "sub",
            TextColumn::Namespace => "ns",
            TextColumn::Name => "name",
            TextColumn::Decision => "decision",
            TextColumn::Stage => "stage",
            TextColumn::Level => "level",
            TextColumn::Ip => "ip",
            TextColumn::Agent => "agent",
        }
    }
}

/// A numeric column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberColumn {
    Code,
    /// Size in the log of all the request's stages.
    Bytes,
}

impl NumberColumn {
    pub const ALL: [NumberColumn; 2] = [NumberColumn::Code, NumberColumn::Bytes];

    /// The field's name in the schema (`schema::build`).
    pub fn name(self) -> &'static str {
        match self {
            NumberColumn::Code => "code",
            NumberColumn::Bytes => "bytes",
        }
    }
}

/// The column of request receive times.
pub const TIME: &str = "time";

#[cfg(test)]
mod tests {
    use tantivy::schema::{FieldType, Schema};

    use super::*;

    fn field_type(schema: &Schema, name: &str) -> FieldType {
        let field = schema
            .get_field(name)
            .unwrap_or_else(|_| panic!("{name} is not a field of the schema"));
        let entry = schema.get_field_entry(field);
        assert!(entry.is_fast(), "{name} is not a column");
        entry.field_type().clone()
    }

    #[test]
    fn every_column_name_is_a_column_of_its_type_in_the_schema() {
        let (schema, _) = crate::index::schema::build();
        for column in TextColumn::ALL {
            let kind = field_type(&schema, column.name());
            assert!(matches!(kind, FieldType::Str(_)), "{column:?} is {kind:?}");
        }
        for column in NumberColumn::ALL {
            let kind = field_type(&schema, column.name());
            assert!(matches!(kind, FieldType::U64(_)), "{column:?} is {kind:?}");
        }
        assert!(matches!(field_type(&schema, TIME), FieldType::Date(_)));
    }
}
