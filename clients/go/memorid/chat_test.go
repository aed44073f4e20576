package memorid_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
)

type received struct {
	event memorid.Event
	err   error
}

// pump reads the stream's events into a channel from its own goroutine, so
// a test can tell "nothing arrived yet" from "it arrived".
func pump(stream *memorid.ChatStream) <-chan received {
	out := make(chan received, 16)
	go func() {
		defer close(out)
		for event, err := range stream.Events() {
			out <- received{event, err}
		}
	}()
	return out
}

func next(t *testing.T, events <-chan received) memorid.Event {
	t.Helper()
	select {
	case r, ok := <-events:
		if !ok {
			t.Fatal("the stream ended early")
		}
		if r.err != nil {
			t.Fatalf("stream failed: %v", r.err)
		}
		return r.event
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s")
	}
	return nil
}

func TestChatMirrorsEachDeltaWhileTheUpstreamHoldsTheNext(t *testing.T) {
	client := newClient(t)
	model := newModel()
	gate := make(chan struct{})
	upstream.Script(model, testenv.Script{Pieces: []string{"one", " two", " three"}, Gate: gate})
	ctx := testContext(t, 30*time.Second)

	stream := client.Entity(newEntityID(), memorid.Process("support-bot")).Chat(ctx, memorid.ChatRequest{
		Model: "openai/" + model, Messages: hello("count to three"),
	})
	defer stream.Close()
	events := pump(stream)

	started, ok := next(t, events).(memorid.ChatStarted)
	if !ok || started.TurnID == "" || started.SessionID == "" || started.Model != "openai/"+model {
		t.Fatalf("first event: %#v", started)
	}
	for i, want := range []string{"one", " two", " three"} {
		if i > 0 {
			// The upstream holds piece i until the gate opens: nothing may
			// arrive before, so memorid and the client buffer nothing.
			select {
			case r := <-events:
				t.Fatalf("got %#v while the upstream still held piece %d", r, i)
			case <-time.After(300 * time.Millisecond):
			}
			gate <- struct{}{}
		}
		delta, ok := next(t, events).(memorid.ChatDelta)
		if !ok || delta.Text != want {
			t.Fatalf("delta %d: %#v, want %q", i, delta, want)
		}
	}
	completed, ok := next(t, events).(memorid.ChatCompleted)
	if !ok || completed.TurnID != started.TurnID || completed.FinishReason != memorid.FinishStop {
		t.Fatalf("last event: %#v", completed)
	}
	if completed.Usage == nil || completed.Usage.InputTokens != 11 || completed.Usage.OutputTokens != 3 {
		t.Fatalf("usage: %#v", completed.Usage)
	}
	if r, open := <-events; open {
		t.Fatalf("after completed: %#v", r)
	}
	if got := stream.Result().Text; got != "one two three" {
		t.Fatalf("Result().Text = %q", got)
	}
}

