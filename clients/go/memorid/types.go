package memorid

import "time"

// Attribution says whom a turn or a memory belongs to: the entity (usually
// an end user), the process (the agent or app talking) and the session (one
// conversation thread).
type Attribution struct {
	EntityID  string
	ProcessID string
	SessionID string
}

// Role is the author of a message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one chat message in the shape every provider understands.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
	// Name is an optional author name (OpenAI's `name`).
	Name string `json:"name,omitempty"`
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, on a RoleTool message, the call this message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// SystemMessage, UserMessage and AssistantMessage make a text message.
func SystemMessage(content string) Message { return Message{Role: RoleSystem, Content: content} }

// UserMessage is a text message from the user.
func UserMessage(content string) Message { return Message{Role: RoleUser, Content: content} }

// AssistantMessage is a text message from the model.
func AssistantMessage(content string) Message { return Message{Role: RoleAssistant, Content: content} }

// ToolResultMessage answers the tool call callID with content.
func ToolResultMessage(callID, content string) Message {
	return Message{Role: RoleTool, Content: content, ToolCallID: callID}
}

// ToolCall is a call of a function the model asked for.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the arguments' JSON text exactly as the model produced it.
	Arguments string `json:"arguments"`
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments: anything that
	// encoding/json marshals to a JSON object (a map, a struct, a
	// json.RawMessage).
	Parameters any
	// Strict asks the provider to follow the schema strictly.
	Strict bool
}

// ToolChoiceMode is a general way the model may use the tools.
type ToolChoiceMode string

const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
)

// ToolChoice says how the model may use the tools: a Mode, or a Function it
// must call. The zero value leaves the provider's default.
type ToolChoice struct {
	Mode     ToolChoiceMode
	Function string
}

// ResponseFormatType is the kind of answer asked for.
type ResponseFormatType string

