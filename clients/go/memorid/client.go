package memorid

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	pb "github.com/memorid/memorid/clients/go/internal/gen/memori/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
)

// Client is a connection to memorid. It holds one gRPC channel that every
// call shares, is safe for concurrent use, and is meant to be made once per
// process; Close it when done.
type Client struct {
	conn        *grpc.ClientConn
	chat        pb.ChatServiceClient
	memory      pb.MemoryServiceClient
	health      healthpb.HealthClient
	target      string
	secure      bool
	timeout     time.Duration
	chatTimeout time.Duration
	retry       *RetryPolicy
}

// New makes a client for target: "host:port" (plaintext unless a TLS
// option is given), "http://host[:port]" or "https://host[:port]" (TLS).
// It does not connect yet: the first call does, and a server that is down
// surfaces as an ErrUnavailable from that call.
func New(target string, opts ...Option) (*Client, error) {
	s := settings{timeout: DefaultTimeout, maxMessageSize: DefaultMaxMessageSize, logger: slog.Default()}
	for _, opt := range opts {
		if err := opt(&s); err != nil {
			return nil, err
		}
	}
	address, schemeTLS, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	s.target, s.tls = address, s.tls || schemeTLS

	var transport credentials.TransportCredentials
	if s.tls {
		config, err := s.buildTLS()
		if err != nil {
			return nil, err
		}
		transport = credentials.NewTLS(config)
	} else {
		transport = insecure.NewCredentials()
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(s.maxMessageSize),
			grpc.MaxCallSendMsgSize(s.maxMessageSize),
		),
		grpc.WithUserAgent(userAgent(s.userAgent)),
	}
	if s.apiKey != "" {
		if !s.tls && s.logger != nil {
			s.logger.Warn("memorid: sending an API key without TLS; anyone on the path can read it "+
				"(use an https:// target or WithTLS outside a trusted network)", "target", s.target)
		}
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{"Bearer " + s.apiKey}))
	}
	if s.keepalive > 0 {
		dial = append(dial, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                s.keepalive,
			Timeout:             s.keepTimeout,
			PermitWithoutStream: true,
		}))
	}
	dial = append(dial, s.dialOptions...)
	conn, err := grpc.NewClient(s.target, dial...)
	if err != nil {
		return nil, fmt.Errorf("memorid: %w", err)
	}
	return &Client{
		conn:        conn,
		chat:        pb.NewChatServiceClient(conn),
		memory:      pb.NewMemoryServiceClient(conn),
		health:      healthpb.NewHealthClient(conn),
		target:      s.target,
		secure:      s.tls,
		timeout:     s.timeout,
		chatTimeout: s.chatTimeout,
		retry:       s.retry,
	}, nil
}

// Version is this client's version, sent in its user agent.
const Version = "0.1.0"

func userAgent(prefix string) string {
	ua := "memorid-go/" + Version
	if prefix != "" {
		ua = prefix + " " + ua
	}
	return ua
}

// bearer is the call credential that adds the API key to every call.
type bearer struct{ header string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

// RequireTransportSecurity is false so that a key can be used on a trusted
// plaintext network; New warns when it is.
func (b bearer) RequireTransportSecurity() bool { return false }

// Target is the address the client connects to.
func (c *Client) Target() string { return c.target }

// Close closes the channel; calls in flight fail with ErrCanceled.
func (c *Client) Close() error { return c.conn.Close() }

// callContext gives ctx the default deadline d when it has none.
func callContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, has := ctx.Deadline(); has || d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// unary runs one unary call under a default deadline (when ctx has none)
// and the retry policy, turning failures into *Error.
func unary[Req, Resp any](ctx context.Context, c *Client, timeout time.Duration, call func(context.Context, *Req, ...grpc.CallOption) (*Resp, error), req *Req) (*Resp, error) {
	ctx, cancel := callContext(ctx, timeout)
	defer cancel()
	var resp *Resp
	err := c.retrying(ctx, func(ctx context.Context) error {
		r, err := call(ctx, req)
		if err != nil {
			return toError(err)
		}
		resp = r
		return nil
	})
	return resp, err
}

// EntityOption narrows an Entity handle to a process or a session.
type EntityOption func(*Attribution)

// Process sets the process (the agent or app talking) of an Entity handle.
func Process(processID string) EntityOption {
	return func(a *Attribution) { a.ProcessID = processID }
}

// Session sets the session (conversation thread) of an Entity handle.
func Session(sessionID string) EntityOption {
	return func(a *Attribution) { a.SessionID = sessionID }
}

// Entity is the handle through which memory is used: the client bound to
// one entity (usually an end user), optionally a process and a session.
//
//	user := client.Entity("user_123", memorid.Process("support-bot"))
//
// It is a small value, cheap to make per request and safe to share.
func (c *Client) Entity(entityID string, opts ...EntityOption) Entity {
	a := Attribution{EntityID: entityID}
	for _, opt := range opts {
		opt(&a)
	}
	return Entity{c: c, who: a}
}

// Health reports whether memorid is SERVING (storage migrated, embedder
// loaded). An unreachable server is (false, err).
func (c *Client) Health(ctx context.Context) (bool, error) {
	ctx, cancel := callContext(ctx, c.timeout)
	defer cancel()
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return false, toError(err)
	}
	return resp.GetStatus() == healthpb.HealthCheckResponse_SERVING, nil
}

// WaitUntilReady polls Health until memorid is SERVING or ctx is done.
func (c *Client) WaitUntilReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, _ := c.Health(attempt)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return toError(fmt.Errorf("memorid at %s was not SERVING: %w", c.target, ctx.Err()))
		case <-tick.C:
		}
	}
}
