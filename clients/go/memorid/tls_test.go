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

// testPKI makes the test's certificates (openssl, well under a second).
func testPKI(t *testing.T) *testenv.PKI {
	t.Helper()
	p, err := testenv.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startTLSServer is a memorid of the test's own serving TLS with the test
// CA's server certificate.
func startTLSServer(t *testing.T, serverTLS testenv.ServerTLS) *testenv.Server {
	t.Helper()
	s, err := testenv.StartMemoridTLS(upstream, serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("memorid log (tail):\n%s", tail(s.Logs(), 4000))
		}
		s.Stop()
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestTLSWithAPrivateCA(t *testing.T) {
	p := testPKI(t)
	tlsServer := startTLSServer(t, testenv.ServerTLS{CertFile: p.ServerCert, KeyFile: p.ServerKey})
	ctx := testContext(t, 30*time.Second)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"over ", "TLS"}})

	var log capturedLog
	client, err := memorid.New("https://"+tlsServer.Target, memorid.WithCAFile(p.CA),
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
	pem, _ := os.ReadFile(p.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	named, err := memorid.New(tlsServer.Target, memorid.WithTLSConfig(&tls.Config{RootCAs: pool}),
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
	untrusted, err := memorid.New(tlsServer.Target, memorid.WithTLS(), memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	_, err = untrusted.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if !errors.Is(err, memorid.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}

	// Plaintext on the TLS port: memorid closes the connection, so the call
	// fails instead of hanging until its deadline.
	plain, err := memorid.New(tlsServer.Target, memorid.WithAPIKey(testenv.APIKey), memorid.WithLogger(discardLogger()),
		memorid.WithTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{}); !errors.Is(err, memorid.ErrUnavailable) {
		t.Fatalf("plaintext to the TLS port: %v", err)
	}
}

func TestClientCertificateWhereMemoridRequiresOne(t *testing.T) {
	p := testPKI(t)
	mtls := startTLSServer(t, testenv.ServerTLS{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CA})
	ctx := testContext(t, 30*time.Second)
	target := "https://" + mtls.Target

	client, err := memorid.New(target, memorid.WithCAFile(p.CA), memorid.WithClientCertificate(p.ClientCert, p.ClientKey),
		memorid.WithAPIKey(testenv.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	page, err := client.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
	if err != nil || len(page.Facts) != 0 {
		t.Fatalf("with the client certificate: %#v %v", page, err)
	}

	// Without a certificate, or with one another CA signed, memorid ends
	// the handshake and the call fails.
	for name, opts := range map[string][]memorid.Option{
		"none":     nil,
		"stranger": {memorid.WithClientCertificate(p.StrangerCert, p.StrangerKey)},
	} {
		opts = append(opts, memorid.WithCAFile(p.CA), memorid.WithAPIKey(testenv.APIKey), memorid.WithTimeout(3*time.Second))
		refused, err := memorid.New(target, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = refused.Entity(newEntityID()).ListFacts(ctx, memorid.ListFactsRequest{})
		refused.Close()
		if !errors.Is(err, memorid.ErrUnavailable) {
			t.Fatalf("client certificate %s: %v", name, err)
		}
	}
}

func TestClientCertificateNeedsBothFiles(t *testing.T) {
	for _, pair := range [][2]string{{"client.pem", ""}, {"", "client.key"}} {
		_, err := memorid.New("https://127.0.0.1:1", memorid.WithClientCertificate(pair[0], pair[1]))
		if err == nil || !strings.Contains(err.Error(), "certFile and keyFile") {
			t.Fatalf("WithClientCertificate(%q, %q): %v", pair[0], pair[1], err)
		}
	}
	// A file that is not there is New's error, not the first call's.
	dir := t.TempDir()
	_, err := memorid.New("https://127.0.0.1:1", memorid.WithClientCertificate(dir+"/missing.pem", dir+"/missing.key"))
	if err == nil || !strings.Contains(err.Error(), "client certificate") {
		t.Fatalf("missing files: %v", err)
	}
}
