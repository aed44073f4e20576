// Package testenv runs what the client's tests talk to: the real memorid
// release binary, started on a free port against SQLite, and a fake
// OpenAI-compatible upstream that speaks the real wire format.
//
// The fake answers:
//   - POST /v1/chat/completions, streamed (SSE frames exactly as the API
//     sends them: a role frame, one frame per content piece, tool-call
//     frames, a finish frame, a usage frame with "choices": [] when
//     stream_options.include_usage is set, then "data: [DONE]") or whole.
//     Requests whose response_format is memorid's extraction schema (a
//     json_schema named "memories") are answered by a rule-based extraction
//     model: each first-person sentence of the turn's user text becomes a
//     fact ("I prefer async Python" → "prefers async Python").
//   - POST /v1/embeddings: deterministic bag-of-words vectors (words hashed
//     into 256 dimensions, crudely stemmed, L2-normalised), base64 or
//     floats as asked, so texts sharing words are close.
//
// Chat answers follow the Script registered for the request's model name,
// so tests running side by side never share one.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Script is how the fake answers the chats of one model.
type Script struct {
	// Pieces are the content frames, in order (default "Hello", ", ", "world").
	Pieces []string
	// Echo answers with the last user message, word by word, instead of Pieces.
	Echo bool
	// FinishReason is the finish frame's reason (default "stop").
	FinishReason string
	// NoUsage leaves out the usage frame; else it reports (11, 3) tokens.
	NoUsage bool
	// Delay comes before each content frame.
	Delay time.Duration
	// Reject answers with this HTTP error instead of a stream.
	Reject *Reject
	// ErrorAfter, when set, sends an error frame after that many content frames.
	ErrorAfter *int
	// StallAfter, when set, sends nothing after that many content frames
	// until the client hangs up.
	StallAfter *int
	// Gate, when set, holds content frame n ≥ 1 until a value is received
	// from it: the test sends one value per frame it lets through.
	Gate chan struct{}
	// Hold, when set, holds the first content frame until it is closed.
	Hold chan struct{}
	// ToolCalls are sent after the text: (id, name, argument pieces).
	ToolCalls []ScriptToolCall
}

// ScriptToolCall is one tool call a script answers with.
type ScriptToolCall struct {
	ID, Name  string
	Arguments []string
}

// Reject is an HTTP error answer.
type Reject struct {
	Status  int
	Type    string
	Headers map[string]string
}

// SlowExtractionMarker in a turn's text makes the extraction model take
// SlowExtraction to answer it, so its augmentation stays pending that long.
const SlowExtractionMarker = "[slow-extraction]"

// SlowExtraction is how long the extraction of a marked turn takes.
const SlowExtraction = 4 * time.Second

// At is a pointer to n, for Script's optional counts.
func At(n int) *int { return &n }

// Recorded is one request the fake received.
type Recorded struct {
	Path    string
	Header  http.Header
	Body    map[string]any
	Started time.Time
}

// Model is the request's model name.
func (r Recorded) Model() string { s, _ := r.Body["model"].(string); return s }

// IsExtraction is true for memorid's extraction requests.
func (r Recorded) IsExtraction() bool { return schemaName(r.Body) == "memories" }

func schemaName(body map[string]any) string {
	format, _ := body["response_format"].(map[string]any)
	if format["type"] != "json_schema" {
		return ""
	}
	schema, _ := format["json_schema"].(map[string]any)
	name, _ := schema["name"].(string)
	return name
}

// Upstream is the fake upstream server.
type Upstream struct {
	server *http.Server
	addr   string

	mu       sync.Mutex
	scripts  map[string]*Script
	requests []Recorded
	hangups  map[string]chan struct{}
	finished map[string]int
	inFlight map[string]int
}

// StartUpstream starts the fake on a free loopback port.
func StartUpstream() (*Upstream, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &Upstream{
		addr:     listener.Addr().String(),
		scripts:  map[string]*Script{},
		hangups:  map[string]chan struct{}{},
		finished: map[string]int{},
		inFlight: map[string]int{},
	}
	u.server = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = u.server.Serve(listener) }()
	return u, nil
}

// BaseURL is the OpenAI-style base URL (".../v1").
func (u *Upstream) BaseURL() string { return "http://" + u.addr + "/v1" }

// Close stops the server.
func (u *Upstream) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = u.server.Shutdown(ctx)
	_ = u.server.Close()
}

// Script answers the chats of model (as the upstream sees it, without the
// provider prefix) with s.
func (u *Upstream) Script(model string, s Script) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.scripts[model] = &s
	u.hangups[model] = make(chan struct{})
}

