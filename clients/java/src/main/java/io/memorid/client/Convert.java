package io.memorid.client;

import com.google.protobuf.Timestamp;
import io.memorid.client.internal.gen.memori.v1.AttributeRequest;
import io.memorid.client.internal.gen.memori.v1.AttributeResponse;
import io.memorid.client.internal.gen.memori.v1.ChatRequest;
import io.memorid.client.internal.gen.memori.v1.ChatResponse;
import io.memorid.client.internal.gen.memori.v1.DeleteFactRequest;
import io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest;
import io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse;
import io.memorid.client.internal.gen.memori.v1.GetSessionRequest;
import io.memorid.client.internal.gen.memori.v1.GetSessionResponse;
import io.memorid.client.internal.gen.memori.v1.ListFactsRequest;
import io.memorid.client.internal.gen.memori.v1.ListFactsResponse;
import io.memorid.client.internal.gen.memori.v1.RecallRequest;
import io.memorid.client.internal.gen.memori.v1.RecallResponse;
import io.memorid.client.internal.gen.memori.v1.ResponseFormatType;
import io.memorid.client.internal.gen.memori.v1.ToolChoiceMode;
import io.memorid.client.internal.gen.memori.v1.Turn;
import io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest;
import io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Conversions between the generated protobuf messages and the client's own types. Nothing else
 * touches generated code, so users never see it and a new proto field changes nothing here by
 * accident. Generated types whose simple names the client's types share are written out in full.
 */
final class Convert {

  private Convert() {}

  // --- requests -------------------------------------------------------------------------------

  static io.memorid.client.internal.gen.memori.v1.Attribution attribution(Attribution who) {
    return io.memorid.client.internal.gen.memori.v1.Attribution.newBuilder()
        .setEntityId(who.entityId())
        .setProcessId(who.processId())
        .setSessionId(who.sessionId())
        .build();
  }

  static io.memorid.client.internal.gen.memori.v1.Role role(Role role) {
    switch (role) {
      case SYSTEM:
        return io.memorid.client.internal.gen.memori.v1.Role.ROLE_SYSTEM;
      case USER:
        return io.memorid.client.internal.gen.memori.v1.Role.ROLE_USER;
      case ASSISTANT:
        return io.memorid.client.internal.gen.memori.v1.Role.ROLE_ASSISTANT;
      case TOOL:
        return io.memorid.client.internal.gen.memori.v1.Role.ROLE_TOOL;
      default:
        return io.memorid.client.internal.gen.memori.v1.Role.ROLE_UNSPECIFIED;
    }
  }

  static io.memorid.client.internal.gen.memori.v1.Message message(Message m) {
    io.memorid.client.internal.gen.memori.v1.Message.Builder b =
        io.memorid.client.internal.gen.memori.v1.Message.newBuilder()
            .setRole(role(m.role()))
            .setContent(m.content())
            .setName(m.name())
            .setToolCallId(m.toolCallId());
    for (ToolCall call : m.toolCalls()) {
      b.addToolCalls(
          io.memorid.client.internal.gen.memori.v1.ToolCall.newBuilder()
              .setId(call.id())
              .setName(call.name())
              .setArguments(call.arguments()));
    }
    return b.build();
  }

  static ChatRequest chatRequest(
      Attribution who, String model, List<Message> messages, ChatOptions o) {
    ChatRequest.Builder b = ChatRequest.newBuilder().setAttribution(attribution(who)).setModel(model);
    for (Message m : messages) {
      b.addMessages(message(m));
    }
    o.temperature().ifPresent(b::setTemperature);
    o.maxTokens().ifPresent(b::setMaxTokens);
    o.topP().ifPresent(b::setTopP);
    b.addAllStop(o.stop());
    for (Tool tool : o.tools()) {
      b.addTools(
          io.memorid.client.internal.gen.memori.v1.Tool.newBuilder()
              .setName(tool.name())
              .setDescription(tool.description())
              .setParameters(Json.toStruct(tool.parameters()))
              .setStrict(tool.strict()));
    }
    o.toolChoice().ifPresent(choice -> b.setToolChoice(toolChoice(choice)));
    o.responseFormat().ifPresent(format -> b.setResponseFormat(responseFormat(format)));
    o.memory().ifPresent(memory -> b.setMemory(memoryOptions(memory)));
    b.putAllMetadata(o.metadata());
    return b.build();
  }

