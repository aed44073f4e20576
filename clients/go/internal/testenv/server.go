package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Keys are the API keys the test server accepts, by namespace.
var Keys = map[string]string{"acme": "test-key-acme", "globex": "test-key-globex"}

// APIKey is the key of the "acme" namespace.
const APIKey = "test-key-acme"

// DefaultBinary is where `cargo build --release` with
// CARGO_TARGET_DIR=/var/tmp/memorid-target puts memorid.
const DefaultBinary = "/var/tmp/memorid-target/release/memorid"

// Binary is $MEMORID_BIN or DefaultBinary.
func Binary() string {
	if bin := os.Getenv("MEMORID_BIN"); bin != "" {
		return bin
	}
	return DefaultBinary
}

// Server is a running memorid.
type Server struct {
	Target string
	// HealthTarget is the plaintext grpc.health.v1 port of a server with
	// TLS (empty without).
	HealthTarget string
	Dir          string
	cmd          *exec.Cmd
	exited       chan struct{}
}

// ServerTLS has memorid serve TLS itself (server.tls): PEM files, and a CA
// whose client certificates it then requires (mTLS) when ClientCAFile is
// set.
type ServerTLS struct {
	CertFile, KeyFile string
	ClientCAFile      string
}

// FreePort is a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func config(upstream *Upstream, storageURL string, port int, tls *ServerTLS, healthPort int) string {
	var keys []string
	for ns, key := range Keys {
		keys = append(keys, fmt.Sprintf(`{ namespace = "%s", key = "%s" }`, ns, key))
	}
	health, serverTLS := "", ""
	if tls != nil {
		health = fmt.Sprintf("health_listen = \"127.0.0.1:%d\"", healthPort)
		// A table of [server], so it goes last: every key after it would be
		// the table's.
		serverTLS = fmt.Sprintf("\n[server.tls]\ncert_file = %q\nkey_file = %q\nreload_secs = 1\n", tls.CertFile, tls.KeyFile)
		if tls.ClientCAFile != "" {
			serverTLS += fmt.Sprintf("client_ca_file = %q\n", tls.ClientCAFile)
		}
	}
	return fmt.Sprintf(`
[server]
listen = "127.0.0.1:%d"
shutdown_grace_secs = 1
%s

[storage]
url = "%s"

[auth]
keys = [%s]

[routing]
max_attempts = 2
initial_backoff_ms = 10
max_backoff_ms = 50
max_retry_after_secs = 1

[augmentation]
extraction_model = "openai/extractor"
poll_interval_ms = 100
retry_backoff_ms = 100

[embeddings]
backend = "openai"
base_url = "%s"
model = "fake-bow-256"

[log]
filter = "warn"

[providers.openai]
kind = "openai"
base_url = "%s"
api_key_env = "FAKE_UPSTREAM_KEY"
%s`, port, health, storageURL, strings.Join(keys, ", "), upstream.BaseURL(), upstream.BaseURL(), serverTLS)
}

// StartMemorid starts the real memorid binary on a free port, on SQLite in
// a fresh folder, against upstream, and waits until it is SERVING. A
// missing binary is an error naming what to build, never a skip. port 0
// picks a free one.
func StartMemorid(upstream *Upstream, port int) (*Server, error) {
	return start(upstream, port, nil)
}

// StartMemoridTLS is StartMemorid with memorid serving TLS on its port
// (and mTLS with tls.ClientCAFile); readiness is then probed on a second,
// plaintext health port, since the main one needs certificates.
func StartMemoridTLS(upstream *Upstream, tls ServerTLS) (*Server, error) {
	return start(upstream, 0, &tls)
}

func start(upstream *Upstream, port int, tls *ServerTLS) (*Server, error) {
	bin := Binary()
	if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("no memorid binary at %s: build it with `cargo build --release` "+
			"(CARGO_TARGET_DIR=/var/tmp/memorid-target) or point MEMORID_BIN at one", bin)
	}
	dir, err := os.MkdirTemp("", "memorid-go.")
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	healthPort := 0
	if tls != nil {
		if healthPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	configPath := filepath.Join(dir, "memorid.toml")
	storage := "sqlite://" + filepath.Join(dir, "memorid.db")
	if err := os.WriteFile(configPath, []byte(config(upstream, storage, port, tls, healthPort)), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "memorid.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, "--config", configPath, "serve")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = []string{"FAKE_UPSTREAM_KEY=sk-fake-upstream-key", "PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	// Its own process group, so that a test binary killed mid-run does not
	// leave memorid's children behind, and Stop can end it whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Target: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, cmd: cmd, exited: make(chan struct{})}
	if tls != nil {
		s.HealthTarget = fmt.Sprintf("127.0.0.1:%d", healthPort)
	}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	if err := s.waitServing(60 * time.Second); err != nil {
		logs := s.Logs()
		s.Stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(logs, 4000))
	}
	return s, nil
}

func (s *Server) waitServing(limit time.Duration) error {
	probe := s.Target
	if s.HealthTarget != "" {
		probe = s.HealthTarget
	}
	conn, err := grpc.NewClient(probe, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("memorid exited while starting (%v)", s.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("memorid was not SERVING within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Logs is what memorid printed so far.
func (s *Server) Logs() string {
	raw, _ := os.ReadFile(filepath.Join(s.Dir, "memorid.log"))
	return string(raw)
}

// Stop ends memorid (SIGTERM, then SIGKILL after 10 s) and removes its folder.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	}
	os.RemoveAll(s.Dir)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Env is a fake upstream and a memorid in front of it.
type Env struct {
	Upstream *Upstream
	Server   *Server
}

// Start starts both.
func Start() (*Env, error) {
	upstream, err := StartUpstream()
	if err != nil {
		return nil, fmt.Errorf("fake upstream: %w", err)
	}
	server, err := StartMemorid(upstream, 0)
	if err != nil {
		upstream.Close()
		return nil, fmt.Errorf("memorid: %w", err)
	}
	return &Env{Upstream: upstream, Server: server}, nil
}

// Close stops both.
func (e *Env) Close() {
	e.Server.Stop()
	e.Upstream.Close()
}
