// A small, explicitly declared subset of JSON Schema (draft 7), which AI autofill uses to check a
// model's reply before anything is written. Every keyword outside the subset is refused, so a
// schema never means more than this validator checks.
//
// The subset (draft 7 semantics; tested against the official JSON-Schema-Test-Suite, package
// json-schema-test-suite, in test/unit/ai_json_schema_test.cpp):
//   boolean schemas      true (anything), false (nothing)
//   type                 "null", "boolean", "object", "array", "number", "string", "integer", or a
//                        non-empty array of those without repeats; "integer" is any number whose
//                        fractional part is zero (1.0 is an integer, as draft 7's suite expects)
//   enum                 a non-empty array; const: any value. Equality is JSON Schema's: numbers
//                        by exact mathematical value (1 equals 1.0, even beyond 2^53), strings by
//                        bytes, arrays element by element, objects by key set and values
//   properties           an object of schemas
//   required             an array of strings without repeats (may be empty)
//   additionalProperties a schema (true/false or an object)
//   items                one schema for every element (the array form is refused)
//   minItems, maxItems, minLength, maxLength
//                        a non-negative integer (2.0 is accepted as 2). String lengths count
//                        Unicode code points: each well-formed UTF-8 sequence once, and any byte
//                        that does not start one also once (nlohmann's parser never produces such
//                        bytes; only a json value built in code can hold them)
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum
//                        a finite number (draft 6/7 form: the exclusive ones are numbers, not
//                        booleans); compared exactly, whatever mix of integer and float
//   title, description, $comment (strings), default (any), examples (an array), $schema (draft 7's
//                        URI, http or https, with or without the trailing '#'): annotations,
//                        ignored when validating
// Everything else ($ref, $id, definitions, allOf, anyOf, oneOf, not, if/then/else, pattern,
// format, patternProperties, propertyNames, dependencies, contains, uniqueItems, multipleOf,
// additionalItems, minProperties, maxProperties, content*, readOnly, unknown keywords, ...) is
// refused, and so are malformed values of the supported keywords.
//
// Bounds: a schema document nests at most kMaxSchemaDepth objects/arrays deep (counting every
// object and array of the document, keyword values such as const included: {"type":"string"} is
// depth 1) and holds at most kMaxSchemaNodes JSON values (every object, array and scalar, keys
// not counted). An instance nests at most kMaxInstanceDepth deep, else it violates whatever the
// schema. Validation visits each instance value at most once (there are no combinators) and
// costs at most the size of the enum/const it is compared with there, so its time is at most
// instance size times schema size.
//
// Errors are return values: neither function throws (both are noexcept; running out of memory
// while building a message gives the message "out of memory", which needs no allocation) and
// neither ever exits or aborts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace crm::ai {

inline constexpr std::size_t kMaxSchemaDepth = 32;
inline constexpr std::size_t kMaxSchemaNodes = 10000;
inline constexpr std::size_t kMaxInstanceDepth = 64;
// The most bytes of one object key (or keyword name) a message repeats; longer ones are cut at a
// UTF-8 character boundary and end in "...". Instance values themselves are never repeated.
inline constexpr std::size_t kMaxEchoedBytes = 60;

// nullopt when the schema uses only the subset above, well formed and within the bounds; else
// why not, as "at <pointer>: <reason>", the pointer (RFC 6901) locating the offending subschema or
// value in the schema document ("(root)" for the document itself), e.g.
//   at /properties/x: keyword "pattern" is not supported
//   at /required: "required" must be an array of distinct strings
std::optional<std::string> unsupported_schema(const nlohmann::json &schema) noexcept;

// nullopt when the instance conforms to the schema; else the first violation found, as
// "at <pointer>: <reason>", the pointer locating the value in the instance ("(root)" for the
// instance itself), e.g.
//   at /label: expected string, got number
//   at /tags/3: string has 70 code points, more than maxLength 64
// Members of an object are checked in key order, after "required". Reasons name schema values
// (limits, property names) but never instance values; pointer segments taken from instance keys
// are cut to kMaxEchoedBytes, and control characters or invalid UTF-8 in them are escaped.
// A schema that unsupported_schema refuses is never applied: the result is then
// "invalid schema: " followed by unsupported_schema's message (the schema is checked on every
// call; its bounds make that cheap).
std::optional<std::string> schema_violation(const nlohmann::json &schema,
                                            const nlohmann::json &instance) noexcept;

}  // namespace crm::ai
