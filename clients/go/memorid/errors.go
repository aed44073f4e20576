package memorid

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is what every failed call returns: the gRPC code and message, and
// the details memorid attaches to its statuses (they travel in the
// grpc-status-details-bin trailer). Get at it with errors.As:
//
//	var e *memorid.Error
//	if errors.As(err, &e) && e.Reason == memorid.ReasonUpstreamRateLimited {
//		time.Sleep(e.RetryDelay)
//	}
//
// or test its kind with errors.Is and the Err* sentinels
// (errors.Is(err, memorid.ErrNotFound)). An *Error is also a gRPC status
// error: status.Code(err) and status.FromError(err) work on it.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message.
	Message string
	// Reason is ErrorInfo.reason, a stable UPPER_SNAKE name such as
	// UPSTREAM_RATE_LIMITED (the Reason* constants). Empty when the status
	// did not come from memorid (for example, memorid was unreachable).
	Reason string
	// Domain is ErrorInfo.domain ("memorid").
	Domain string
	// Metadata is ErrorInfo.metadata.
	Metadata map[string]string
	// Violations are the BadRequest field violations of an
	// INVALID_ARGUMENT: which request field was wrong and why.
	Violations []FieldViolation
	// RetryDelay is how long the server asked the caller to wait before
	// retrying (RetryInfo.retry_delay); zero when it named no delay.
	RetryDelay time.Duration
	// Retryable is true when the status carried a RetryInfo: memorid says
	// the same call may succeed later (rate limits, outages).
	Retryable bool

	status *status.Status
	cause  error
}

// FieldViolation names one bad request field, e.g. "messages[1].role", and
// says what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// The ErrorInfo reasons memorid sends.
const (
	ReasonInvalidArgument         = "INVALID_ARGUMENT"
	ReasonNotFound                = "NOT_FOUND"
	ReasonUnauthenticated         = "UNAUTHENTICATED"
	ReasonUpstreamRateLimited     = "UPSTREAM_RATE_LIMITED"
	ReasonUpstreamUnavailable     = "UPSTREAM_UNAVAILABLE"
	ReasonUpstreamUnauthenticated = "UPSTREAM_UNAUTHENTICATED"
	ReasonUpstreamNotFound        = "UPSTREAM_NOT_FOUND"
	ReasonUpstreamRejected        = "UPSTREAM_REJECTED"
	ReasonDeadlineExceeded        = "DEADLINE_EXCEEDED"
	ReasonStorageUnavailable      = "STORAGE_UNAVAILABLE"
	ReasonInternal                = "INTERNAL"
)

// Sentinels for errors.Is, one per kind of failure. errors.Is(err, s) is
// true when err is an *Error whose Code is the sentinel's.
var (
	// ErrInvalidArgument: the request was malformed (see Violations), or the
	// upstream rejected it (Reason UPSTREAM_REJECTED).
	ErrInvalidArgument = sentinel(codes.InvalidArgument, "invalid argument")
	// ErrUnauthenticated: the API key is missing or unknown.
	ErrUnauthenticated = sentinel(codes.Unauthenticated, "unauthenticated")
	// ErrPermissionDenied: the key may not do this.
	ErrPermissionDenied = sentinel(codes.PermissionDenied, "permission denied")
	// ErrNotFound: no such session or fact, or (Reason UPSTREAM_NOT_FOUND)
	// no such model.
	ErrNotFound = sentinel(codes.NotFound, "not found")
	// ErrQuotaExceeded: RESOURCE_EXHAUSTED, the upstream is rate-limiting;
	// RetryDelay says for how long when it said.
	ErrQuotaExceeded = sentinel(codes.ResourceExhausted, "quota exceeded")
	// ErrUnavailable: memorid, its database (Reason STORAGE_UNAVAILABLE) or
	// its upstream (UPSTREAM_UNAVAILABLE) cannot be reached right now.
	ErrUnavailable = sentinel(codes.Unavailable, "unavailable")
	// ErrDeadlineExceeded: the call's deadline passed, or the upstream timed
	// out. errors.Is(err, context.DeadlineExceeded) is true as well.
	ErrDeadlineExceeded = sentinel(codes.DeadlineExceeded, "deadline exceeded")
	// ErrFailedPrecondition: the upstream refused memorid's own credentials
	// (Reason UPSTREAM_UNAUTHENTICATED), an operator's problem.
	ErrFailedPrecondition = sentinel(codes.FailedPrecondition, "failed precondition")
	// ErrCanceled: the call was cancelled. errors.Is(err, context.Canceled)
	// is true as well.
	ErrCanceled = sentinel(codes.Canceled, "canceled")
	// ErrInternal: a bug or an unexpected answer (also a chat stream that
	// ended without its completed event).
	ErrInternal = sentinel(codes.Internal, "internal")
)

type kindError struct {
	code codes.Code
	text string
}

func (k *kindError) Error() string { return "memorid: " + k.text }

func sentinel(code codes.Code, text string) error { return &kindError{code, text} }

func (e *Error) Error() string {
	label := e.Reason
	if label == "" {
		label = e.Code.String()
	}
	return fmt.Sprintf("memorid: %s: %s", label, e.Message)
}

// Is reports whether target is the sentinel of e's code, or the context
// error of a cancelled or timed-out call.
func (e *Error) Is(target error) bool {
	if k, ok := target.(*kindError); ok {
		return k.code == e.Code
	}
	switch target {
	case context.Canceled:
		return e.Code == codes.Canceled
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	}
	return false
}

// Unwrap returns the error the status was made from, if any (a context
// error while waiting to retry, a local failure).
func (e *Error) Unwrap() error { return e.cause }

// GRPCStatus makes an *Error a status error for google.golang.org/grpc/status.
func (e *Error) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	return status.New(e.Code, e.Message)
}

// newError is an *Error made on the client side (no details).
func newError(code codes.Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// toError turns what a gRPC call returned into an *Error (nil stays nil).
func toError(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	st, ok := status.FromError(err)
	if !ok {
		// Not a status: a context error surfacing directly, or a local one.
		st = status.FromContextError(err)
	}
	e := &Error{Code: st.Code(), Message: st.Message(), status: st, cause: unwrapCause(err)}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			e.Reason, e.Domain, e.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			e.Retryable = true
			if d.GetRetryDelay() != nil {
				e.RetryDelay = d.GetRetryDelay().AsDuration()
			}
		}
	}
	if e.Code == codes.Canceled && e.Message == "Timeout expired" && e.Reason == "" {
		// Workaround: tonic answers a call whose grpc-timeout passed before
		// the response headers with CANCELLED "Timeout expired" (racing the
		// client's own DEADLINE_EXCEEDED). gRPC defines that case as
		// DEADLINE_EXCEEDED, so report it as such.
		e.Code = codes.DeadlineExceeded
		e.status = status.New(codes.DeadlineExceeded, e.Message)
	}
	return e
}

// unwrapCause keeps a context error as the cause, so errors.Is against
// context.Canceled also works on statuses grpc-go made from one.
func unwrapCause(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return nil
}
