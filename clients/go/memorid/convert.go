package memorid

// Conversions between the package's plain types and the generated protobuf
// messages; nothing outside this file and the call sites builds a pb type.

import (
	"encoding/json"
	"fmt"
	"time"

	pb "github.com/memorid/memorid/clients/go/internal/gen/memori/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func attributionPB(a Attribution) *pb.Attribution {
	return &pb.Attribution{EntityId: a.EntityID, ProcessId: a.ProcessID, SessionId: a.SessionID}
}

var rolesToPB = map[Role]pb.Role{
	"":            pb.Role_ROLE_UNSPECIFIED,
	RoleSystem:    pb.Role_ROLE_SYSTEM,
	RoleUser:      pb.Role_ROLE_USER,
	RoleAssistant: pb.Role_ROLE_ASSISTANT,
	RoleTool:      pb.Role_ROLE_TOOL,
}

func roleFromPB(r pb.Role) Role {
	for role, v := range rolesToPB {
		if v == r {
			return role
		}
	}
	return ""
}

func messagesPB(field string, messages []Message) ([]*pb.Message, error) {
	out := make([]*pb.Message, 0, len(messages))
	for i, m := range messages {
		role, ok := rolesToPB[m.Role]
		if !ok {
			return nil, invalidField(fmt.Sprintf("%s[%d].role", field, i), fmt.Sprintf("unknown role %q", m.Role))
		}
		msg := &pb.Message{Role: role, Content: m.Content, Name: m.Name, ToolCallId: m.ToolCallID}
		for _, c := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, &pb.ToolCall{Id: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
		out = append(out, msg)
	}
	return out, nil
}

func messagesFromPB(messages []*pb.Message) []Message {
	out := make([]Message, 0, len(messages))
	for _, m := range messages {
		msg := Message{Role: roleFromPB(m.GetRole()), Content: m.GetContent(), Name: m.GetName(), ToolCallID: m.GetToolCallId()}
		for _, c := range m.GetToolCalls() {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: c.GetId(), Name: c.GetName(), Arguments: c.GetArguments()})
		}
		out = append(out, msg)
	}
	return out
}

// invalidField is a client-side INVALID_ARGUMENT shaped like the server's.
func invalidField(field, description string) *Error {
	return &Error{
		Code:       codes.InvalidArgument,
		Message:    field + ": " + description,
		Reason:     ReasonInvalidArgument,
		Violations: []FieldViolation{{Field: field, Description: description}},
	}
}

