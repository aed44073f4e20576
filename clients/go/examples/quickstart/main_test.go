package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
)

func TestQuickstartPrintsTheAnswerAndTheMemoryMadeOfIt(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	env.Upstream.Script("gpt-quickstart", testenv.Script{Pieces: []string{"Noted", ": async", " it is."}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out strings.Builder
	if err := run(ctx, &out, env.Server.Target, testenv.APIKey, "openai/gpt-quickstart"); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != "Noted: async it is." || !regexp.MustCompile(`^0\.\d\d prefers async Python$`).MatchString(lines[1]) {
		t.Fatalf("output:\n%s", out.String())
	}
}