func (u *Upstream) script(model string) Script {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.scripts[model]; ok {
		return *s
	}
	return Script{}
}

// Requests are the chat requests received for model (extraction excluded).
func (u *Upstream) Requests(model string) []Recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Recorded
	for _, r := range u.requests {
		if r.Path == "/v1/chat/completions" && r.Model() == model && !r.IsExtraction() {
			out = append(out, r)
		}
	}
	return out
}

// Extractions counts the extraction requests received so far.
func (u *Upstream) Extractions() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, r := range u.requests {
		if r.IsExtraction() {
			n++
		}
	}
	return n
}

// HungUp is closed once a stream of model saw its client hang up early.
func (u *Upstream) HungUp(model string) <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	ch, ok := u.hangups[model]
	if !ok {
		ch = make(chan struct{})
		u.hangups[model] = ch
	}
	return ch
}

// Finished counts the streams of model sent to their end.
func (u *Upstream) Finished(model string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.finished[model]
}

// InFlight counts the streams of model open right now.
func (u *Upstream) InFlight(model string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inFlight[model]
}

func (u *Upstream) record(r *http.Request, body map[string]any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, Recorded{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Started: time.Now()})
}

func (u *Upstream) hungUp(model string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ch, ok := u.hangups[model]
	if !ok {
		ch = make(chan struct{})
		u.hangups[model] = ch
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (u *Upstream) count(m map[string]int, model string, delta int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	m[model] += delta
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "invalid JSON", "type": "invalid_request_error"}}, nil)
		return
	}
	u.record(r, body)
	switch r.URL.Path {
	case "/v1/embeddings":
		u.embeddings(w, body)
	case "/v1/chat/completions":
		u.chat(w, r, body)
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"message": "no route " + r.URL.Path, "type": "not_found"}}, nil)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any, headers map[string]string) {
	payload, _ := json.Marshal(body)
	w.Header().Set("content-type", "application/json")
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}

// --- embeddings -------------------------------------------------------------

// Dimensions of the fake embeddings.
const Dimensions = 256

var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an the i my me is am are to of and in on for with what do does you your it that this be at about user") {
		stopWords[w] = true
	}
}

var wordRE = regexp.MustCompile(`[a-z0-9]+`)

func words(text string) []string {
	var out []string
	for _, w := range wordRE.FindAllString(strings.ToLower(text), -1) {
		if stopWords[w] {
			continue
		}
		if len(w) > 5 {
			w = w[:5] // a crude stem: "prefers" and "preference" meet
		}
		out = append(out, w)
	}
	return out
}

// PseudoVector is the fake embedding of text.
func PseudoVector(text string) []float32 {
	vector := make([]float64, Dimensions)
	tokens := words(text)
	if len(tokens) == 0 {
		tokens = []string{"<empty>"}
	}
	for _, t := range tokens {
		digest := sha256.Sum256([]byte(t))
		index := binary.LittleEndian.Uint32(digest[:4]) % Dimensions
		sign := 1.0
		if digest[4]&1 == 0 {
			sign = -1
		}
		vector[index] += sign
	}
	norm := 0.0
	for _, v := range vector {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		norm = 1
	}
	out := make([]float32, Dimensions)
	for i, v := range vector {
		out[i] = float32(v / norm)
	}
	return out
}