// structPB turns anything encoding/json marshals to an object into a Struct.
func structPB(field string, v any) (*structpb.Struct, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(*structpb.Struct); ok {
		return s, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, invalidField(field, "not JSON: "+err.Error())
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(raw, &s); err != nil {
		return nil, invalidField(field, "not a JSON object")
	}
	return &s, nil
}

func chatRequestPB(who Attribution, r ChatRequest) (*pb.ChatRequest, error) {
	messages, err := messagesPB("messages", r.Messages)
	if err != nil {
		return nil, err
	}
	req := &pb.ChatRequest{
		Attribution: attributionPB(who),
		Model:       r.Model,
		Messages:    messages,
		Temperature: r.Temperature,
		TopP:        r.TopP,
		Stop:        r.Stop,
		Metadata:    r.Metadata,
	}
	if r.MaxTokens != nil {
		if *r.MaxTokens < 0 {
			return nil, invalidField("max_tokens", "must not be negative")
		}
		n := uint32(*r.MaxTokens)
		req.MaxTokens = &n
	}
	for i, t := range r.Tools {
		params, err := structPB(fmt.Sprintf("tools[%d].parameters", i), t.Parameters)
		if err != nil {
			return nil, err
		}
		req.Tools = append(req.Tools, &pb.Tool{Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict})
	}
	switch {
	case r.ToolChoice.Function != "":
		req.ToolChoice = &pb.ToolChoice{Choice: &pb.ToolChoice_FunctionName{FunctionName: r.ToolChoice.Function}}
	case r.ToolChoice.Mode != "":
		modes := map[ToolChoiceMode]pb.ToolChoiceMode{
			ToolChoiceAuto:     pb.ToolChoiceMode_TOOL_CHOICE_MODE_AUTO,
			ToolChoiceNone:     pb.ToolChoiceMode_TOOL_CHOICE_MODE_NONE,
			ToolChoiceRequired: pb.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED,
		}
		mode, ok := modes[r.ToolChoice.Mode]
		if !ok {
			return nil, invalidField("tool_choice.mode", fmt.Sprintf("unknown mode %q", r.ToolChoice.Mode))
		}
		req.ToolChoice = &pb.ToolChoice{Choice: &pb.ToolChoice_Mode{Mode: mode}}
	}
	if f := r.ResponseFormat; f != nil {
		types := map[ResponseFormatType]pb.ResponseFormatType{
			"":                 pb.ResponseFormatType_RESPONSE_FORMAT_TYPE_UNSPECIFIED,
			ResponseText:       pb.ResponseFormatType_RESPONSE_FORMAT_TYPE_TEXT,
			ResponseJSONObject: pb.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_OBJECT,
			ResponseJSONSchema: pb.ResponseFormatType_RESPONSE_FORMAT_TYPE_JSON_SCHEMA,
		}
		kind, ok := types[f.Type]
		if !ok {
			return nil, invalidField("response_format.type", fmt.Sprintf("unknown type %q", f.Type))
		}
		schema, err := structPB("response_format.schema", f.Schema)
		if err != nil {
			return nil, err
		}
		req.ResponseFormat = &pb.ResponseFormat{Type: kind, SchemaName: f.SchemaName, Schema: schema, Strict: f.Strict}
	}
	if m := r.Memory; m != nil {
		req.Memory = &pb.MemoryOptions{
			Recall:             m.Recall,
			RecallLimit:        uint32(max(m.RecallLimit, 0)),
			History:            m.History,
			HistoryTokenBudget: uint32(max(m.HistoryTokenBudget, 0)),
			Augment:            m.Augment,
		}
	}
	return req, nil
}

var finishReasons = map[pb.FinishReason]FinishReason{
	pb.FinishReason_FINISH_REASON_UNSPECIFIED:    FinishUnspecified,
	pb.FinishReason_FINISH_REASON_STOP:           FinishStop,
	pb.FinishReason_FINISH_REASON_LENGTH:         FinishLength,
	pb.FinishReason_FINISH_REASON_TOOL_CALLS:     FinishToolCalls,
	pb.FinishReason_FINISH_REASON_CONTENT_FILTER: FinishContentFilter,
	pb.FinishReason_FINISH_REASON_OTHER:          FinishOther,
}

func finishReasonFromPB(r pb.FinishReason) FinishReason {
	if f, ok := finishReasons[r]; ok {
		return f
	}
	return FinishOther
}

func usageFromPB(u *pb.Usage) *Usage {
	if u == nil {
		return nil
	}
	return &Usage{
		InputTokens:       int(u.GetInputTokens()),
		OutputTokens:      int(u.GetOutputTokens()),
		CachedInputTokens: int(u.GetCachedInputTokens()),
		ReasoningTokens:   int(u.GetReasoningTokens()),
	}
}

// chatEvent is the event of a response, or nil for an event this client
// does not know (a newer server's).
func chatEvent(r *pb.ChatResponse) Event {
	switch e := r.GetEvent().(type) {
	case *pb.ChatResponse_Started:
		s := e.Started
		return ChatStarted{TurnID: s.GetTurnId(), SessionID: s.GetSessionId(), Model: s.GetModel(), RecalledMemoryIDs: s.GetRecalledMemoryIds()}
	case *pb.ChatResponse_Delta:
		d := ChatDelta{Text: e.Delta.GetText(), Reasoning: e.Delta.GetReasoning()}
		for _, t := range e.Delta.GetToolCalls() {
			d.ToolCalls = append(d.ToolCalls, ToolCallDelta{Index: int(t.GetIndex()), ID: t.GetId(), Name: t.GetName(), Arguments: t.GetArguments()})
		}
		return d
	case *pb.ChatResponse_Completed:
		c := e.Completed
		return ChatCompleted{TurnID: c.GetTurnId(), FinishReason: finishReasonFromPB(c.GetFinishReason()), Usage: usageFromPB(c.GetUsage())}
	}
	return nil
}

func timePB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromPB(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

var kindsToPB = map[MemoryKind]pb.MemoryKind{
	KindFact:    pb.MemoryKind_MEMORY_KIND_FACT,
	KindMessage: pb.MemoryKind_MEMORY_KIND_MESSAGE,
}

func recallRequestPB(entityID string, r RecallRequest) (*pb.RecallRequest, error) {
	if r.Limit < 0 {
		return nil, invalidField("limit", "must not be negative")
	}
	req := &pb.RecallRequest{
		Attribution:       &pb.Attribution{EntityId: entityID, ProcessId: r.ProcessID},
		Query:             r.Query,
		Limit:             uint32(r.Limit),
		OccurredAfter:     timePB(r.OccurredAfter),
		OccurredBefore:    timePB(r.OccurredBefore),
		MinScore:          r.MinScore,
		IncludeScoreParts: r.IncludeScoreParts,
		IncludeSuperseded: r.IncludeSuperseded,
	}
	for i, k := range r.Kinds {
		kind, ok := kindsToPB[k]
		if !ok {
			return nil, invalidField(fmt.Sprintf("kinds[%d]", i), fmt.Sprintf("unknown kind %q", k))
		}
		req.Kinds = append(req.Kinds, kind)
	}
	if r.Ranking != nil {
		ranking, err := rankingPB(*r.Ranking)
		if err != nil {
			return nil, err
		}
		req.Ranking = ranking
	}
	return req, nil
}

var fusionsToPB = map[Fusion]pb.Fusion{
	FusionServer:   pb.Fusion_FUSION_UNSPECIFIED,
	FusionAbsolute: pb.Fusion_FUSION_ABSOLUTE,
	FusionMinMax:   pb.Fusion_FUSION_MIN_MAX,
}

func rankingPB(r Ranking) (*pb.Ranking, error) {
	fusion, ok := fusionsToPB[r.Fusion]
	if !ok {
		return nil, invalidField("ranking.fusion", fmt.Sprintf("unknown fusion %q; use %q or %q", r.Fusion, FusionAbsolute, FusionMinMax))
	}
	return &pb.Ranking{
		DenseWeight:     r.DenseWeight,
		LexicalWeight:   r.LexicalWeight,
		RecencyWeight:   r.RecencyWeight,
		MentionsWeight:  r.MentionsWeight,
		Fusion:          fusion,
		ContextWeight:   r.ContextWeight,
		NeighbourWeight: r.NeighbourWeight,
	}, nil
}

var categories = map[pb.FactCategory]FactCategory{
	pb.FactCategory_FACT_CATEGORY_UNSPECIFIED:  CategoryUnspecified,
	pb.FactCategory_FACT_CATEGORY_PREFERENCE:   CategoryPreference,
	pb.FactCategory_FACT_CATEGORY_ATTRIBUTE:    CategoryAttribute,
	pb.FactCategory_FACT_CATEGORY_SKILL:        CategorySkill,
	pb.FactCategory_FACT_CATEGORY_EVENT:        CategoryEvent,
	pb.FactCategory_FACT_CATEGORY_RELATIONSHIP: CategoryRelationship,
	pb.FactCategory_FACT_CATEGORY_RULE:         CategoryRule,
	pb.FactCategory_FACT_CATEGORY_OTHER:        CategoryOther,
}

func factFromPB(f *pb.Fact) Fact {
	category, ok := categories[f.GetCategory()]
	if !ok {
		category = CategoryOther
	}
	return Fact{
		ID:            f.GetId(),
		Content:       f.GetContent(),
		Category:      category,
		FirstSeenAt:   timeFromPB(f.GetFirstSeenAt()),
		LastSeenAt:    timeFromPB(f.GetLastSeenAt()),
		MentionCount:  int(f.GetMentionCount()),
		ValidUntil:    timeFromPB(f.GetValidUntil()),
		SupersededBy:  f.GetSupersededBy(),
		SourceTurnIDs: f.GetSourceTurnIds(),
	}
}

func recallHitFromPB(r *pb.RecallResponse) RecallHit {
	hit := RecallHit{Score: r.GetScore()}
	if p := r.GetScoreParts(); p != nil {
		hit.ScoreParts = &ScoreParts{Dense: p.GetDense(), Lexical: p.GetLexical(), Recency: p.GetRecency(), Mentions: p.GetMentions()}
	}
	switch h := r.GetHit().(type) {
	case *pb.RecallResponse_Fact:
		f := factFromPB(h.Fact)
		hit.Fact = &f
	case *pb.RecallResponse_Message:
		m := h.Message
		hit.Message = &MessageHit{
			TurnID: m.GetTurnId(), SessionID: m.GetSessionId(), Role: roleFromPB(m.GetRole()),
			Content: m.GetContent(), OccurredAt: timeFromPB(m.GetOccurredAt()),
		}
	}
	return hit
}

func attributeRequestPB(who Attribution, t Turn) (*pb.AttributeRequest, error) {
	messages, err := messagesPB("messages", t.Messages)
	if err != nil {
		return nil, err
	}
	return &pb.AttributeRequest{
		Attribution:    attributionPB(who),
		Messages:       messages,
		OccurredAt:     timePB(t.OccurredAt),
		IdempotencyKey: t.IdempotencyKey,
		Metadata:       t.Metadata,
		Model:          t.Model,
	}, nil
}

func waitRequestPB(entityID string, turnIDs []string, wait time.Duration) *pb.WaitForAugmentationRequest {
	req := &pb.WaitForAugmentationRequest{Attribution: &pb.Attribution{EntityId: entityID}, TurnIds: turnIDs}
	if wait > 0 {
		req.Timeout = durationpb.New(wait)
	}
	return req
}

var turnStatuses = map[pb.TurnStatus]TurnStatus{
	pb.TurnStatus_TURN_STATUS_UNSPECIFIED: TurnUnspecified,
	pb.TurnStatus_TURN_STATUS_STREAMING:   TurnStreaming,
	pb.TurnStatus_TURN_STATUS_COMPLETED:   TurnCompleted,
	pb.TurnStatus_TURN_STATUS_INTERRUPTED: TurnInterrupted,
	pb.TurnStatus_TURN_STATUS_FAILED:      TurnFailed,
}

func sessionFromPB(r *pb.GetSessionResponse) *SessionHistory {
	s := r.GetSession()
	out := &SessionHistory{
		SessionID: s.GetSessionId(),
		EntityID:  s.GetEntityId(),
		ProcessID: s.GetProcessId(),
		CreatedAt: timeFromPB(s.GetCreatedAt()),
		UpdatedAt: timeFromPB(s.GetUpdatedAt()),
	}
	for _, t := range r.GetTurns() {
		out.Turns = append(out.Turns, StoredTurn{
			TurnID:       t.GetTurnId(),
			Status:       turnStatuses[t.GetStatus()],
			Model:        t.GetModel(),
			FinishReason: finishReasonFromPB(t.GetFinishReason()),
			Usage:        usageFromPB(t.GetUsage()),
			Messages:     messagesFromPB(t.GetMessages()),
			OccurredAt:   timeFromPB(t.GetOccurredAt()),
			Error:        t.GetError(),
			ProcessID:    t.GetProcessId(),
			Metadata:     t.GetMetadata(),
		})
	}
	return out
}
