package memorid_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/memorid/memorid/clients/go/memorid"
)

// These examples are compiled with the tests (they need a running memorid,
// so they are not run; the integration tests cover the same calls).

func Example() {
	ctx := context.Background()
	client, err := memorid.New("localhost:50051", memorid.WithAPIKey("..."))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	user := client.Entity("user_123", memorid.Process("support-bot"))
	stream := user.Chat(ctx, memorid.ChatRequest{
		Model:    "openai/gpt-4o-mini",
		Messages: []memorid.Message{memorid.UserMessage("I prefer async Python.")},
	})
	for event, err := range stream.Events() {
		if err != nil {
			log.Fatal(err)
		}
		if delta, ok := event.(memorid.ChatDelta); ok {
			fmt.Print(delta.Text)
		}
	}
	if _, err := user.WaitForAugmentation(ctx, 30*time.Second); err != nil {
		log.Fatal(err)
	}
	hits, err := user.Recall(ctx, memorid.RecallRequest{Query: "coding preferences", Limit: 5})
	if err != nil {
		log.Fatal(err)
	}
	for _, hit := range hits {
		fmt.Println(hit.Score, hit.Content())
	}
}

// A session keeps the conversation: memorid prepends its history, so each
// chat sends only the new message.
func ExampleEntity_WithSession() {
	ctx := context.Background()
	client, _ := memorid.New("localhost:50051")
	user := client.Entity("user_123")

	first, err := user.Chat(ctx, memorid.ChatRequest{Model: "openai/gpt-4o-mini", Messages: []memorid.Message{memorid.UserMessage("Hi, I'm Ada.")}}).Collect()
	if err != nil {
		log.Fatal(err)
	}
	user = user.WithSession(first.SessionID)
	second, err := user.Chat(ctx, memorid.ChatRequest{Model: "openai/gpt-4o-mini", Messages: []memorid.Message{memorid.UserMessage("What's my name?")}}).Collect()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(second.Text)
}

func ExampleError() {
	ctx := context.Background()
	client, _ := memorid.New("localhost:50051", memorid.WithRetry(memorid.RetryPolicy{MaxAttempts: 3}))
	_, err := client.Entity("user_123").Chat(ctx, memorid.ChatRequest{Model: "openai/gpt-4o-mini"}).Collect()

	var e *memorid.Error
	switch {
	case errors.As(err, &e) && e.Reason == memorid.ReasonUpstreamRateLimited:
		fmt.Println("rate-limited; retry in", e.RetryDelay)
	case errors.Is(err, memorid.ErrInvalidArgument):
		for _, v := range e.Violations {
			fmt.Println(v.Field, v.Description) // messages at least one message is required
		}
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Println("too slow")
	}
}

// Start waits for the turn to start: a failure before the first token can
// still become a clean HTTP status (see examples/sse).
func ExampleChatStream_Start() {
	ctx := context.Background()
	client, _ := memorid.New("localhost:50051")
	stream := client.Entity("user_123").Chat(ctx, memorid.ChatRequest{
		Model:    "openai/gpt-4o-mini",
		Messages: []memorid.Message{memorid.UserMessage("hello")},
	})
	defer stream.Close()
	started, err := stream.Start()
	if err != nil {
		log.Println("answer with an error status:", err)
		return
	}
	fmt.Println("streaming turn", started.TurnID)
	for text, err := range stream.TextDeltas() {
		if err != nil {
			log.Println("the stream broke off:", err)
			return
		}
		fmt.Print(text)
	}
}
