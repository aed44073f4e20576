package memorid

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy says when and how often a failed call is tried again. Retries
// are off unless a policy is given with WithRetry; a zero field takes the
// default shown.
//
// They apply to the unary calls, to Recall before any hit arrived, and to
// Attribute (only the turns not yet answered are resent, under the same
// idempotency keys, so a turn is never stored twice). A Chat stream is never
// retried: memorid has already retried its upstream before the first token,
// and a stream that yielded anything must not be replayed.
//
// The wait before attempt n+1 is InitialBackoff·Multiplier^(n-1), capped at
// MaxBackoff, its upper half jittered; when the server sent a RetryInfo
// delay the client waits at least that long, and gives up at once if that is
// longer than MaxRetryDelay. Retrying stops when the context is done or its
// deadline would pass before the next attempt could start.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt too (default 4).
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt (default 250 ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the computed wait (default 8 s).
	MaxBackoff time.Duration
	// Multiplier grows the wait per attempt (default 2).
	Multiplier float64
	// MaxRetryDelay is the longest server-requested delay the client waits
	// for (default 60 s).
	MaxRetryDelay time.Duration
	// RetryOn are the codes worth another attempt (default UNAVAILABLE and
	// RESOURCE_EXHAUSTED).
	RetryOn []codes.Code
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 4
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = 250 * time.Millisecond
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = 8 * time.Second
	}
	if p.Multiplier == 0 {
		p.Multiplier = 2
	}
	if p.MaxRetryDelay == 0 {
		p.MaxRetryDelay = 60 * time.Second
	}
	if p.RetryOn == nil {
		p.RetryOn = []codes.Code{codes.Unavailable, codes.ResourceExhausted}
	}
	return p
}

func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 1 {
		return fmt.Errorf("memorid: RetryPolicy.MaxAttempts must be at least 1")
	}
	if p.InitialBackoff < 0 || p.MaxBackoff < 0 || p.MaxRetryDelay < 0 || p.Multiplier < 1 {
		return fmt.Errorf("memorid: RetryPolicy backoffs must be ≥ 0 and its Multiplier ≥ 1")
	}
	return nil
}

// delay is the wait before the attempt after attempt (1-based) failed with
// err, or false to give up. jitter is a number in [0, 1).
func (p RetryPolicy) delay(attempt int, err *Error, jitter float64) (time.Duration, bool) {
	if attempt >= p.MaxAttempts || !slices.Contains(p.RetryOn, err.Code) {
		return 0, false
	}
	backoff := float64(p.InitialBackoff) * math.Pow(p.Multiplier, float64(attempt-1))
	backoff = math.Min(backoff, float64(p.MaxBackoff))
	wait := time.Duration(backoff/2 + jitter*backoff/2)
	if err.RetryDelay > 0 {
		if err.RetryDelay > p.MaxRetryDelay {
			return 0, false
		}
		wait = max(wait, err.RetryDelay)
	}
	return wait, true
}

// permanent carries an error out of the retry loop without retrying it
// (a stream that already yielded).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

// retrying runs attempt until it succeeds, the policy gives up, or ctx is
// done. Without a policy it runs attempt once.
func (c *Client) retrying(ctx context.Context, attempt func(ctx context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		var stop permanent
		if errors.As(err, &stop) {
			return stop.err
		}
		var e *Error
		if c.retry == nil || !errors.As(err, &e) {
			return err
		}
		wait, ok := c.retry.delay(n, e, rand.Float64())
		if !ok {
			return err
		}
		if deadline, has := ctx.Deadline(); has && time.Until(deadline) <= wait {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			cancelled := toError(ctx.Err()).(*Error)
			cancelled.Message = fmt.Sprintf("%s while waiting to retry after: %s", ctx.Err(), e.Error())
			cancelled.cause = ctx.Err()
			cancelled.status = nil
			return cancelled
		case <-timer.C:
		}
	}
}
