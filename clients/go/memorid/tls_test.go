package memorid_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
)

func TestTLSWithAPrivateCA(t *testing.T) {
	proxy, err := testenv.StartTLSProxy(server.Target)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	ctx := testContext(t, 30*time.Second)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"over ", "TLS"}})

	var log capturedLog
	client, err := memorid.New("https://"+proxy.Addr, memorid.WithCAFile(proxy.CAFile),
		memorid.WithAPIKey(testenv.APIKey), memorid.WithLogger(log.logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if log.String() != "" {
		t.Fatalf("a key over TLS was warned about: %q", log.String())
	}
	result, err := client.Entity(newEntityID()).Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("hi")}).Collect()
	if err != nil || result.Text != "over TLS" {
		t.Fatalf("chat over TLS: %#v %v", result, err)
	}

	// Another name on the certificate, checked with WithServerName; a
	// tls.Config of the caller's own with the CA in its pool.
	pem, _ := os.ReadFile(proxy.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	named, err := memorid.New(proxy.Addr, memorid.WithTLSConfig(&tls.Config{RootCAs: pool}),
		memorid.WithServerName("memorid.test"), memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	if ok, err := named.Health(ctx); !ok || err != nil {
		t.Fatalf("health via WithTLSConfig + WithServerName: %v %v", ok, err)
	}

	// The system's roots do not trust the throwaway CA: the handshake fails
	// and the call says so.
	untrusted, err := memorid.New(proxy.Addr, memorid.WithTLS(), memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	_, err = untrusted.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if !errors.Is(err, memorid.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
