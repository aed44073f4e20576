package memorid

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
)

// DefaultTimeout is the deadline of every call but Chat when neither the
// context nor WithTimeout gives one.
const DefaultTimeout = 30 * time.Second

// DefaultWait is how long WaitForAugmentation waits when asked for 0.
const DefaultWait = 30 * time.Second

// DefaultMaxMessageSize caps a message in either direction (64 MiB).
const DefaultMaxMessageSize = 64 << 20

// waitMargin is what a WaitForAugmentation call's deadline leaves beyond
// the wait it asks the server for, so the server answers "not completed"
// instead of the call failing with DEADLINE_EXCEEDED.
const waitMargin = 10 * time.Second

// An Option configures a Client; pass them to New.
type Option func(*settings) error

type settings struct {
	target         string
	tls            bool
	tlsConfig      *tls.Config
	caFile         string
	certFile       string
	keyFile        string
	serverName     string
	apiKey         string
	timeout        time.Duration
	chatTimeout    time.Duration
	keepalive      time.Duration
	keepTimeout    time.Duration
	retry          *RetryPolicy
	maxMessageSize int
	userAgent      string
	logger         *slog.Logger
	dialOptions    []grpc.DialOption
}

// WithAPIKey sends key as `authorization: Bearer <key>` on every call. A
// key sent without TLS is logged as a warning once, when the client is made
// (anyone on the path can read it).
func WithAPIKey(key string) Option {
	return func(s *settings) error {
		s.apiKey = key
		return nil
	}
}

// WithTLS turns TLS on, trusting the operating system's roots. An https://
// target turns it on too.
func WithTLS() Option {
	return func(s *settings) error {
		s.tls = true
		return nil
	}
}

// WithCAFile turns TLS on and trusts the PEM certificates in path instead
// of the system's roots (a private CA).
func WithCAFile(path string) Option {
	return func(s *settings) error {
		s.tls = true
		s.caFile = path
		return nil
	}
}

// WithClientCertificate turns TLS on and presents the PEM certificate chain
// in certFile, with its private key in keyFile, to a server that requires
// client certificates (memorid's server.tls.client_ca_file, mTLS). The files
// are read by New.
func WithClientCertificate(certFile, keyFile string) Option {
	return func(s *settings) error {
		// One without the other is a mistake to report now, not a
		// handshake the server refuses later with a vaguer message.
		if certFile == "" || keyFile == "" {
			return fmt.Errorf("memorid: a client certificate needs both certFile and keyFile (got %q and %q)", certFile, keyFile)
		}
		s.tls = true
		s.certFile, s.keyFile = certFile, keyFile
		return nil
	}
}

// WithTLSConfig turns TLS on with this configuration (custom verification,
// certificates from elsewhere than files). WithCAFile,
// WithClientCertificate and WithServerName still apply on top.
func WithTLSConfig(config *tls.Config) Option {
	return func(s *settings) error {
		s.tls = true
		s.tlsConfig = config.Clone()
		return nil
	}
}

// WithServerName sets the name the server's certificate is checked against
// (by default the target's host).
func WithServerName(name string) Option {
	return func(s *settings) error {
		s.serverName = name
		return nil
	}
}

// WithTimeout sets the default deadline of every call but Chat (default
// DefaultTimeout; 0 means none). It applies only when the call's context
// has no deadline of its own, and covers all attempts of a retried call.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("memorid: negative timeout %v", d)
		}
		s.timeout = d
		return nil
	}
}

// WithChatTimeout sets the default deadline of Chat streams, for the whole
// stream (default none: a chat runs as long as its context).
func WithChatTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("memorid: negative chat timeout %v", d)
		}
		s.chatTimeout = d
		return nil
	}
}

// WithKeepalive sends an HTTP/2 ping after interval without activity and
// closes the connection when no answer comes within timeout, so a dead
// peer (or a NAT that dropped the flow) is noticed; pings are sent with no
// call in flight too. grpc-go sends pings no more often than every 10 s.
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(s *settings) error {
		if interval <= 0 || timeout <= 0 {
			return fmt.Errorf("memorid: keepalive interval and timeout must be positive")
		}
		s.keepalive, s.keepTimeout = interval, timeout
		return nil
	}
}

// WithRetry turns on retries (they are off by default); see RetryPolicy.
func WithRetry(policy RetryPolicy) Option {
	return func(s *settings) error {
		p := policy.withDefaults()
		if err := p.validate(); err != nil {
			return err
		}
		s.retry = &p
		return nil
	}
}

// WithMaxMessageSize caps a message in either direction (default
// DefaultMaxMessageSize).
func WithMaxMessageSize(bytes int) Option {
	return func(s *settings) error {
		if bytes <= 0 {
			return fmt.Errorf("memorid: max message size must be positive")
		}
		s.maxMessageSize = bytes
		return nil
	}
}

// WithUserAgent puts name before grpc-go's own user agent.
func WithUserAgent(name string) Option {
	return func(s *settings) error {
		s.userAgent = name
		return nil
	}
}

// WithLogger sets where the client logs its warnings (default slog.Default()).
func WithLogger(logger *slog.Logger) Option {
	return func(s *settings) error {
		s.logger = logger
		return nil
	}
}

// WithDialOptions passes extra options to grpc.NewClient, after the
// client's own (interceptors, a custom dialer, stats handlers).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(s *settings) error {
		s.dialOptions = append(s.dialOptions, opts...)
		return nil
	}
}

// parseTarget turns "host:port", "http://host[:port]" or
// "https://host[:port]" into a gRPC target and whether the scheme asks for
// TLS. Other gRPC schemes (dns:///, unix:, passthrough:///) pass through.
func parseTarget(target string) (address string, schemeTLS bool, err error) {
	if target == "" {
		return "", false, fmt.Errorf("memorid: empty target")
	}
	scheme, rest, found := strings.Cut(target, "://")
	if !found {
		return target, false, nil
	}
	switch scheme {
	case "http", "grpc":
	case "https", "grpcs":
		schemeTLS = true
	case "dns", "unix", "unix-abstract", "passthrough", "ipv4", "ipv6":
		return target, false, nil
	default:
		return "", false, fmt.Errorf("memorid: unsupported target scheme %q: use host:port, http:// or https://", scheme)
	}
	host := strings.TrimRight(rest, "/")
	if host == "" || strings.Contains(host, "/") {
		return "", false, fmt.Errorf("memorid: bad target %q", target)
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if schemeTLS {
			port = "443"
		}
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return host, schemeTLS, nil
}

// buildTLS builds the TLS configuration: the given one or a fresh one,
// trusting the CA file's certificates or else the system's roots, and
// presenting the client certificate when one is given.
func (s *settings) buildTLS() (*tls.Config, error) {
	config := s.tlsConfig
	if config == nil {
		config = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, fmt.Errorf("memorid: reading the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("memorid: no PEM certificate in %s", s.caFile)
		}
		config.RootCAs = pool
	}
	if s.certFile != "" {
		pair, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			return nil, fmt.Errorf("memorid: loading the client certificate %s and key %s: %w", s.certFile, s.keyFile, err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	if s.serverName != "" {
		config.ServerName = s.serverName
	}
	return config, nil
}
