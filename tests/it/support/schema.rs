//! JSON Schema (2020-12) validation for the keywords the API descriptions use: GitHub's and
//! OpenAI's descriptions and the review API's own. A schema object with a keyword this file
//! does not know makes the check panic, so no rule can pass by being ignored. `format` and
//! `discriminator` are annotations here, as in JSON Schema 2020-12 without the format
//! vocabulary.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Keywords that describe and do not constrain.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "discriminator",
    "externalDocs",
    "xml",
    "contentEncoding",
    "contentMediaType",
    "components",
    "$defs",
];

/// A schema, with the document its `$ref`s point into (`#/components/...`).
pub struct Schema<'a> {
    pub root: &'a Value,
}

impl Schema<'_> {
    /// The problems of `instance` against the root (at most `limit`), each with where it is.
    pub fn errors(&self, instance: &Value, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.check(self.root, instance, "", &mut out);
        out.truncate(limit);
        out
    }

    /// Whether `instance` is valid against `schema`.
    fn valid(&self, schema: &Value, instance: &Value) -> bool {
        let mut out = Vec::new();
        self.check(schema, instance, "", &mut out);
        out.is_empty()
    }

    fn resolve(&self, reference: &str) -> &Value {
        let mut at = self.root;
        for part in reference
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("only local references are described: {reference}"))
            .split('/')
        {
            at = &at[part.replace("~1", "/").replace("~0", "~")];
        }
        assert!(!at.is_null(), "{reference} does not resolve");
        at
    }

    fn check(&self, schema: &Value, instance: &Value, at: &str, out: &mut Vec<String>) {
        let map = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return out.push(format!("nothing is allowed at {at:?}")),
            Value::Object(map) => map,
            other => panic!("not a schema: {other}"),
        };
        for (keyword, value) in map {
            match keyword.as_str() {
                "$ref" => {
                    let target = self.resolve(value.as_str().expect("a $ref is a string"));
                    self.check(target, instance, at, out);
                }
                "type" => {
                    let allowed: Vec<&str> = match value {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        other => panic!("a type is a name or a list: {other}"),
                    };
                    if !allowed.iter().any(|t| is_type(instance, t)) {
                        fail(out, at, format!("{instance} is not of type {value}"));
                    }
                }
                "enum" => {
                    let values = value.as_array().expect("an enum is a list");
                    if !values.contains(instance) {
                        fail(out, at, format!("{instance} is not one of {value}"));
                    }
                }
                "const" if value != instance => fail(out, at, format!("{instance} is not {value}")),
                "const" => {}
                "properties"
                | "required"
                | "additionalProperties"
                | "maxProperties"
                | "minProperties"
                | "propertyNames" => {
                    if let Value::Object(fields) = instance {
                        self.object(keyword, value, map, fields, at, out);
                    }
                }
                "items" | "minItems" | "maxItems" => {
                    if let Value::Array(items) = instance {
                        self.array(keyword, value, items, at, out);
                    }
                }
                "minLength" | "maxLength" | "pattern" => {
                    if let Value::String(text) = instance {
                        string(keyword, value, text, at, out);
                    }
                }
                "minimum" | "maximum" => {
                    let (Some(n), Some(bound)) = (instance.as_f64(), value.as_f64()) else {
                        continue;
                    };
                    if (keyword == "minimum" && n < bound) || (keyword == "maximum" && n > bound) {
                        fail(out, at, format!("{n} is out of its {keyword} {bound}"));
                    }
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let branches = value.as_array().expect("a list of schemas");
                    let matching = branches.iter().filter(|s| self.valid(s, instance)).count();
                    let ok = match keyword.as_str() {
                        "allOf" => matching == branches.len(),
                        "anyOf" => matching > 0,
                        _ => matching == 1,
                    };
                    if !ok {
                        fail(
                            out,
                            at,
                            format!(
                                "{} matches {matching} of the {} schemas of its {keyword}",
                                short(instance),
                                branches.len()
                            ),
                        );
                    }
                }
                "not" if self.valid(value, instance) => {
                    fail(out, at, format!("{instance} matches `not`"))
                }
                "not" => {}
                k if ANNOTATIONS.contains(&k) || k.starts_with("x-") => {}
                unknown => panic!("the keyword {unknown:?} is not checked by this validator"),
            }
        }
    }

    /// The object keywords of `schema` for `fields`.
    fn object(
        &self,
        keyword: &str,
        value: &Value,
        schema: &serde_json::Map<String, Value>,
        fields: &serde_json::Map<String, Value>,
        at: &str,
        out: &mut Vec<String>,
    ) {
        match keyword {
            "properties" => {
                for (name, sub) in value.as_object().expect("properties are a map") {
                    if let Some(field) = fields.get(name) {
                        self.check(sub, field, &format!("{at}/{name}"), out);
                    }
                }
            }
            "required" => {
                for name in value.as_array().expect("required is a list") {
                    let name = name.as_str().expect("a property name");
                    if !fields.contains_key(name) {
                        out.push(format!("{name:?} is a required property at {at:?}"));
                    }
                }
            }
            "additionalProperties" => {
                let described = schema.get("properties").and_then(Value::as_object);
                for (name, field) in fields {
                    if described.is_none_or(|d| !d.contains_key(name)) {
                        let place = format!("{at}/{name}");
                        if value == &Value::Bool(false) {
                            out.push(format!("{name:?} is not an allowed property at {at:?}"));
                        } else {
                            self.check(value, field, &place, out);
                        }
                    }
                }
            }
            "maxProperties" | "minProperties" => {
                let bound = value.as_u64().expect("a count") as usize;
                let n = fields.len();
                if (keyword == "maxProperties" && n > bound)
                    || (keyword == "minProperties" && n < bound)
                {
                    out.push(format!(
                        "{n} properties is out of {keyword} {bound} at {at:?}"
                    ));
                }
            }
            _ => {
                for name in fields.keys() {
                    let key = Value::String(name.clone());
                    self.check(value, &key, &format!("{at}/{name} (its name)"), out);
                }
            }
        }
    }

    /// The array keywords for `items`.
    fn array(
        &self,
        keyword: &str,
        value: &Value,
        items: &[Value],
        at: &str,
        out: &mut Vec<String>,
    ) {
        match keyword {
            "items" => {
                for (i, item) in items.iter().enumerate() {
                    self.check(value, item, &format!("{at}/{i}"), out);
                }
            }
            _ => {
                let bound = value.as_u64().expect("a count") as usize;
                if (keyword == "minItems" && items.len() < bound)
                    || (keyword == "maxItems" && items.len() > bound)
                {
                    out.push(format!(
                        "{} items is out of {keyword} {bound} at {at:?}",
                        items.len()
                    ));
                }
            }
        }
    }
}

