package memorid_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
)

// The fake upstream and the real memorid, shared by the package's tests;
// each test keeps to its own entity and upstream model name.
var (
	upstream *testenv.Upstream
	server   *testenv.Server
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	upstream, err = testenv.StartUpstream()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake upstream:", err)
		return 1
	}
	defer upstream.Close()
	server, err = testenv.StartMemorid(upstream, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memorid:", err)
		return 1
	}
	defer server.Stop()
	code := m.Run()
	if code != 0 {
		logs := server.Logs()
		if len(logs) > 6000 {
			logs = logs[len(logs)-6000:]
		}
		fmt.Fprintf(os.Stderr, "--- memorid log (tail) ---\n%s\n", logs)
	}
	return code
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newEntityID is a fresh entity id, so tests sharing the server never see
// each other's memories.
func newEntityID() string { return "user-" + randomHex(6) }

// newModel is a fresh upstream model name: the fake's script for it is the
// test's own. The memorid model name is "openai/" + it.
func newModel() string { return "gpt-test-" + randomHex(4) }

// newClient is a client of the shared memorid with the test key.
func newClient(t testing.TB, opts ...memorid.Option) *memorid.Client {
	t.Helper()
	opts = append([]memorid.Option{memorid.WithAPIKey(testenv.APIKey), memorid.WithLogger(discardLogger())}, opts...)
	c, err := memorid.New(server.Target, opts...)
	if err != nil {
		t.Fatalf("memorid.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func hello(text string) []memorid.Message { return []memorid.Message{memorid.UserMessage(text)} }
