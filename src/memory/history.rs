//! Server-managed history: what of a session's stored messages goes before
//! the caller's new ones, and which of the caller's messages are new.
//!
//! - A caller that sends only its new messages gets the session's latest
//!   stored messages prepended, newest first until the token budget is
//!   spent, then in order. System messages of earlier turns are left out
//!   (the current request brings its own), and the history never starts
//!   with a tool result whose call was cut off.
//! - A caller that resends the history itself (its messages begin with the
//!   session's latest stored messages) gets nothing prepended, and only the
//!   messages after the resent part are stored — resent history is never
//!   stored twice.

use crate::domain::{ChatMessage, Role};

/// A rough token count (about four characters a token, plus framing); the
/// budget is a guard against runaway prompts, not an exact fit.
pub fn estimate_tokens(message: &ChatMessage) -> usize {
    let text = message.content.len()
        + message
            .tool_calls
            .iter()
            .map(|c| c.name.len() + c.arguments.len())
            .sum::<usize>();
    text.div_ceil(4) + 4
}

fn same(a: &ChatMessage, b: &ChatMessage) -> bool {
    a.role == b.role
        && a.content == b.content
        && a.tool_call_id == b.tool_call_id
        && a.tool_calls
            .iter()
            .map(|c| &c.id)
            .eq(b.tool_calls.iter().map(|c| &c.id))
}

/// How many of the caller's first messages repeat the end of the stored
/// history (the longest such overlap).
pub fn resent_prefix(stored: &[ChatMessage], sent: &[ChatMessage]) -> usize {
    (1..=stored.len().min(sent.len()))
        .rev()
        .find(|&k| {
            stored[stored.len() - k..]
                .iter()
                .zip(&sent[..k])
                .all(|(a, b)| same(a, b))
        })
        .unwrap_or(0)
}

/// The stored messages to prepend, oldest first, within `budget` tokens.
pub fn select(stored: &[ChatMessage], budget: usize) -> Vec<ChatMessage> {
    let mut spent = 0;
    let mut chosen: Vec<&ChatMessage> = Vec::new();
    for message in stored.iter().rev().filter(|m| m.role != Role::System) {
        let cost = estimate_tokens(message);
        if spent + cost > budget {
            break;
        }
        spent += cost;
        chosen.push(message);
    }
    chosen.reverse();
    // A tool result must follow the assistant message that called it.
    let valid_start = chosen
        .iter()
        .position(|m| m.role != Role::Tool)
        .unwrap_or(chosen.len());
    chosen[valid_start..].iter().map(|m| (*m).clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ToolCall;

    fn text(role: Role, content: &str) -> ChatMessage {
        ChatMessage::text(role, content)
    }

    #[test]
    fn resent_history_is_recognized() {
        let stored = vec![
            text(Role::System, "be nice"),
            text(Role::User, "hi"),
            text(Role::Assistant, "hello"),
        ];
        let sent = vec![
            text(Role::System, "be nice"),
            text(Role::User, "hi"),
            text(Role::Assistant, "hello"),
            text(Role::User, "and now?"),
        ];
        assert_eq!(resent_prefix(&stored, &sent), 3);
        assert_eq!(resent_prefix(&stored, &[text(Role::User, "and now?")]), 0);
        // Only a suffix of the stored history counts.
        assert_eq!(
            resent_prefix(
                &stored,
                &[text(Role::Assistant, "hello"), text(Role::User, "x")]
            ),
            1
        );
        assert_eq!(
            resent_prefix(&stored, &[text(Role::User, "hi"), text(Role::User, "x")]),
            0
        );
    }

    #[test]
    fn the_budget_keeps_the_newest_messages_in_order() {
        let stored: Vec<ChatMessage> = (0..10)
            .map(|i| {
                text(
                    if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    &"x".repeat(36),
                )
            })
            .collect();
        // Each costs 9 + 4 = 13 tokens: 40 tokens buy three.
        let chosen = select(&stored, 40);
        assert_eq!(chosen.len(), 3);
        assert_eq!(chosen, stored[7..].to_vec());
        assert!(select(&stored, 5).is_empty());
    }

    #[test]
    fn history_never_starts_with_an_orphaned_tool_result_or_repeats_system() {
        let mut call = text(Role::Assistant, "");
        call.tool_calls = vec![ToolCall {
            id: "c1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        }];
        let mut result = text(Role::Tool, "42");
        result.tool_call_id = Some("c1".into());
        let stored = vec![
            text(Role::System, "be nice"),
            text(Role::User, "compute"),
            call,
            result,
            text(Role::Assistant, "It is 42."),
        ];
        let all = select(&stored, 10_000);
        assert_eq!(all.len(), 4, "system left out");
        // A budget that would cut between the call and its result.
        let cut = select(
            &stored,
            estimate_tokens(&stored[3]) + estimate_tokens(&stored[4]),
        );
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].content, "It is 42.");
    }
}
