package memorid

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRetryDelayGrowsIsCappedAndJittered(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	unavailable := &Error{Code: codes.Unavailable}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		low, ok := p.delay(attempt, unavailable, 0)
		high, _ := p.delay(attempt, unavailable, 0.999999)
		if !ok || low != want/2 || high < want*99/100 || high > want {
			t.Errorf("attempt %d: [%v, %v], want [%v, %v]", attempt, low, high, want/2, want)
		}
	}
	if _, ok := p.delay(10, unavailable, 0.5); ok {
		t.Error("retried past MaxAttempts")
	}
	if _, ok := p.delay(1, &Error{Code: codes.InvalidArgument}, 0.5); ok {
		t.Error("retried INVALID_ARGUMENT")
	}
}

func TestRetryDelayHonoursTheServersDelay(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second}.withDefaults()
	limited := &Error{Code: codes.ResourceExhausted, Retryable: true, RetryDelay: 2 * time.Second}
	if d, ok := p.delay(1, limited, 0.5); !ok || d != 2*time.Second {
		t.Fatalf("with RetryInfo 2 s: %v %v", d, ok)
	}
	tooLong := &Error{Code: codes.ResourceExhausted, Retryable: true, RetryDelay: 10 * time.Second}
	if _, ok := p.delay(1, tooLong, 0.5); ok {
		t.Fatal("waited for a delay over MaxRetryDelay")
	}
}

func TestRetryingStopsOnCancellationAndBeforeTheDeadline(t *testing.T) {
	c := &Client{retry: &RetryPolicy{MaxAttempts: 100, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Multiplier: 1, MaxRetryDelay: time.Minute, RetryOn: []codes.Code{codes.Unavailable}}}
	attempts := 0
	fail := func(context.Context) error { attempts++; return &Error{Code: codes.Unavailable, Message: "down"} }

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(120*time.Millisecond, cancel)
	begun := time.Now()
	err := c.retrying(ctx, fail)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) || time.Since(begun) > time.Second {
		t.Fatalf("after cancel: %v (%v)", err, time.Since(begun))
	}
	if attempts < 2 || attempts > 5 {
		t.Fatalf("%d attempts in 120 ms", attempts)
	}

	// A deadline that the next wait would pass ends the retries at once,
	// with the last real error.
	attempts = 0
	// Every wait is at least 25 ms (the jitter keeps the upper half only).
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = c.retrying(ctx, fail)
	if !errors.Is(err, ErrUnavailable) || attempts != 1 {
		t.Fatalf("before the deadline: %v after %d attempts", err, attempts)
	}

	// Success after failures; a permanent error is not retried.
	attempts = 0
	err = c.retrying(context.Background(), func(context.Context) error {
		attempts++
		if attempts < 3 {
			return &Error{Code: codes.Unavailable}
		}
		return nil
	})
	if err != nil || attempts != 3 {
		t.Fatalf("recovering: %v after %d", err, attempts)
	}
	attempts = 0
	err = c.retrying(context.Background(), func(context.Context) error {
		attempts++
		return permanent{&Error{Code: codes.Unavailable}}
	})
	if !errors.Is(err, ErrUnavailable) || attempts != 1 {
		t.Fatalf("permanent: %v after %d", err, attempts)
	}
	// Without a policy: once.
	attempts = 0
	_ = (&Client{}).retrying(context.Background(), fail)
	if attempts != 1 {
		t.Fatalf("no policy: %d attempts", attempts)
	}
}

// tonic's CANCELLED "Timeout expired" (a grpc-timeout that passed before
// the response headers) is reported as the DEADLINE_EXCEEDED it is.
func TestTimeoutExpiredIsDeadlineExceeded(t *testing.T) {
	err := toError(status.Error(codes.Canceled, "Timeout expired"))
	if !errors.Is(err, ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v (%v)", err, status.Code(err))
	}
	if err := toError(status.Error(codes.Canceled, "context canceled")); !errors.Is(err, ErrCanceled) {
		t.Fatalf("a real cancel: %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]struct {
		address string
		tls     bool
	}{
		"localhost:50051":               {"localhost:50051", false},
		"http://memorid:50051":          {"memorid:50051", false},
		"https://memorid.example.com":   {"memorid.example.com:443", true},
		"https://memorid.example.com/":  {"memorid.example.com:443", true},
		"http://[::1]":                  {"[::1]:80", false},
		"grpcs://memorid:8443":          {"memorid:8443", true},
		"dns:///memorid.internal:50051": {"dns:///memorid.internal:50051", false},
	} {
		address, tls, err := parseTarget(in)
		if err != nil || address != want.address || tls != want.tls {
			t.Errorf("%q: %q %v %v", in, address, tls, err)
		}
	}
}
