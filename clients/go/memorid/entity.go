package memorid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"iter"
	"time"

	pb "github.com/memorid/memorid/clients/go/internal/gen/memori/v1"
	"google.golang.org/grpc/codes"
)

// Entity is a Client bound to an attribution; make one with Client.Entity.
// Chat and Attribute send the whole attribution; Recall searches the whole
// entity (see RecallRequest.ProcessID); the entity-wide calls (the wait,
// the fact calls, Forget) send only the entity id.
type Entity struct {
	c   *Client
	who Attribution
}

// Attribution is the handle's entity, process and session.
func (e Entity) Attribution() Attribution { return e.who }

// WithSession is the same entity and process in session sessionID.
func (e Entity) WithSession(sessionID string) Entity {
	e.who.SessionID = sessionID
	return e
}

// NewSession is the same entity and process in a new session with a fresh
// random id.
func (e Entity) NewSession() Entity { return e.WithSession(newID()) }

// newID is a random version-4 UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Recall returns the entity's memories best matching req.Query, best first
// (facts, unless req.Kinds asks for past messages too). With a retry policy
// it is retried only while no hit has arrived.
func (e Entity) Recall(ctx context.Context, req RecallRequest) ([]RecallHit, error) {
	c := e.c
	request, err := recallRequestPB(e.who.EntityID, req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := callContext(ctx, c.timeout)
	defer cancel()
	var hits []RecallHit
	err = c.retrying(ctx, func(ctx context.Context) error {
		stream, err := c.memory.Recall(ctx, request)
		if err != nil {
			return toError(err)
		}
		for {
			response, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if len(hits) > 0 {
					return permanent{toError(err)} // a stream that yielded is never retried
				}
				return toError(err)
			}
			hits = append(hits, recallHitFromPB(response))
		}
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// Attribute stores one finished turn that you ran against a model yourself
// and returns once it is durably stored. The same IdempotencyKey twice
// stores once (the second answer has Duplicate set).
func (e Entity) Attribute(ctx context.Context, turn Turn) (AttributeResult, error) {
	results, err := e.AttributeAll(ctx, []Turn{turn})
	if err != nil {
		return AttributeResult{}, err
	}
	return results[0], nil
}

// AttributeAll stores many turns over one stream and returns one result
// per turn, in order. A turn without an IdempotencyKey gets a random one,
// so that a retry (with a retry policy) resends only the turns not yet
// answered and never stores one twice.
func (e Entity) AttributeAll(ctx context.Context, turns []Turn) ([]AttributeResult, error) {
	c := e.c
	requests := make([]*pb.AttributeRequest, len(turns))
	for i, turn := range turns {
		if turn.IdempotencyKey == "" {
			turn.IdempotencyKey = newID()
		}
		request, err := attributeRequestPB(e.who, turn)
		if err != nil {
			return nil, err
		}
		requests[i] = request
	}
	if len(requests) == 0 {
		return nil, nil
	}
	ctx, cancel := callContext(ctx, c.timeout)
	defer cancel()
	answered := make(map[string]AttributeResult, len(requests))
	err := c.retrying(ctx, func(ctx context.Context) error {
		var pending []*pb.AttributeRequest
		for _, r := range requests {
			if _, ok := answered[r.GetIdempotencyKey()]; !ok {
				pending = append(pending, r)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.memory.Attribute(ctx)
		if err != nil {
			return toError(err)
		}
		// Send while receiving, so that a large batch cannot stall on flow
		// control with unread answers.
		go func() {
			for _, r := range pending {
				if stream.Send(r) != nil {
					return // the failure surfaces on Recv
				}
			}
			_ = stream.CloseSend()
		}()
		for {
			response, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return toError(err)
			}
			answered[response.GetIdempotencyKey()] = AttributeResult{
				IdempotencyKey: response.GetIdempotencyKey(),
				TurnID:         response.GetTurnId(),
				SessionID:      response.GetSessionId(),
				Duplicate:      response.GetDuplicate(),
			}
		}
		for _, r := range pending {
			if _, ok := answered[r.GetIdempotencyKey()]; !ok {
				return permanent{newError(codes.Internal, "memorid answered %d of %d turns", len(answered), len(requests))}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]AttributeResult, len(requests))
	for i, r := range requests {
		out[i] = answered[r.GetIdempotencyKey()]
	}
	return out, nil
}

// WaitForAugmentation blocks until the entity's pending memory work (or
// only that of turnIDs) is done, or wait passes (0 means DefaultWait; the
// server caps it at 300 s), and says where it stands: check Completed. When
// ctx has an earlier deadline the wait is shortened to end before it, so
// the answer is "not completed" rather than ErrDeadlineExceeded.
func (e Entity) WaitForAugmentation(ctx context.Context, wait time.Duration, turnIDs ...string) (AugmentationStatus, error) {
	if wait <= 0 {
		wait = DefaultWait
	}
	if deadline, has := ctx.Deadline(); has {
		left := time.Until(deadline)
		// Leave the answer time to arrive: a fifth of what is left, at
		// least 250 ms, at most waitMargin, never more than half.
		margin := min(max(left/5, 250*time.Millisecond), waitMargin, left/2)
		if wait > left-margin {
			wait = max(left-margin, time.Millisecond)
		}
	}
	resp, err := unary(ctx, e.c, wait+waitMargin, e.c.memory.WaitForAugmentation, waitRequestPB(e.who.EntityID, turnIDs, wait))
	if err != nil {
		return AugmentationStatus{}, err
	}
	return AugmentationStatus{
		Completed:   resp.GetCompleted(),
		PendingJobs: int(resp.GetPendingJobs()),
		DeadJobs:    int(resp.GetDeadJobs()),
	}, nil
}

// ListFacts returns one page of the entity's facts, newest first.
func (e Entity) ListFacts(ctx context.Context, req ListFactsRequest) (FactPage, error) {
	if req.PageSize < 0 {
		return FactPage{}, invalidField("page_size", "must not be negative")
	}
	resp, err := unary(ctx, e.c, e.c.timeout, e.c.memory.ListFacts, &pb.ListFactsRequest{
		Attribution:       &pb.Attribution{EntityId: e.who.EntityID},
		PageSize:          uint32(req.PageSize),
		PageToken:         req.PageToken,
		IncludeSuperseded: req.IncludeSuperseded,
	})
	if err != nil {
		return FactPage{}, err
	}
	page := FactPage{NextPageToken: resp.GetNextPageToken()}
	for _, f := range resp.GetFacts() {
		page.Facts = append(page.Facts, factFromPB(f))
	}
	return page, nil
}

// Facts yields every fact of the entity, newest first, fetching page after
// page (req.PageToken is where it starts). A failure is yielded once as
// (Fact{}, err) and ends the sequence.
func (e Entity) Facts(ctx context.Context, req ListFactsRequest) iter.Seq2[Fact, error] {
	return func(yield func(Fact, error) bool) {
		for {
			page, err := e.ListFacts(ctx, req)
			if err != nil {
				yield(Fact{}, err)
				return
			}
			for _, f := range page.Facts {
				if !yield(f, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			req.PageToken = page.NextPageToken
		}
	}
}

// DeleteFact deletes one fact of the entity; ErrNotFound if it has none
// with that id.
func (e Entity) DeleteFact(ctx context.Context, factID string) error {
	_, err := unary(ctx, e.c, e.c.timeout, e.c.memory.DeleteFact, &pb.DeleteFactRequest{
		Attribution: &pb.Attribution{EntityId: e.who.EntityID},
		FactId:      factID,
	})
	return err
}

// Forget deletes everything stored about the entity, in every process and
// session: facts, turns, messages, sessions and pending jobs.
func (e Entity) Forget(ctx context.Context) (ForgetResult, error) {
	resp, err := unary(ctx, e.c, e.c.timeout, e.c.memory.ForgetEntity, &pb.ForgetEntityRequest{
		Attribution: &pb.Attribution{EntityId: e.who.EntityID},
	})
	if err != nil {
		return ForgetResult{}, err
	}
	return ForgetResult{
		Sessions: int(resp.GetSessionsDeleted()),
		Turns:    int(resp.GetTurnsDeleted()),
		Messages: int(resp.GetMessagesDeleted()),
		Facts:    int(resp.GetFactsDeleted()),
		Jobs:     int(resp.GetJobsDeleted()),
	}, nil
}

// GetSession returns a session of the entity with its turns and messages:
// sessionID, or the handle's own session when it is empty. ErrNotFound if
// the entity has no such session.
func (e Entity) GetSession(ctx context.Context, sessionID string) (*SessionHistory, error) {
	if sessionID == "" {
		sessionID = e.who.SessionID
	}
	if sessionID == "" {
		return nil, invalidField("attribution.session_id", "GetSession needs a session id (this handle has none)")
	}
	resp, err := unary(ctx, e.c, e.c.timeout, e.c.memory.GetSession, &pb.GetSessionRequest{
		Attribution: &pb.Attribution{EntityId: e.who.EntityID, SessionId: sessionID},
	})
	if err != nil {
		return nil, err
	}
	return sessionFromPB(resp), nil
}