const (
	ResponseText       ResponseFormatType = "text"
	ResponseJSONObject ResponseFormatType = "json_object"
	ResponseJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat is the shape of the model's answer.
type ResponseFormat struct {
	Type ResponseFormatType
	// SchemaName, Schema and Strict go with ResponseJSONSchema; Schema is
	// anything encoding/json marshals to a JSON object.
	SchemaName string
	Schema     any
	Strict     bool
}

// MemoryOptions are per-request memory switches; a nil pointer or a zero
// number takes the server's default.
type MemoryOptions struct {
	// Recall the entity's memories for the last user message and inject them.
	Recall *bool
	// RecallLimit is how many memories to inject at most.
	RecallLimit int
	// History prepends the session's stored messages.
	History *bool
	// HistoryTokenBudget is the token budget of that history.
	HistoryTokenBudget int
	// Augment turns this turn into memories in the background.
	Augment *bool
}

// Ptr returns a pointer to v, for the optional fields of ChatRequest and
// MemoryOptions: memorid.Ptr(0.2), memorid.Ptr(false).
func Ptr[T any](v T) *T { return &v }

// ChatRequest is one chat turn to send through memorid.
type ChatRequest struct {
	// Model is `provider/model` (openai/gpt-4o-mini) or a configured alias.
	Model string
	// Messages are the new messages of the turn, oldest first. With a
	// session, memorid prepends the session's history itself.
	Messages []Message
	// Temperature, MaxTokens and TopP: nil leaves the provider's default.
	Temperature *float64
	MaxTokens   *int
	TopP        *float64
	Stop        []string
	Tools       []Tool
	ToolChoice  ToolChoice
	// ResponseFormat: nil is plain text.
	ResponseFormat *ResponseFormat
	// Memory: nil takes the server's defaults.
	Memory *MemoryOptions
	// Metadata are free-form labels stored with the turn.
	Metadata map[string]string
}

// Event is one event of a chat stream: a ChatStarted first, then ChatDelta
// values as the upstream sends them, then a ChatCompleted.
type Event interface{ isEvent() }

// ChatStarted: the turn was stored and the upstream answered.
type ChatStarted struct {
	TurnID string
	// SessionID is the turn's session (a new one when the request had none).
	SessionID string
	// Model is the resolved `provider/model`.
	Model string
	// RecalledMemoryIDs are the memories recalled and injected into the prompt.
	RecalledMemoryIDs []string
}

// ChatDelta is a piece of the answer, mirrored as soon as the upstream sent it.
type ChatDelta struct {
	Text      string
	ToolCalls []ToolCallDelta
	// Reasoning is reasoning text, where the provider sends it.
	Reasoning string
}

// ToolCallDelta is a piece of a tool call; join the pieces by Index.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// ChatCompleted: the turn completed and is durably stored.
type ChatCompleted struct {
	TurnID       string
	FinishReason FinishReason
	// Usage is nil when the provider reported none.
	Usage *Usage
}

func (ChatStarted) isEvent()   {}
func (ChatDelta) isEvent()     {}
func (ChatCompleted) isEvent() {}

// FinishReason is why the model stopped.
type FinishReason string

const (
	FinishUnspecified   FinishReason = ""
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
	FinishOther         FinishReason = "other"
)

// Usage is a turn's token usage as the upstream reported it.
type Usage struct {
	InputTokens       int
	OutputTokens      int
	CachedInputTokens int
	ReasoningTokens   int
}

// ChatResult is a whole turn, as ChatStream.Collect returns it.
type ChatResult struct {
	TurnID            string
	SessionID         string
	Model             string
	RecalledMemoryIDs []string
	Text              string
	Reasoning         string
	// ToolCalls are the calls the model asked for, joined from their pieces.
	ToolCalls    []ToolCall
	FinishReason FinishReason
	Usage        *Usage
}

// MemoryKind is what kind of memory a recall hit is.
type MemoryKind string

const (
	KindFact    MemoryKind = "fact"
	KindMessage MemoryKind = "message"
)

// RecallRequest is what to recall.
type RecallRequest struct {
	// Query is the text to match.
	Query string
	// Limit caps the hits; 0 takes the server's default.
	Limit int
	// Kinds of memory; empty means facts.
	Kinds []MemoryKind
	// OccurredAfter and OccurredBefore bound when the memory occurred; zero
	// values do not bound.
	OccurredAfter  time.Time
	OccurredBefore time.Time
	// MinScore drops hits scoring less.
	MinScore float64
	// IncludeScoreParts fills RecallHit.ScoreParts.
	IncludeScoreParts bool
	// IncludeSuperseded returns facts that a newer one superseded too.
	IncludeSuperseded bool
	// ProcessID narrows past messages to that process's turns. Facts belong
	// to the entity and are searched whichever process they came from (as
	// memorid's own Chat recalls them), so an Entity's process is not
	// applied unless set here.
	ProcessID string
	// Ranking ranks this call its own way; nil keeps the server's ranking.
	Ranking *Ranking
}

// Fusion is how a recall fuses its score parts.
type Fusion string

const (
	// FusionServer keeps the server's configured fusion.
	FusionServer Fusion = ""
	// FusionAbsolute fuses the parts as they are.
	FusionAbsolute Fusion = "absolute"
	// FusionMinMax scales each part's list per query before fusing.
	FusionMinMax Fusion = "min_max"
)

// Ranking is one recall's own ranking, where it differs from the server's
// (its [recall] weights and fusion): a nil weight or an empty Fusion keeps
// the server's value. memorid refuses a negative or non-finite weight, and
// a ContextWeight above 1.
//
//	memorid.Ranking{LexicalWeight: memorid.Ptr(1.0), DenseWeight: memorid.Ptr(0.0), Fusion: memorid.FusionMinMax}
type Ranking struct {
	DenseWeight    *float64
	LexicalWeight  *float64
	RecencyWeight  *float64
	MentionsWeight *float64
	Fusion         Fusion
	// ContextWeight is a message's session window's share of the dense
	// similarity (the window is the message and up to two earlier messages
	// of its session, scored by their mean similarity), 0 to 1; 0 leaves the window out.
	ContextWeight *float64
	// NeighbourWeight is the share of the stronger neighbouring message's
	// relevance (the previous or next message of its session) added to a
	// message's own; at least 0, and 0 adds none.
	NeighbourWeight *float64
}

// RecallHit is one recalled memory; Fact or Message is set.
type RecallHit struct {
	Score float64
	// ScoreParts is set when RecallRequest.IncludeScoreParts was.
	ScoreParts *ScoreParts
	Fact       *Fact
	Message    *MessageHit
}

// Content is the hit's text, whichever kind it is.
func (h RecallHit) Content() string {
	switch {
	case h.Fact != nil:
		return h.Fact.Content
	case h.Message != nil:
		return h.Message.Content
	}
	return ""
}

// ScoreParts are what a recall score is fused from.
type ScoreParts struct {
	Dense    float64
	Lexical  float64
	Recency  float64
	Mentions float64
}

// FactCategory is what a fact is about.
type FactCategory string

const (
	CategoryUnspecified  FactCategory = ""
	CategoryPreference   FactCategory = "preference"
	CategoryAttribute    FactCategory = "attribute"
	CategorySkill        FactCategory = "skill"
	CategoryEvent        FactCategory = "event"
	CategoryRelationship FactCategory = "relationship"
	CategoryRule         FactCategory = "rule"
	CategoryOther        FactCategory = "other"
)

// Fact is a short statement about an entity, extracted from its turns.
type Fact struct {
	ID           string
	Content      string
	Category     FactCategory
	FirstSeenAt  time.Time
	LastSeenAt   time.Time
	MentionCount int
	// ValidUntil and SupersededBy are set when a newer fact superseded it.
	ValidUntil   time.Time
	SupersededBy string
	// SourceTurnIDs are the turns that mentioned it, oldest first.
	SourceTurnIDs []string
}

// MessageHit is a stored message of a past turn.
type MessageHit struct {
	TurnID     string
	SessionID  string
	Role       Role
	Content    string
	OccurredAt time.Time
}

// Turn is a finished turn to store with Attribute: one you ran against a
// model yourself.
type Turn struct {
	// Messages of the turn, oldest first; at least one.
	Messages []Message
	// OccurredAt is when it happened; zero means now.
	OccurredAt time.Time
	// IdempotencyKey makes the turn safe to resend: a key already stored is
	// answered with the stored turn. Empty: the client makes one up.
	IdempotencyKey string
	Metadata       map[string]string
	// Model is the model that produced the assistant messages, if known.
	Model string
}

// AttributeResult says where a turn was stored.
type AttributeResult struct {
	IdempotencyKey string
	TurnID         string
	SessionID      string
	// Duplicate is true when the key had been stored before and nothing new
	// was written.
	Duplicate bool
}

// AugmentationStatus is where an entity's background memory work stands.
type AugmentationStatus struct {
	// Completed is true when none of the awaited work is pending any more.
	Completed   bool
	PendingJobs int
	// DeadJobs failed for good (see `memorid jobs retry-dead`).
	DeadJobs int
}

// ListFactsRequest is a page of facts to list.
type ListFactsRequest struct {
	// PageSize caps the page; 0 takes the server's default.
	PageSize int
	// PageToken is a previous page's NextPageToken.
	PageToken string
	// IncludeSuperseded lists superseded facts too.
	IncludeSuperseded bool
}

// FactPage is a page of facts, newest first.
type FactPage struct {
	Facts []Fact
	// NextPageToken gets the next page; empty on the last one.
	NextPageToken string
}

// ForgetResult counts what Forget deleted.
type ForgetResult struct {
	Sessions int
	Turns    int
	Messages int
	Facts    int
	Jobs     int
}

// TurnStatus is where a stored turn stands.
type TurnStatus string

const (
	TurnUnspecified TurnStatus = ""
	TurnStreaming   TurnStatus = "streaming"
	TurnCompleted   TurnStatus = "completed"
	// TurnInterrupted: the stream ended early (client gone, deadline,
	// upstream error); what had arrived is stored.
	TurnInterrupted TurnStatus = "interrupted"
	// TurnFailed: the upstream failed before answering.
	TurnFailed TurnStatus = "failed"
)

// StoredTurn is one turn of a session as memorid stored it.
type StoredTurn struct {
	TurnID       string
	Status       TurnStatus
	Model        string
	FinishReason FinishReason
	Usage        *Usage
	// Messages: the caller's, then the answer.
	Messages   []Message
	OccurredAt time.Time
	// Error is what ended an interrupted or failed turn.
	Error     string
	ProcessID string
	Metadata  map[string]string
}

// SessionHistory is a session with its turns, oldest first.
type SessionHistory struct {
	SessionID string
	EntityID  string
	ProcessID string
	CreatedAt time.Time
	UpdatedAt time.Time
	Turns     []StoredTurn
}
