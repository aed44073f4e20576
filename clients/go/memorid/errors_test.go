package memorid_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func asError(t *testing.T, err error) *memorid.Error {
	t.Helper()
	var e *memorid.Error
	if !errors.As(err, &e) {
		t.Fatalf("not a *memorid.Error: %T %v", err, err)
	}
	return e
}

func TestInvalidArgumentNamesTheField(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID())

	_, err := user.Chat(ctx, memorid.ChatRequest{Model: "openai/gpt-4o-mini"}).Collect()
	e := asError(t, err)
	if e.Code != codes.InvalidArgument || e.Reason != memorid.ReasonInvalidArgument || e.Domain != "memorid" {
		t.Fatalf("empty chat: %#v", e)
	}
	if len(e.Violations) != 1 || e.Violations[0].Field != "messages" || e.Violations[0].Description == "" {
		t.Fatalf("violations: %#v", e.Violations)
	}
	if !errors.Is(err, memorid.ErrInvalidArgument) || errors.Is(err, memorid.ErrNotFound) || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("kind of %v", err)
	}

	// A message without a role, found by the server.
	_, err = user.Attribute(ctx, memorid.Turn{Messages: []memorid.Message{memorid.UserMessage("x"), {Content: "y"}}})
	if e := asError(t, err); len(e.Violations) == 0 || e.Violations[0].Field != "messages[1].role" {
		t.Fatalf("no role: %#v", e)
	}

	// An entity id over 128 bytes.
	_, err = client.Entity(strings.Repeat("x", 200)).Recall(ctx, memorid.RecallRequest{Query: "anything"})
	if e := asError(t, err); len(e.Violations) == 0 || e.Violations[0].Field != "attribution.entity_id" || !strings.Contains(e.Violations[0].Description, "128") {
		t.Fatalf("long entity id: %#v", e)
	}

	// A bad id.
	err = user.DeleteFact(ctx, "not-a-uuid")
	if e := asError(t, err); len(e.Violations) == 0 || e.Violations[0].Field != "fact_id" {
		t.Fatalf("bad fact id: %#v", e)
	}
}

func TestUpstreamRateLimitCarriesTheRetryDelay(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Reject: &testenv.Reject{Status: 429, Type: "requests", Headers: map[string]string{"retry-after": "7"}}})
	ctx := testContext(t, 30*time.Second)

	stream := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")})
	_, err := stream.Start()
	e := asError(t, err)
	if e.Code != codes.ResourceExhausted || e.Reason != memorid.ReasonUpstreamRateLimited || e.Domain != "memorid" {
		t.Fatalf("error: %#v", e)
	}
	if !e.Retryable || e.RetryDelay != 7*time.Second {
		t.Fatalf("retry info: retryable=%v delay=%v", e.Retryable, e.RetryDelay)
	}
	if !errors.Is(err, memorid.ErrQuotaExceeded) {
		t.Fatalf("errors.Is(ErrQuotaExceeded) is false for %v", err)
	}
	if !strings.Contains(err.Error(), "UPSTREAM_RATE_LIMITED") {
		t.Fatalf("Error(): %s", err)
	}
	if stream.Result().Text != "" {
		t.Fatal("text before the first token")
	}
}

func TestUpstreamFailuresBeforeTheFirstToken(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 30*time.Second)
	for _, tc := range []struct {
		status int
		code   codes.Code
		kind   error
		reason string
	}{
		{500, codes.Unavailable, memorid.ErrUnavailable, memorid.ReasonUpstreamUnavailable},
		{401, codes.FailedPrecondition, memorid.ErrFailedPrecondition, memorid.ReasonUpstreamUnauthenticated},
		{404, codes.NotFound, memorid.ErrNotFound, memorid.ReasonUpstreamNotFound},
		{400, codes.InvalidArgument, memorid.ErrInvalidArgument, memorid.ReasonUpstreamRejected},
		{504, codes.DeadlineExceeded, memorid.ErrDeadlineExceeded, memorid.ReasonDeadlineExceeded},
	} {
		model := newModel()
		upstream.Script(model, testenv.Script{Reject: &testenv.Reject{Status: tc.status, Type: "server_error"}})
		_, err := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Collect()
		e := asError(t, err)
		if e.Code != tc.code || e.Reason != tc.reason || !errors.Is(err, tc.kind) {
			t.Errorf("HTTP %d: %#v", tc.status, e)
		}
	}
}