func TestChatCollectStoresTheTurnInItsSession(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"Hel", "lo", "!"}})
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID(), memorid.Process("support-bot"))

	result, err := user.Chat(ctx, memorid.ChatRequest{
		Model:       "openai/" + model,
		Messages:    []memorid.Message{memorid.SystemMessage("Be brief."), memorid.UserMessage("Say hello")},
		Temperature: memorid.Ptr(0.25),
		MaxTokens:   memorid.Ptr(50),
		Stop:        []string{"\n\n"},
		Metadata:    map[string]string{"channel": "test"},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if result.Text != "Hello!" || result.FinishReason != memorid.FinishStop || result.Usage == nil || result.TurnID == "" {
		t.Fatalf("result: %#v", result)
	}

	// What the upstream got: the request's parameters, memorid's own key.
	requests := upstream.Requests(model)
	if len(requests) != 1 {
		t.Fatalf("upstream got %d requests", len(requests))
	}
	body := requests[0].Body
	if body["temperature"] != 0.25 || body["max_tokens"] != 50.0 || body["stream"] != true {
		t.Fatalf("upstream request: %v", body)
	}
	if got := requests[0].Header.Get("Authorization"); got != "Bearer sk-fake-upstream-key" {
		t.Fatalf("upstream authorization %q", got)
	}

	session, err := user.GetSession(ctx, result.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if session.ProcessID != "support-bot" || len(session.Turns) != 1 {
		t.Fatalf("session: %#v", session)
	}
	turn := session.Turns[0]
	if turn.TurnID != result.TurnID || turn.Status != memorid.TurnCompleted || turn.Metadata["channel"] != "test" {
		t.Fatalf("turn: %#v", turn)
	}
	last := turn.Messages[len(turn.Messages)-1]
	if last.Role != memorid.RoleAssistant || last.Content != "Hello!" {
		t.Fatalf("stored answer: %#v", last)
	}
}

func TestChatInASessionGetsItsHistoryPrepended(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Echo: true})
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID()).NewSession()

	for _, text := range []string{"first question", "second question"} {
		if _, err := user.Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello(text)}).Collect(); err != nil {
			t.Fatal(err)
		}
	}
	requests := upstream.Requests(model)
	if len(requests) != 2 {
		t.Fatalf("upstream got %d requests", len(requests))
	}
	var contents []string
	for _, m := range requests[1].Body["messages"].([]any) {
		msg := m.(map[string]any)
		if msg["role"] != "system" {
			contents = append(contents, fmt.Sprint(msg["role"], ": ", msg["content"]))
		}
	}
	want := []string{"user: first question", "assistant: echo: first question", "user: second question"}
	if strings.Join(contents, "|") != strings.Join(want, "|") {
		t.Fatalf("second request's messages:\n%v\nwant\n%v", contents, want)
	}
	session, err := user.GetSession(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(session.Turns) != 2 || session.SessionID != user.Attribution().SessionID {
		t.Fatalf("session: %#v", session)
	}
}

func TestChatJoinsToolCallPieces(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{
		Pieces:       []string{"Let me look."},
		FinishReason: "tool_calls",
		ToolCalls:    []testenv.ScriptToolCall{{ID: "call_1", Name: "get_weather", Arguments: []string{`{"city":`, ` "Lisbon"}`}}},
	})
	ctx := testContext(t, 30*time.Second)
	result, err := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{
		Model:    "openai/" + model,
		Messages: hello("weather in Lisbon?"),
		Tools: []memorid.Tool{{
			Name:        "get_weather",
			Description: "The weather in a city",
			Parameters:  map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}},
		ToolChoice: memorid.ToolChoice{Mode: memorid.ToolChoiceAuto},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if result.FinishReason != memorid.FinishToolCalls || len(result.ToolCalls) != 1 {
		t.Fatalf("result: %#v", result)
	}
	call := result.ToolCalls[0]
	if call.ID != "call_1" || call.Name != "get_weather" || call.Arguments != `{"city": "Lisbon"}` {
		t.Fatalf("tool call: %#v", call)
	}
	tools := upstream.Requests(model)[0].Body["tools"].([]any)
	function := tools[0].(map[string]any)["function"].(map[string]any)
	if function["name"] != "get_weather" || function["parameters"].(map[string]any)["type"] != "object" {
		t.Fatalf("upstream tools: %v", tools)
	}
}

func TestChatErrorMidStreamComesAfterTheDeltas(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"one", " two", " three"}, ErrorAfter: testenv.At(2)})
	ctx := testContext(t, 30*time.Second)

	var seen []string
	var failure error
	for event, err := range client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Events() {
		if err != nil {
			failure = err
			break
		}
		if d, ok := event.(memorid.ChatDelta); ok {
			seen = append(seen, d.Text)
		}
	}
	if strings.Join(seen, "|") != "one| two" {
		t.Fatalf("deltas before the error: %q", seen)
	}
	var e *memorid.Error
	if !errors.As(failure, &e) || e.Reason != memorid.ReasonUpstreamUnavailable || !errors.Is(failure, memorid.ErrUnavailable) {
		t.Fatalf("error: %v", failure)
	}
}

