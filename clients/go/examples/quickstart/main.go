// Command quickstart is the README's example: one chat streamed to the
// terminal, then the memory memorid made of it.
//
//	MEMORID_TARGET=localhost:50051 MEMORID_API_KEY=... MEMORID_MODEL=openai/gpt-4o-mini \
//	  go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/memorid/memorid/clients/go/memorid"
)

func run(ctx context.Context, out io.Writer, target, apiKey, model string) error {
	client, err := memorid.New(target, memorid.WithAPIKey(apiKey))
	if err != nil {
		return err
	}
	defer client.Close()
	user := client.Entity("user_123", memorid.Process("my-agent"))

	stream := user.Chat(ctx, memorid.ChatRequest{
		Model:    model,
		Messages: []memorid.Message{memorid.UserMessage("I prefer async Python.")},
	})
	for event, err := range stream.Events() {
		if err != nil {
			return err
		}
		if delta, ok := event.(memorid.ChatDelta); ok {
			fmt.Fprint(out, delta.Text) // each delta as memorid mirrors it
		}
	}
	fmt.Fprintln(out)

	// Memories are written in the background; wait for them, then recall.
	if _, err := user.WaitForAugmentation(ctx, 30*time.Second); err != nil {
		return err
	}
	hits, err := user.Recall(ctx, memorid.RecallRequest{Query: "coding preferences", Limit: 5})
	if err != nil {
		return err
	}
	for _, hit := range hits {
		fmt.Fprintf(out, "%.2f %s\n", hit.Score, hit.Content()) // 0.34 prefers async Python (the score depends on the embedding model)
	}
	return nil
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, os.Stdout, getenv("MEMORID_TARGET", "localhost:50051"), os.Getenv("MEMORID_API_KEY"),
		getenv("MEMORID_MODEL", "openai/gpt-4o-mini"))
	if err != nil {
		log.Fatal(err)
	}
}