/// Notes a problem at `at`.
fn fail(out: &mut Vec<String>, at: &str, why: String) {
    out.push(format!("{why} at {at:?}"));
}

/// The string keywords for `text`.
fn string(keyword: &str, value: &Value, text: &str, at: &str, out: &mut Vec<String>) {
    let chars = text.chars().count();
    match keyword {
        "pattern" => {
            let pattern = value.as_str().expect("a pattern is a string");
            if !regex(pattern).is_match(text) {
                out.push(format!("{text:?} does not match {pattern:?} at {at:?}"));
            }
        }
        _ => {
            let bound = value.as_u64().expect("a length") as usize;
            if (keyword == "minLength" && chars < bound)
                || (keyword == "maxLength" && chars > bound)
            {
                out.push(format!(
                    "{chars} characters is out of {keyword} {bound} at {at:?}"
                ));
            }
        }
    }
}

fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "null" => instance.is_null(),
        "boolean" => instance.is_boolean(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "number" => instance.is_number(),
        "integer" => {
            instance.is_i64()
                || instance.is_u64()
                || instance.as_f64().is_some_and(|n| n.fract() == 0.0)
        }
        other => panic!("unknown type {other:?}"),
    }
}

/// A pattern, compiled once.
fn regex(pattern: &str) -> regex::Regex {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(pattern.to_owned())
        .or_insert_with(|| {
            regex::Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern:?}: {e}"))
        })
        .clone()
}

/// An instance, cut for a message.
fn short(instance: &Value) -> String {
    let text = instance.to_string();
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