func TestUnauthenticated(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	wrong := newClient(t, memorid.WithAPIKey("wrong-key"))
	_, err := wrong.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if e := asError(t, err); e.Code != codes.Unauthenticated || e.Reason != memorid.ReasonUnauthenticated || !errors.Is(err, memorid.ErrUnauthenticated) {
		t.Fatalf("wrong key: %#v", e)
	}
	anonymous, err := memorid.New(server.Target)
	if err != nil {
		t.Fatal(err)
	}
	defer anonymous.Close()
	_, err = anonymous.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/gpt-4o-mini", Messages: hello("hi")}).Collect()
	if !errors.Is(err, memorid.ErrUnauthenticated) {
		t.Fatalf("no key: %v", err)
	}
}

func TestNotFound(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID())
	_, err := user.GetSession(ctx, "no-such-session")
	if e := asError(t, err); e.Reason != memorid.ReasonNotFound || !errors.Is(err, memorid.ErrNotFound) {
		t.Fatalf("session: %#v", e)
	}
	if err := user.DeleteFact(ctx, "0b3c5e1e-8f37-4d8e-9b7a-3c1f2a9d4e5f"); !errors.Is(err, memorid.ErrNotFound) {
		t.Fatalf("fact: %v", err)
	}
	// A handle without a session cannot ask for "its" session.
	if _, err := user.GetSession(ctx, ""); !errors.Is(err, memorid.ErrInvalidArgument) {
		t.Fatalf("no session: %v", err)
	}
}

func TestAnAPIKeyWithoutTLSIsWarnedAbout(t *testing.T) {
	var log capturedLog
	c, err := memorid.New(server.Target, memorid.WithAPIKey(testenv.APIKey), memorid.WithLogger(log.logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(log.String(), "without TLS") || !strings.Contains(log.String(), server.Target) {
		t.Fatalf("log: %q", log.String())
	}
	var quiet capturedLog
	plain, err := memorid.New(server.Target, memorid.WithLogger(quiet.logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if quiet.String() != "" {
		t.Fatalf("a client without a key logged %q", quiet.String())
	}
}

func TestAnUnreachableServerIsUnavailable(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := memorid.New("127.0.0.1:"+strconv.Itoa(port), memorid.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t, 10*time.Second)
	_, err = c.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if e := asError(t, err); e.Code != codes.Unavailable || e.Reason != "" || !errors.Is(err, memorid.ErrUnavailable) {
		t.Fatalf("unreachable: %#v", e)
	}
	if ok, err := c.Health(ctx); ok || err == nil {
		t.Fatalf("Health of nothing: %v %v", ok, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := c.WaitUntilReady(short); !errors.Is(err, memorid.ErrDeadlineExceeded) {
		t.Fatalf("WaitUntilReady: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string][]memorid.Option{
		"negative timeout": {memorid.WithTimeout(-time.Second)},
		"bad keepalive":    {memorid.WithKeepalive(0, time.Second)},
		"missing CA file":  {memorid.WithCAFile("/nonexistent/ca.pem")},
		"zero attempts":    {memorid.WithRetry(memorid.RetryPolicy{MaxAttempts: -1})},
	} {
		if c, err := memorid.New("localhost:50051", opts...); err == nil {
			c.Close()
			t.Errorf("%s: no error", name)
		}
	}
	for _, target := range []string{"", "ftp://host", "https://"} {
		if c, err := memorid.New(target); err == nil {
			c.Close()
			t.Errorf("target %q: no error", target)
		}
	}
}