  private static io.memorid.client.internal.gen.memori.v1.ToolChoice toolChoice(ToolChoice choice) {
    io.memorid.client.internal.gen.memori.v1.ToolChoice.Builder b = io.memorid.client.internal.gen.memori.v1.ToolChoice.newBuilder();
    switch (choice.mode()) {
      case "auto":
        return b.setMode(ToolChoiceMode.TOOL_CHOICE_MODE_AUTO).build();
      case "none":
        return b.setMode(ToolChoiceMode.TOOL_CHOICE_MODE_NONE).build();
      case "required":
        return b.setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED).build();
      default:
        return b.setFunctionName(choice.functionName()).build();
    }
  }

  private static io.memorid.client.internal.gen.memori.v1.ResponseFormat responseFormat(ResponseFormat f) {
    ResponseFormatType type;
    switch (f.type()) {
      case JSON_OBJECT:
        type = ResponseFormatType.RESPONSE_FORMAT_TYPE_JSON_OBJECT;
        break;
      case JSON_SCHEMA:
        type = ResponseFormatType.RESPONSE_FORMAT_TYPE_JSON_SCHEMA;
        break;
      default:
        type = ResponseFormatType.RESPONSE_FORMAT_TYPE_TEXT;
        break;
    }
    io.memorid.client.internal.gen.memori.v1.ResponseFormat.Builder b =
        io.memorid.client.internal.gen.memori.v1.ResponseFormat.newBuilder()
            .setType(type)
            .setSchemaName(f.schemaName())
            .setStrict(f.strict());
    if (f.type() == ResponseFormat.Type.JSON_SCHEMA) {
      b.setSchema(Json.toStruct(f.schema()));
    }
    return b.build();
  }

  private static io.memorid.client.internal.gen.memori.v1.MemoryOptions memoryOptions(MemoryOptions m) {
    io.memorid.client.internal.gen.memori.v1.MemoryOptions.Builder b =
        io.memorid.client.internal.gen.memori.v1.MemoryOptions.newBuilder()
            .setRecallLimit(m.recallLimit())
            .setHistoryTokenBudget(m.historyTokenBudget());
    m.recall().ifPresent(b::setRecall);
    m.history().ifPresent(b::setHistory);
    m.augment().ifPresent(b::setAugment);
    return b.build();
  }

  static RecallRequest recallRequest(Attribution who, String query, RecallOptions o) {
    RecallRequest.Builder b =
        RecallRequest.newBuilder()
            .setAttribution(attribution(Attribution.of(who.entityId(), o.processId())))
            .setQuery(query)
            .setLimit(o.limit())
            .setMinScore(o.minScore())
            .setIncludeScoreParts(o.includeScoreParts())
            .setIncludeSuperseded(o.includeSuperseded());
    // Kinds in a fixed order, so equal options make equal requests.
    for (MemoryKind kind : MemoryKind.values()) {
      if (o.kinds().contains(kind)) {
        b.addKinds(
            kind == MemoryKind.FACT
                ? io.memorid.client.internal.gen.memori.v1.MemoryKind.MEMORY_KIND_FACT
                : io.memorid.client.internal.gen.memori.v1.MemoryKind.MEMORY_KIND_MESSAGE);
      }
    }
    o.occurredAfter().ifPresent(t -> b.setOccurredAfter(timestamp(t)));
    o.occurredBefore().ifPresent(t -> b.setOccurredBefore(timestamp(t)));
    o.ranking().ifPresent(r -> b.setRanking(ranking(r)));
    return b.build();
  }

  private static io.memorid.client.internal.gen.memori.v1.Ranking ranking(Ranking r) {
    io.memorid.client.internal.gen.memori.v1.Ranking.Builder b =
        io.memorid.client.internal.gen.memori.v1.Ranking.newBuilder();
    r.denseWeight().ifPresent(b::setDenseWeight);
    r.lexicalWeight().ifPresent(b::setLexicalWeight);
    r.recencyWeight().ifPresent(b::setRecencyWeight);
    r.mentionsWeight().ifPresent(b::setMentionsWeight);
    r.contextWeight().ifPresent(b::setContextWeight);
    r.neighbourWeight().ifPresent(b::setNeighbourWeight);
    r.fusion()
        .ifPresent(
            f ->
                b.setFusion(
                    f == Fusion.MIN_MAX
                        ? io.memorid.client.internal.gen.memori.v1.Fusion.FUSION_MIN_MAX
                        : io.memorid.client.internal.gen.memori.v1.Fusion.FUSION_ABSOLUTE));
    return b.build();
  }

  static AttributeRequest attributeRequest(AttributeTurn turn, String idempotencyKey) {
    AttributeOptions o = turn.options();
    AttributeRequest.Builder b =
        AttributeRequest.newBuilder()
            .setAttribution(attribution(turn.attribution()))
            .setIdempotencyKey(idempotencyKey)
            .putAllMetadata(o.metadata())
            .setModel(o.model());
    for (Message m : turn.messages()) {
      b.addMessages(message(m));
    }
    o.occurredAt().ifPresent(t -> b.setOccurredAt(timestamp(t)));
    return b.build();
  }

  static WaitForAugmentationRequest waitRequest(
      Attribution who, Collection<String> turnIds, Duration timeout) {
    return WaitForAugmentationRequest.newBuilder()
        .setAttribution(attribution(who.entityOnly()))
        .addAllTurnIds(turnIds)
        .setTimeout(
            com.google.protobuf.Duration.newBuilder()
                .setSeconds(timeout.getSeconds())
                .setNanos(timeout.getNano()))
        .build();
  }

  static ListFactsRequest listFactsRequest(
      Attribution who, int pageSize, String pageToken, boolean includeSuperseded) {
    return ListFactsRequest.newBuilder()
        .setAttribution(attribution(who.entityOnly()))
        .setPageSize(pageSize)
        .setPageToken(pageToken)
        .setIncludeSuperseded(includeSuperseded)
        .build();
  }

  static DeleteFactRequest deleteFactRequest(Attribution who, String factId) {
    return DeleteFactRequest.newBuilder()
        .setAttribution(attribution(who.entityOnly()))
        .setFactId(factId)
        .build();
  }

  static ForgetEntityRequest forgetRequest(Attribution who) {
    return ForgetEntityRequest.newBuilder().setAttribution(attribution(who.entityOnly())).build();
  }

  static GetSessionRequest getSessionRequest(Attribution who, String sessionId) {
    return GetSessionRequest.newBuilder()
        .setAttribution(attribution(Attribution.of(who.entityId()).withSession(sessionId)))
        .build();
  }

  // --- responses ------------------------------------------------------------------------------

  /** The event of a chat response; empty for an event this client does not know. */
  static Optional<ChatEvent> chatEvent(ChatResponse r) {
    switch (r.getEventCase()) {
      case STARTED:
        io.memorid.client.internal.gen.memori.v1.ChatStarted s = r.getStarted();
        return Optional.of(
            new ChatEvent.Started(
                s.getTurnId(), s.getSessionId(), s.getModel(), s.getRecalledMemoryIdsList()));
      case DELTA:
        io.memorid.client.internal.gen.memori.v1.ChatDelta d = r.getDelta();
        List<ToolCallDelta> calls = new ArrayList<>(d.getToolCallsCount());
        for (io.memorid.client.internal.gen.memori.v1.ToolCallDelta c : d.getToolCallsList()) {
          calls.add(new ToolCallDelta(c.getIndex(), c.getId(), c.getName(), c.getArguments()));
        }
        return Optional.of(new ChatEvent.Delta(d.getText(), calls, d.getReasoning()));
      case COMPLETED:
        io.memorid.client.internal.gen.memori.v1.ChatCompleted c = r.getCompleted();
        return Optional.of(
            new ChatEvent.Completed(
                c.getTurnId(),
                finishReason(c.getFinishReason()),
                c.hasUsage() ? Optional.of(usage(c.getUsage())) : Optional.empty()));
      default:
        return Optional.empty();
    }
  }

  static FinishReason finishReason(io.memorid.client.internal.gen.memori.v1.FinishReason r) {
    switch (r) {
      case FINISH_REASON_STOP:
        return FinishReason.STOP;
      case FINISH_REASON_LENGTH:
        return FinishReason.LENGTH;
      case FINISH_REASON_TOOL_CALLS:
        return FinishReason.TOOL_CALLS;
      case FINISH_REASON_CONTENT_FILTER:
        return FinishReason.CONTENT_FILTER;
      case FINISH_REASON_OTHER:
        return FinishReason.OTHER;
      default:
        return FinishReason.UNSPECIFIED;
    }
  }

  static Usage usage(io.memorid.client.internal.gen.memori.v1.Usage u) {
    return new Usage(
        u.getInputTokens(), u.getOutputTokens(), u.getCachedInputTokens(), u.getReasoningTokens());
  }

  static Role role(io.memorid.client.internal.gen.memori.v1.Role r) {
    switch (r) {
      case ROLE_SYSTEM:
        return Role.SYSTEM;
      case ROLE_USER:
        return Role.USER;
      case ROLE_ASSISTANT:
        return Role.ASSISTANT;
      case ROLE_TOOL:
        return Role.TOOL;
      default:
        return Role.UNSPECIFIED;
    }
  }

  static Message message(io.memorid.client.internal.gen.memori.v1.Message m) {
    List<ToolCall> calls = new ArrayList<>(m.getToolCallsCount());
    for (io.memorid.client.internal.gen.memori.v1.ToolCall c : m.getToolCallsList()) {
      calls.add(new ToolCall(c.getId(), c.getName(), c.getArguments()));
    }
    return new Message(role(m.getRole()), m.getContent(), m.getName(), calls, m.getToolCallId());
  }

  static FactCategory category(io.memorid.client.internal.gen.memori.v1.FactCategory c) {
    switch (c) {
      case FACT_CATEGORY_PREFERENCE:
        return FactCategory.PREFERENCE;
      case FACT_CATEGORY_ATTRIBUTE:
        return FactCategory.ATTRIBUTE;
      case FACT_CATEGORY_SKILL:
        return FactCategory.SKILL;
      case FACT_CATEGORY_EVENT:
        return FactCategory.EVENT;
      case FACT_CATEGORY_RELATIONSHIP:
        return FactCategory.RELATIONSHIP;
      case FACT_CATEGORY_RULE:
        return FactCategory.RULE;
      case FACT_CATEGORY_OTHER:
        return FactCategory.OTHER;
      default:
        return FactCategory.UNSPECIFIED;
    }
  }

  static Fact fact(io.memorid.client.internal.gen.memori.v1.Fact f) {
    return new Fact(
        f.getId(),
        f.getContent(),
        category(f.getCategory()),
        f.hasFirstSeenAt() ? instant(f.getFirstSeenAt()) : null,
        f.hasLastSeenAt() ? instant(f.getLastSeenAt()) : null,
        f.getMentionCount(),
        f.hasValidUntil() ? Optional.of(instant(f.getValidUntil())) : Optional.empty(),
        f.getSupersededBy(),
        f.getSourceTurnIdsList());
  }

  static RecallHit recallHit(RecallResponse r) {
    Optional<ScoreParts> parts =
        r.hasScoreParts()
            ? Optional.of(
                new ScoreParts(
                    r.getScoreParts().getDense(),
                    r.getScoreParts().getLexical(),
                    r.getScoreParts().getRecency(),
                    r.getScoreParts().getMentions()))
            : Optional.empty();
    if (r.getHitCase() == RecallResponse.HitCase.MESSAGE) {
      io.memorid.client.internal.gen.memori.v1.MessageHit m = r.getMessage();
      MessageHit hit =
          new MessageHit(
              m.getTurnId(),
              m.getSessionId(),
              role(m.getRole()),
              m.getContent(),
              m.hasOccurredAt() ? instant(m.getOccurredAt()) : null);
      return new RecallHit(r.getScore(), Optional.empty(), Optional.of(hit), parts);
    }
    return new RecallHit(r.getScore(), Optional.of(fact(r.getFact())), Optional.empty(), parts);
  }

  static AttributeResult attributeResult(AttributeResponse r) {
    return new AttributeResult(
        r.getIdempotencyKey(), r.getTurnId(), r.getSessionId(), r.getDuplicate());
  }

  static AugmentationStatus augmentationStatus(WaitForAugmentationResponse r) {
    return new AugmentationStatus(r.getCompleted(), r.getPendingJobs(), r.getDeadJobs());
  }

  static FactPage factPage(ListFactsResponse r) {
    List<Fact> facts = new ArrayList<>(r.getFactsCount());
    for (io.memorid.client.internal.gen.memori.v1.Fact f : r.getFactsList()) {
      facts.add(fact(f));
    }
    return new FactPage(facts, r.getNextPageToken());
  }

  static ForgetResult forgetResult(ForgetEntityResponse r) {
    return new ForgetResult(
        r.getSessionsDeleted(),
        r.getTurnsDeleted(),
        r.getMessagesDeleted(),
        r.getFactsDeleted(),
        r.getJobsDeleted());
  }

  static TurnStatus turnStatus(io.memorid.client.internal.gen.memori.v1.TurnStatus s) {
    switch (s) {
      case TURN_STATUS_STREAMING:
        return TurnStatus.STREAMING;
      case TURN_STATUS_COMPLETED:
        return TurnStatus.COMPLETED;
      case TURN_STATUS_INTERRUPTED:
        return TurnStatus.INTERRUPTED;
      case TURN_STATUS_FAILED:
        return TurnStatus.FAILED;
      default:
        return TurnStatus.UNSPECIFIED;
    }
  }

  static Session session(GetSessionResponse r) {
    io.memorid.client.internal.gen.memori.v1.Session s = r.getSession();
    List<StoredTurn> turns = new ArrayList<>(r.getTurnsCount());
    for (Turn t : r.getTurnsList()) {
      List<Message> messages = new ArrayList<>(t.getMessagesCount());
      for (io.memorid.client.internal.gen.memori.v1.Message m : t.getMessagesList()) {
        messages.add(message(m));
      }
      turns.add(
          new StoredTurn(
              t.getTurnId(),
              turnStatus(t.getStatus()),
              t.getModel(),
              finishReason(t.getFinishReason()),
              t.hasUsage() ? Optional.of(usage(t.getUsage())) : Optional.empty(),
              messages,
              t.hasOccurredAt() ? instant(t.getOccurredAt()) : null,
              t.getError(),
              t.getProcessId(),
              t.getMetadataMap()));
    }
    return new Session(
        s.getSessionId(),
        s.getEntityId(),
        s.getProcessId(),
        s.hasCreatedAt() ? instant(s.getCreatedAt()) : null,
        s.hasUpdatedAt() ? instant(s.getUpdatedAt()) : null,
        turns);
  }

  // --- time -----------------------------------------------------------------------------------

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
