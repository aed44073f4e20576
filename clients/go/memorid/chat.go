package memorid

import (
	"context"
	"errors"
	"io"
	"iter"
	"sort"
	"strings"
	"sync"

	pb "github.com/memorid/memorid/clients/go/internal/gen/memori/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ChatStream is one chat in flight: the events memorid mirrors from the
// upstream, a ChatStarted first, ChatDelta values as they arrive, a
// ChatCompleted last (sent only once the turn is durably stored).
//
// Range over Events(), or call Recv until io.EOF, or Collect the whole turn.
// An error before the first token comes from the first Recv (or Start, to
// fail an HTTP request cleanly before streaming a response); an error
// mid-stream comes after the deltas already received, and the stream ends.
// Breaking out of Events(), Close, or cancelling the context cancels the
// call, and memorid stops the upstream request at once (the turn is stored
// as interrupted with what had arrived).
//
// A ChatStream is not for concurrent use, except Close, which may be called
// from any goroutine. It is never retried.
type ChatStream struct {
	ctx     context.Context
	cancel  context.CancelFunc
	open    func(context.Context) (grpc.ServerStreamingClient[pb.ChatResponse], error)
	stream  grpc.ServerStreamingClient[pb.ChatResponse]
	pending []Event
	err     error // sticky: io.EOF after the completed event, or the failure
	acc     accumulator

	closeOnce sync.Once
}

// Chat sends a turn through memorid with this handle's attribution:
// memorid stores the new messages, recalls the entity's memories and
// injects them, calls the upstream model and mirrors its deltas back. The
// call starts on the first Recv, Start, Events or Collect. Without a
// session, each chat starts a new one (ChatStarted.SessionID; keep it with
// e.WithSession).
func (e Entity) Chat(ctx context.Context, req ChatRequest) *ChatStream {
	c := e.c
	ctx, cancel := callContext(ctx, c.chatTimeout)
	s := &ChatStream{ctx: ctx, cancel: cancel}
	request, err := chatRequestPB(e.who, req)
	if err != nil {
		s.err = err
		s.Close()
		return s
	}
	s.open = func(ctx context.Context) (grpc.ServerStreamingClient[pb.ChatResponse], error) {
		return c.chat.Chat(ctx, request)
	}
	return s
}

// Recv returns the next event, or io.EOF after the ChatCompleted event, or
// the call's *Error. After an error (or io.EOF) it returns the same again.
func (s *ChatStream) Recv() (Event, error) {
	if len(s.pending) > 0 {
		event := s.pending[0]
		s.pending = s.pending[1:]
		return event, nil
	}
	return s.read()
}

func (s *ChatStream) read() (Event, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.stream == nil {
		stream, err := s.open(s.ctx)
		if err != nil {
			return nil, s.fail(toError(err))
		}
		s.stream = stream
	}
	for {
		response, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			if s.acc.completed == nil {
				return nil, s.fail(newError(codes.Internal, "the chat stream ended without a completed event"))
			}
			return nil, s.fail(io.EOF)
		}
		if err != nil {
			return nil, s.fail(toError(err))
		}
		if event := chatEvent(response); event != nil {
			s.acc.add(event)
			return event, nil
		}
	}
}

// fail ends the stream with err (io.EOF at the clean end) and releases the call.
func (s *ChatStream) fail(err error) error {
	s.err = err
	s.Close()
	return err
}

// Start waits for the ChatStarted event (the turn is stored and the
// upstream answered) and returns it; Recv and Events still yield it first.
func (s *ChatStream) Start() (ChatStarted, error) {
	if s.acc.started == nil {
		event, err := s.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = newError(codes.Internal, "the chat stream ended before it started")
			}
			return ChatStarted{}, err
		}
		s.pending = append(s.pending, event)
		if s.acc.started == nil {
			return ChatStarted{}, s.fail(newError(codes.Internal, "the chat stream did not begin with a started event"))
		}
	}
	return *s.acc.started, nil
}

// Events yields each event, then ends; a failure is yielded once as
// (nil, err) and ends the sequence. Breaking out of the loop cancels the
// call.
func (s *ChatStream) Events() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			event, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(event, err) || err != nil {
				s.Close()
				return
			}
		}
	}
}

// TextDeltas yields only the answer's text, piece by piece, like Events.
func (s *ChatStream) TextDeltas() iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for event, err := range s.Events() {
			if err != nil {
				yield("", err)
				return
			}
			if d, ok := event.(ChatDelta); ok && d.Text != "" {
				if !yield(d.Text, nil) {
					return
				}
			}
		}
	}
}

// Collect reads the stream to its end and returns the whole turn. On a
// failure it returns what had arrived with the error.
func (s *ChatStream) Collect() (ChatResult, error) {
	for {
		_, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.acc.result(), nil
		}
		if err != nil {
			return s.acc.result(), err
		}
	}
}

// Result is the turn as received so far (all of it once the stream ended).
func (s *ChatStream) Result() ChatResult { return s.acc.result() }

// Completed is the final event once the stream ended cleanly, else nil.
func (s *ChatStream) Completed() *ChatCompleted { return s.acc.completed }

// Close cancels the call if it is still running and releases it. It is
// safe to call more than once and from another goroutine.
func (s *ChatStream) Close() {
	s.closeOnce.Do(s.cancel)
}

// accumulator joins a stream's events into a ChatResult.
type accumulator struct {
	started   *ChatStarted
	completed *ChatCompleted
	text      strings.Builder
	reasoning strings.Builder
	calls     map[int]*ToolCall
}

func (a *accumulator) add(event Event) {
	switch e := event.(type) {
	case ChatStarted:
		a.started = &e
	case ChatDelta:
		a.text.WriteString(e.Text)
		a.reasoning.WriteString(e.Reasoning)
		for _, d := range e.ToolCalls {
			if a.calls == nil {
				a.calls = map[int]*ToolCall{}
			}
			call := a.calls[d.Index]
			if call == nil {
				call = &ToolCall{}
				a.calls[d.Index] = call
			}
			if d.ID != "" {
				call.ID = d.ID
			}
			if d.Name != "" {
				call.Name = d.Name
			}
			call.Arguments += d.Arguments
		}
	case ChatCompleted:
		a.completed = &e
	}
}

func (a *accumulator) result() ChatResult {
	r := ChatResult{Text: a.text.String(), Reasoning: a.reasoning.String()}
	if s := a.started; s != nil {
		r.TurnID, r.SessionID, r.Model, r.RecalledMemoryIDs = s.TurnID, s.SessionID, s.Model, s.RecalledMemoryIDs
	}
	if c := a.completed; c != nil {
		r.TurnID, r.FinishReason, r.Usage = c.TurnID, c.FinishReason, c.Usage
	}
	indexes := make([]int, 0, len(a.calls))
	for i := range a.calls {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	for _, i := range indexes {
		r.ToolCalls = append(r.ToolCalls, *a.calls[i])
	}
	return r
}
