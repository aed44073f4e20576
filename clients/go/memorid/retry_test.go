package memorid_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
)

// A server that is down when the call starts and up a moment later: with a
// retry policy the call rides it out (UNAVAILABLE, connection refused, is
// retried), without one it fails at once.
func TestRetriesRideOutAServerThatStartsLate(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	target := "127.0.0.1:" + strconv.Itoa(port)
	ctx := testContext(t, 60*time.Second)

	once, err := memorid.New(target, memorid.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	if _, err := once.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{}); !errors.Is(err, memorid.ErrUnavailable) {
		t.Fatalf("without retries: %v", err)
	}

	retrying, err := memorid.New(target, memorid.WithAPIKey(testenv.APIKey), memorid.WithLogger(discardLogger()),
		memorid.WithRetry(memorid.RetryPolicy{MaxAttempts: 40, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer retrying.Close()
	late := make(chan *testenv.Server, 1)
	go func() {
		time.Sleep(700 * time.Millisecond)
		s, err := testenv.StartMemorid(upstream, port)
		if err != nil {
			t.Errorf("starting the late server: %v", err)
		}
		late <- s
	}()
	begun := time.Now()
	page, err := retrying.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if s := <-late; s != nil {
		defer s.Stop()
	}
	if err != nil || len(page.Facts) != 0 {
		t.Fatalf("with retries: %#v %v", page, err)
	}
	if elapsed := time.Since(begun); elapsed < 700*time.Millisecond {
		t.Fatalf("succeeded after %v, before the server started", elapsed)
	}
}

// A chat is never retried by the client, whatever the policy: memorid has
// retried its upstream already (routing.max_attempts = 2 in the test
// config), and that is all the upstream sees.
func TestAChatIsNeverRetried(t *testing.T) {
	client := newClient(t, memorid.WithRetry(memorid.RetryPolicy{MaxAttempts: 5, InitialBackoff: 10 * time.Millisecond}))
	model := newModel()
	upstream.Script(model, testenv.Script{Reject: &testenv.Reject{Status: 503, Type: "server_error"}})
	ctx := testContext(t, 30*time.Second)
	_, err := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Collect()
	var e *memorid.Error
	if !errors.As(err, &e) || e.Reason != memorid.ReasonUpstreamUnavailable || !e.Retryable {
		t.Fatalf("error: %v", err)
	}
	if got := len(upstream.Requests(model)); got != 2 {
		t.Fatalf("the upstream saw %d requests, want memorid's own 2", got)
	}
}
