// Package memorid is the Go client of memorid, the gRPC memory service for
// LLM applications: it sends chat turns through memorid (which remembers
// what users said, recalls it when it matters and streams the model's
// answer back), and reads, writes and forgets memories.
//
//	client, err := memorid.New("localhost:50051", memorid.WithAPIKey(key))
//	if err != nil { ... }
//	defer client.Close()
//
//	user := client.Entity("user_123", memorid.Process("support-bot"))
//	stream := user.Chat(ctx, memorid.ChatRequest{
//		Model:    "openai/gpt-4o-mini",
//		Messages: []memorid.Message{memorid.UserMessage("I prefer async Python.")},
//	})
//	for event, err := range stream.Events() {
//		if err != nil { ... }
//		if d, ok := event.(memorid.ChatDelta); ok {
//			fmt.Print(d.Text)
//		}
//	}
//	user.WaitForAugmentation(ctx, 0)
//	hits, err := user.Recall(ctx, memorid.RecallRequest{Query: "coding preferences"})
//
// Every call takes a context.Context: its deadline is the call's (or the
// client's default, WithTimeout), and cancelling it cancels the call. Every
// failure is an *Error carrying the status' ErrorInfo reason, field
// violations and retry delay (errors.As), with Err* sentinels for errors.Is.
// Retries are opt-in (WithRetry) and never replay a stream that yielded.
//
// The generated protobuf code lives in an internal package: no protobuf
// type appears in this package's API.
package memorid