// waitTurn polls the session until its only turn has the status.
func waitTurn(t *testing.T, user memorid.Entity, sessionID string, status memorid.TurnStatus) memorid.StoredTurn {
	t.Helper()
	ctx := testContext(t, 15*time.Second)
	for {
		session, err := user.GetSession(ctx, sessionID)
		if err == nil && len(session.Turns) == 1 && session.Turns[0].Status == status {
			return session.Turns[0]
		}
		if ctx.Err() != nil {
			t.Fatalf("turn never became %s: %#v %v", status, session, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCancellingTheContextStopsTheUpstreamRequest(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"one", " two"}, StallAfter: testenv.At(1)})
	user := client.Entity(newEntityID())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	stream := user.Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")})
	started, err := stream.Start()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil { // started
		t.Fatal(err)
	}
	if event, err := stream.Recv(); err != nil || event.(memorid.ChatDelta).Text != "one" {
		t.Fatalf("first delta: %#v %v", event, err)
	}
	cancel()
	select {
	case <-upstream.HungUp(model):
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was still open 5 s after the cancel")
	}
	_, err = stream.Recv()
	if !errors.Is(err, memorid.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel: %v", err)
	}
	turn := waitTurn(t, user, started.SessionID, memorid.TurnInterrupted)
	if last := turn.Messages[len(turn.Messages)-1]; last.Content != "one" {
		t.Fatalf("stored partial answer: %#v", turn.Messages)
	}
	if upstream.Finished(model) != 0 {
		t.Fatal("the upstream stream ran to its end")
	}
}

func TestBreakingOutOfTheLoopCancelsTheCall(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"one", " two"}, StallAfter: testenv.At(1)})
	ctx := testContext(t, 30*time.Second)

	for event := range client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Events() {
		if _, ok := event.(memorid.ChatDelta); ok {
			break
		}
	}
	select {
	case <-upstream.HungUp(model):
	case <-time.After(5 * time.Second):
		t.Fatal("breaking out of Events() left the upstream request open")
	}
}

func TestAChatPastItsDeadlineIsDeadlineExceeded(t *testing.T) {
	client := newClient(t, memorid.WithChatTimeout(700*time.Millisecond))
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"one", " two"}, StallAfter: testenv.At(1)})

	begun := time.Now()
	_, err := client.Entity(newEntityID()).Chat(context.Background(), memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Collect()
	if !errors.Is(err, memorid.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error: %v", err)
	}
	if elapsed := time.Since(begun); elapsed > 5*time.Second {
		t.Fatalf("took %v", elapsed)
	}
	select {
	case <-upstream.HungUp(model):
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request outlived the deadline")
	}
}

func TestFiftyConcurrentStreamsOnOneClient(t *testing.T) {
	const n = 50
	client := newClient(t, memorid.WithKeepalive(10*time.Second, 5*time.Second))
	model := newModel()
	hold := make(chan struct{})
	upstream.Script(model, testenv.Script{Echo: true, Hold: hold})
	ctx := testContext(t, 60*time.Second)

	var wg sync.WaitGroup
	results := make([]memorid.ChatResult, n)
	failures := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := client.Entity(fmt.Sprintf("%s-%d", newEntityID(), i))
			results[i], failures[i] = user.Chat(ctx, memorid.ChatRequest{
				Model: "openai/" + model, Messages: hello(fmt.Sprintf("stream number %d", i)),
			}).Collect()
		}()
	}
	// Every stream is open at the upstream at once before any is answered:
	// the client multiplexes them on its one connection, none waits for another.
	for upstream.InFlight(model) < n {
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d streams reached the upstream together", upstream.InFlight(model), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(hold)
	wg.Wait()
	for i := range n {
		if failures[i] != nil {
			t.Fatalf("stream %d: %v", i, failures[i])
		}
		if want := fmt.Sprintf("echo: stream number %d", i); results[i].Text != want {
			t.Fatalf("stream %d got %q, want %q", i, results[i].Text, want)
		}
	}
	if got := upstream.Finished(model); got != n {
		t.Fatalf("upstream finished %d streams", got)
	}
}

func TestRecvAfterTheEndKeepsReturningEOF(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{})
	ctx := testContext(t, 30*time.Second)
	stream := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")})
	var kinds []string
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, fmt.Sprintf("%T", event))
	}
	if got := strings.Join(kinds, ","); got != "memorid.ChatStarted,memorid.ChatDelta,memorid.ChatDelta,memorid.ChatDelta,memorid.ChatCompleted" {
		t.Fatalf("events: %s", got)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("second Recv after the end: %v", err)
	}
	if stream.Completed() == nil {
		t.Fatal("Completed() is nil after a clean end")
	}
}
