//! Arbitrary requests through conversion and validation, as a handler
//! runs them before anything is written: requests built from arbitrary
//! field values, and arbitrary bytes (or a valid request's bytes with
//! some flipped) decoded as the wire would. Each is accepted or refused
//! with an error naming a field; none panics.

use proptest::prelude::*;
use prost::Message as _;

use crate::config::LimitsConfig;
use crate::domain;
use crate::error::Error;
use crate::fuzz::config;
use crate::pb;

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,8}".prop_map(|s| s),
        any::<String>(),
        (any::<char>(), 100usize..200).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn attribution() -> impl Strategy<Value = Option<pb::Attribution>> {
    proptest::option::of(
        (id(), id(), id()).prop_map(|(entity_id, process_id, session_id)| pb::Attribution {
            entity_id,
            process_id,
            session_id,
        }),
    )
}

fn message() -> impl Strategy<Value = pb::Message> {
    (
        any::<i32>(),
        -1i32..6,
        any::<String>(),
        id(),
        id(),
        any::<bool>(),
    )
        .prop_map(
            |(wild_role, role, content, name, tool_call_id, wild)| pb::Message {
                role: if wild { wild_role } else { role },
                content,
                name,
                tool_calls: Vec::new(),
                tool_call_id,
            },
        )
}

fn number() -> impl Strategy<Value = Option<f64>> {
    proptest::option::of(prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        -3.0f64..3.0,
    ])
}

fn metadata() -> impl Strategy<Value = std::collections::HashMap<String, String>> {
    prop::collection::hash_map(id(), any::<String>(), 0..4)
}

fn chat_request() -> impl Strategy<Value = pb::ChatRequest> {
    (
        attribution(),
        id(),
        prop::collection::vec(message(), 0..4),
        number(),
        number(),
        prop::collection::vec(any::<String>(), 0..3),
        prop::collection::vec((id(), any::<String>()), 0..3),
        metadata(),
    )
        .prop_map(
            |(attribution, model, messages, temperature, top_p, stop, tools, metadata)| {
                pb::ChatRequest {
                    attribution,
                    model,
                    messages,
                    temperature,
                    top_p,
                    stop,
                    tools: tools
                        .into_iter()
                        .map(|(name, description)| pb::Tool {
                            name,
                            description,
                            ..Default::default()
                        })
                        .collect(),
                    metadata,
                    ..Default::default()
                }
            },
        )
}

fn attribute_request() -> impl Strategy<Value = pb::AttributeRequest> {
    (
        attribution(),
        prop::collection::vec(message(), 0..4),
        proptest::option::of((any::<i64>(), any::<i32>())),
        id(),
        metadata(),
    )
        .prop_map(|(attribution, messages, at, idempotency_key, metadata)| {
            pb::AttributeRequest {
                attribution,
                messages,
                occurred_at: at.map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
                idempotency_key,
                metadata,
                ..Default::default()
            }
        })
}

fn recall_request() -> impl Strategy<Value = pb::RecallRequest> {
    (
        attribution(),
        any::<String>(),
        any::<u32>(),
        prop::collection::vec(any::<i32>(), 0..3),
        proptest::option::of((any::<i64>(), any::<i32>())),
        any::<f64>(),
        proptest::option::of((
            proptest::option::of(any::<f64>()),
            proptest::option::of(any::<f64>()),
            any::<i32>(),
        )),
    )
        .prop_map(
            |(attribution, query, limit, kinds, after, min_score, ranking)| pb::RecallRequest {
                attribution,
                query,
                limit,
                kinds,
                occurred_after: after
                    .map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
                min_score,
                ranking: ranking.map(|(dense_weight, lexical_weight, fusion)| pb::Ranking {
                    dense_weight,
                    lexical_weight,
                    fusion,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
}

/// A refusal must name what is wrong.
fn named(error: Error) -> Result<(), TestCaseError> {
    if let Error::InvalidArgument { field, message } = &error {
        prop_assert!(!field.is_empty() && !message.is_empty(), "{:?}", error);
    }
    Ok(())
}

/// Runs the validation a handler runs on a converted turn.
fn check_turn(
    attribution: &domain::Attribution,
    messages: &[domain::ChatMessage],
    metadata: &domain::Metadata,
) -> Result<(), TestCaseError> {
    let limits = LimitsConfig::default();
    let checks = [
        domain::validate_attribution(attribution),
        domain::validate_messages("messages", messages, &limits),
        domain::validate_metadata("metadata", metadata, &limits),
    ];
    for result in checks {
        if let Err(error) = result {
            return named(error);
        }
    }
    Ok(())
}

fn check_chat(request: pb::ChatRequest) -> Result<(), TestCaseError> {
    match crate::chat::ChatTurn::try_from(request) {
        Ok(turn) => check_turn(&turn.attribution, &turn.messages, &turn.metadata),
        Err(error) => named(error),
    }
}

fn check_attribute(request: pb::AttributeRequest) -> Result<(), TestCaseError> {
    match crate::ingest::AttributedTurn::try_from(request) {
        Ok(turn) => check_turn(&turn.attribution, &turn.messages, &turn.metadata),
        Err(error) => named(error),
    }
}

fn check_recall(request: pb::RecallRequest) -> Result<(), TestCaseError> {
    match super::convert::recall_query("ns".into(), request) {
        Ok(_) => Ok(()),
        Err(error) => named(error),
    }
}

/// A valid message's bytes with some of them replaced.
fn mutated(bytes: Vec<u8>, flips: Vec<(prop::sample::Index, u8)>) -> Vec<u8> {
    let mut bytes = bytes;
    for (at, value) in flips {
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_chat_request_is_accepted_or_refused_by_name(request in chat_request()) {
        check_chat(request)?;
    }

    #[test]
    fn any_attribute_request_is_accepted_or_refused_by_name(request in attribute_request()) {
        check_attribute(request)?;
    }

    #[test]
    fn any_recall_request_is_accepted_or_refused_by_name(request in recall_request()) {
        check_recall(request)?;
    }

    #[test]
    fn arbitrary_bytes_decode_to_requests_that_convert_cleanly(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        chat in chat_request(),
        attribute in attribute_request(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for candidate in [
            bytes.clone(),
            mutated(chat.encode_to_vec(), flips.clone()),
            mutated(attribute.encode_to_vec(), flips),
        ] {
            if let Ok(request) = pb::ChatRequest::decode(candidate.as_slice()) {
                check_chat(request)?;
            }
            if let Ok(request) = pb::AttributeRequest::decode(candidate.as_slice()) {
                check_attribute(request)?;
            }
            if let Ok(request) = pb::RecallRequest::decode(candidate.as_slice()) {
                check_recall(request)?;
            }
        }
    }
}