func (u *Upstream) embeddings(w http.ResponseWriter, body map[string]any) {
	var inputs []string
	switch in := body["input"].(type) {
	case string:
		inputs = []string{in}
	case []any:
		for _, v := range in {
			s, _ := v.(string)
			inputs = append(inputs, s)
		}
	}
	asBase64 := body["encoding_format"] == "base64"
	data := make([]any, 0, len(inputs))
	for i, text := range inputs {
		vector := PseudoVector(text)
		var embedding any = vector
		if asBase64 {
			var buf bytes.Buffer
			_ = binary.Write(&buf, binary.LittleEndian, vector)
			embedding = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": embedding})
	}
	writeJSON(w, 200, map[string]any{
		"object": "list", "data": data, "model": body["model"],
		"usage": map[string]any{"prompt_tokens": 0, "total_tokens": 0},
	}, nil)
}

// --- chat completions ----------------------------------------------------------

type clientGone struct{}

func (u *Upstream) chat(w http.ResponseWriter, r *http.Request, body map[string]any) {
	model, _ := body["model"].(string)
	stream, _ := body["stream"].(bool)
	var script Script
	switch schemaName(body) {
	case "memories":
		script = Script{Pieces: []string{ExtractionAnswer(body)}}
		if raw, _ := json.Marshal(body["messages"]); bytes.Contains(raw, []byte(SlowExtractionMarker)) {
			script.Delay = SlowExtraction
		}
	case "replacements":
		script = Script{Pieces: []string{`{"answers": []}`}}
	default:
		script = u.script(model)
	}
	if script.Echo {
		script.Pieces = echoPieces(body)
	} else if script.Pieces == nil {
		script.Pieces = []string{"Hello", ", ", "world"}
	}
	if script.FinishReason == "" {
		script.FinishReason = "stop"
	}
	if rej := script.Reject; rej != nil {
		writeJSON(w, rej.Status, map[string]any{"error": map[string]any{
			"message": fmt.Sprintf("fake %d", rej.Status), "type": rej.Type, "param": nil, "code": nil,
		}}, rej.Headers)
		return
	}
	created := time.Now().Unix()
	usage := map[string]any{
		"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14,
		"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
	if !stream {
		if script.Delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(script.Delay):
			}
		}
		message := map[string]any{"role": "assistant", "content": strings.Join(script.Pieces, ""), "refusal": nil, "annotations": []any{}}
		if len(script.ToolCalls) > 0 {
			var calls []any
			for _, c := range script.ToolCalls {
				calls = append(calls, map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": strings.Join(c.Arguments, "")}})
			}
			message["tool_calls"] = calls
		}
		writeJSON(w, 200, map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
			"choices":            []any{map[string]any{"index": 0, "message": message, "logprobs": nil, "finish_reason": script.FinishReason}},
			"usage":              usage,
			"service_tier":       "default",
			"system_fingerprint": "fp_fake",
		}, nil)
		return
	}

	u.count(u.inFlight, model, 1)
	defer u.count(u.inFlight, model, -1)
	defer func() {
		if recovered := recover(); recovered != nil {
			if _, ok := recovered.(clientGone); !ok {
				panic(recovered)
			}
			u.hungUp(model)
		}
	}()
	streamOptions, _ := body["stream_options"].(map[string]any)
	includeUsage, _ := streamOptions["include_usage"].(bool)
	ctx := r.Context()
	flusher := w.(http.Flusher)
	send := func(payload string) {
		if ctx.Err() != nil {
			panic(clientGone{})
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", payload); err != nil {
			panic(clientGone{})
		}
		flusher.Flush()
	}
	frame := func(delta map[string]any, finish any) string {
		f := map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
			"service_tier": "default", "system_fingerprint": "fp_fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if includeUsage {
			f["usage"] = nil
		}
		raw, _ := json.Marshal(f)
		return string(raw)
	}
	wait := func(ch <-chan struct{}, limit time.Duration) {
		select {
		case <-ch:
		case <-ctx.Done():
			panic(clientGone{})
		case <-time.After(limit):
			panic(clientGone{})
		}
	}

	pause := func(d time.Duration) {
		select {
		case <-ctx.Done():
			panic(clientGone{})
		case <-time.After(d):
		}
	}

	w.Header().Set("content-type", "text/event-stream; charset=utf-8")
	w.Header().Set("cache-control", "no-cache")
	w.WriteHeader(200)
	send(frame(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))
	for n, piece := range script.Pieces {
		if script.StallAfter != nil && *script.StallAfter == n {
			wait(nil, 60*time.Second)
		}
		if script.ErrorAfter != nil && *script.ErrorAfter == n {
			send(`{"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}}`)
			return
		}
		if n == 0 && script.Hold != nil {
			wait(script.Hold, 60*time.Second)
		}
		if n > 0 && script.Gate != nil {
			wait(script.Gate, 30*time.Second)
		}
		if script.Delay > 0 {
			pause(script.Delay)
		}
		send(frame(map[string]any{"content": piece}, nil))
	}
	for i, c := range script.ToolCalls {
		send(frame(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil))
		for _, piece := range c.Arguments {
			send(frame(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": piece}}}}, nil))
		}
	}
	send(frame(map[string]any{}, script.FinishReason))
	if includeUsage && !script.NoUsage {
		raw, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
			"service_tier": "default", "system_fingerprint": "fp_fake", "choices": []any{}, "usage": usage,
		})
		send(string(raw))
	}
	send("[DONE]")
	u.count(u.finished, model, 1)
}

// echoPieces is the last user message as "echo: <words>", one word a frame.
func echoPieces(body map[string]any) []string {
	text := ""
	messages, _ := body["messages"].([]any)
	for _, m := range messages {
		msg, _ := m.(map[string]any)
		if msg["role"] == "user" {
			text, _ = msg["content"].(string)
		}
	}
	pieces := []string{"echo:"}
	for _, w := range strings.Fields(text) {
		pieces = append(pieces, " "+w)
	}
	return pieces
}
