// Command sse is a net/http server whose chat answers stream from memorid to
// the browser as Server-Sent Events, delta by delta, as the model writes
// them.
//
//	MEMORID_TARGET=localhost:50051 MEMORID_API_KEY=... MEMORID_MODEL=openai/gpt-4o-mini \
//	  go run ./examples/sse          # then open http://localhost:8080
//
// GET or POST /chat?user=...&message=...[&session_id=...] answers with
// text/event-stream: one "started" event (turn and session ids), a "delta"
// event per piece of text, then "done" (or "error" if the stream broke
// mid-way). A failure before the first token is a plain HTTP error instead
// (429 with Retry-After when the model is rate-limited), since nothing has
// been streamed yet. A browser that goes away cancels the request's
// context, which cancels the chat, and memorid stops the upstream request.
package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/memorid/memorid/clients/go/memorid"
	"google.golang.org/grpc/codes"
)

// ChatHandler relays memorid chats as Server-Sent Events.
type ChatHandler struct {
	Client *memorid.Client
	// Model is the memorid model name, e.g. "openai/gpt-4o-mini".
	Model string
	// Process is this app's process id in memorid.
	Process string
	// UserID says who is calling: the entity whose memories are used. A
	// real app takes it from its own session or token, never from a
	// parameter the caller chooses; the demo below does, for brevity.
	UserID func(*http.Request) (string, error)
}

func (h *ChatHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET or POST"})
		return
	}
	message := r.FormValue("message")
	if message == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "message is required"})
		return
	}
	userID, err := h.UserID(r)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "streaming unsupported"})
		return
	}

	user := h.Client.Entity(userID, memorid.Process(h.Process))
	if session := r.FormValue("session_id"); session != "" {
		user = user.WithSession(session)
	}
	// The request's context: a browser that goes away cancels the chat.
	stream := user.Chat(r.Context(), memorid.ChatRequest{
		Model:    h.Model,
		Messages: []memorid.Message{memorid.UserMessage(message)},
	})
	defer stream.Close()

	// Wait for the turn to start before answering 200, so that a failure
	// before the first token is a proper HTTP status.
	started, err := stream.Start()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // no buffering in nginx-like proxies
	w.WriteHeader(http.StatusOK)
	send(w, "started", map[string]any{"turn_id": started.TurnID, "session_id": started.SessionID, "model": started.Model})
	flusher.Flush()

	for event, err := range stream.Events() {
		if err != nil {
			if r.Context().Err() == nil { // the browser is still there to read it
				send(w, "error", errorBody(err))
				flusher.Flush()
			}
			return
		}
		switch e := event.(type) {
		case memorid.ChatDelta:
			if e.Text == "" {
				continue
			}
			send(w, "delta", map[string]string{"text": e.Text})
		case memorid.ChatCompleted:
			send(w, "done", map[string]any{"turn_id": e.TurnID, "finish_reason": e.FinishReason})
		default:
			continue
		}
		flusher.Flush() // each delta leaves now, not when a buffer fills
	}
}

// send writes one SSE event; JSON keeps the data on one line.
func send(w http.ResponseWriter, event string, data any) {
	payload, _ := json.Marshal(data)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, payload)
}

func errorBody(err error) map[string]any {
	body := map[string]any{"error": err.Error()}
	var e *memorid.Error
	if errors.As(err, &e) {
		body["reason"] = e.Reason
		if len(e.Violations) > 0 {
			body["violations"] = e.Violations
		}
	}
	return body
}

// writeError answers a failure before the first token with the HTTP status
// that says the same.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var e *memorid.Error
	if errors.As(err, &e) {
		switch e.Code {
		case codes.InvalidArgument:
			status = http.StatusBadRequest
		case codes.NotFound:
			status = http.StatusNotFound
		case codes.ResourceExhausted:
			status = http.StatusTooManyRequests
		case codes.Unavailable:
			status = http.StatusServiceUnavailable
		case codes.DeadlineExceeded:
			status = http.StatusGatewayTimeout
		case codes.Canceled:
			return // the browser went away; nobody reads an answer
		}
		if e.RetryDelay > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(e.RetryDelay.Seconds()))))
		}
	}
	writeJSON(w, status, errorBody(err))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

//go:embed index.html
var page []byte

// NewMux is the app: the page at / and the chat stream at /chat.
func NewMux(client *memorid.Client, model string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/chat", &ChatHandler{
		Client:  client,
		Model:   model,
		Process: "sse-example",
		UserID: func(r *http.Request) (string, error) {
			if id := r.FormValue("user"); id != "" {
				return id, nil
			}
			return "", errors.New("user is required")
		},
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	return mux
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	client, err := memorid.New(getenv("MEMORID_TARGET", "localhost:50051"),
		memorid.WithAPIKey(os.Getenv("MEMORID_API_KEY")),
		memorid.WithKeepalive(30*time.Second, 10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	addr := getenv("ADDR", "localhost:8080")
	server := &http.Server{
		Addr:              addr,
		Handler:           NewMux(client, getenv("MEMORID_MODEL", "openai/gpt-4o-mini")),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: it would cut long answers off mid-stream.
	}
	log.Printf("listening on http://%s", addr)
	log.Fatal(server.ListenAndServe())
}
