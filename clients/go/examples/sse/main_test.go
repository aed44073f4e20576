package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

func random() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// app is the example's mux over a real client, on an httptest server.
func app(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	client, err := memorid.New(env.Server.Target, memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	model := "gpt-test-" + random()
	web := httptest.NewServer(NewMux(client, "openai/"+model))
	t.Cleanup(func() { web.Close(); client.Close() })
	return web, model
}

type sseEvent struct {
	name string
	data map[string]any
}

// readEvents parses the response's SSE events into a channel, from a
// goroutine of its own.
func readEvents(body io.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		scanner := bufio.NewScanner(body)
		var ev sseEvent
		for scanner.Scan() {
			line := scanner.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s")
	}
	return sseEvent{}
}

func get(t *testing.T, ctx context.Context, web *httptest.Server, params url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, web.URL+"/chat?"+params.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestTheBrowserGetsEachDeltaAsTheModelWritesIt(t *testing.T) {
	web, model := app(t)
	gate := make(chan struct{})
	env.Upstream.Script(model, testenv.Script{Pieces: []string{"Hello", " from", " memorid"}, Gate: gate})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	userID := "web-" + random()
	resp := get(t, ctx, web, url.Values{"user": {userID}, "message": {"hi"}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(resp.Body)
	started := nextEvent(t, events)
	if started.name != "started" || started.data["session_id"] == "" || started.data["turn_id"] == "" {
		t.Fatalf("first event: %#v", started)
	}
	for i, want := range []string{"Hello", " from", " memorid"} {
		if i > 0 {
			// The model has not written piece i yet: the browser must have
			// everything before it, and nothing more.
			select {
			case ev := <-events:
				t.Fatalf("got %#v while the upstream held piece %d", ev, i)
			case <-time.After(300 * time.Millisecond):
			}
			gate <- struct{}{}
		}
		if ev := nextEvent(t, events); ev.name != "delta" || ev.data["text"] != want {
			t.Fatalf("event %d: %#v, want delta %q", i, ev, want)
		}
	}
	done := nextEvent(t, events)
	if done.name != "done" || done.data["turn_id"] != started.data["turn_id"] || done.data["finish_reason"] != "stop" {
		t.Fatalf("last event: %#v", done)
	}
	if _, open := <-events; open {
		t.Fatal("the stream went on after done")
	}

	// The turn is in memorid, in the session the page keeps, under the
	// example's process.
	client, err := memorid.New(env.Server.Target, memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	session, err := client.Entity(userID).GetSession(ctx, started.data["session_id"].(string))
	if err != nil || session.ProcessID != "sse-example" || len(session.Turns) != 1 {
		t.Fatalf("session: %#v %v", session, err)
	}
	if msgs := session.Turns[0].Messages; msgs[len(msgs)-1].Content != "Hello from memorid" {
		t.Fatalf("stored answer: %#v", msgs)
	}
}

func TestARateLimitBeforeTheFirstTokenIsHTTP429WithRetryAfter(t *testing.T) {
	web, model := app(t)
	env.Upstream.Script(model, testenv.Script{Reject: &testenv.Reject{Status: 429, Type: "requests", Headers: map[string]string{"retry-after": "7"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp := get(t, ctx, web, url.Values{"user": {"web-" + random()}, "message": {"hi"}})
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" || body["reason"] != "UPSTREAM_RATE_LIMITED" {
		t.Fatalf("status %d, Retry-After %q, body %v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestAnErrorMidStreamIsAnErrorEvent(t *testing.T) {
	web, model := app(t)
	env.Upstream.Script(model, testenv.Script{Pieces: []string{"one", " two"}, ErrorAfter: testenv.At(1)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := readEvents(get(t, ctx, web, url.Values{"user": {"web-" + random()}, "message": {"hi"}}).Body)
	var names []string
	var last sseEvent
	for ev := range events {
		names = append(names, ev.name)
		last = ev
	}
	if strings.Join(names, ",") != "started,delta,error" || last.data["reason"] != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("events %v, last %#v", names, last)
	}
}

func TestABrowserThatGoesAwayStopsTheUpstreamRequest(t *testing.T) {
	web, model := app(t)
	env.Upstream.Script(model, testenv.Script{Pieces: []string{"one", " two"}, StallAfter: testenv.At(1)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	events := readEvents(get(t, ctx, web, url.Values{"user": {"web-" + random()}, "message": {"hi"}}).Body)
	nextEvent(t, events) // started
	if ev := nextEvent(t, events); ev.name != "delta" {
		t.Fatalf("event: %#v", ev)
	}
	cancel() // the tab is closed
	select {
	case <-env.Upstream.HungUp(model):
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was still open 5 s after the browser left")
	}
}

func TestBadRequestsAndThePage(t *testing.T) {
	web, _ := app(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp := get(t, ctx, web, url.Values{"user": {"u"}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no message: %d", resp.StatusCode)
	}
	if resp := get(t, ctx, web, url.Values{"message": {"hi"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no user: %d", resp.StatusCode)
	}
	resp, err := http.Get(web.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(html), "new EventSource(") {
		t.Fatalf("page: %d", resp.StatusCode)
	}
}
