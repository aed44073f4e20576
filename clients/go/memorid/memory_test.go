package memorid_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memorid/memorid/clients/go/internal/testenv"
	"github.com/memorid/memorid/clients/go/memorid"
	"google.golang.org/grpc/codes"
)

func TestRecallAfterWaitForAugmentation(t *testing.T) {
	client := newClient(t)
	model := newModel()
	upstream.Script(model, testenv.Script{Pieces: []string{"Noted", "!"}})
	ctx := testContext(t, 60*time.Second)
	user := client.Entity(newEntityID(), memorid.Process("support-bot"))

	chat, err := user.Chat(ctx, memorid.ChatRequest{Model: "openai/" + model, Messages: hello("I prefer async Python.")}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	status, err := user.WaitForAugmentation(ctx, 30*time.Second, chat.TurnID)
	if err != nil || !status.Completed || status.PendingJobs != 0 || status.DeadJobs != 0 {
		t.Fatalf("wait: %#v %v", status, err)
	}

	hits, err := user.Recall(ctx, memorid.RecallRequest{Query: "async python", Limit: 5, IncludeScoreParts: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Fact == nil {
		t.Fatalf("hits: %#v", hits)
	}
	fact := hits[0].Fact
	if fact.Content != "prefers async Python" || hits[0].Content() != fact.Content || fact.Category != memorid.CategoryPreference {
		t.Fatalf("fact: %#v", fact)
	}
	if !slices.Contains(fact.SourceTurnIDs, chat.TurnID) || fact.MentionCount != 1 || fact.FirstSeenAt.IsZero() {
		t.Fatalf("fact provenance: %#v", fact)
	}
	if hits[0].Score <= 0 || hits[0].ScoreParts == nil || hits[0].ScoreParts.Dense <= 0 {
		t.Fatalf("score: %v %#v", hits[0].Score, hits[0].ScoreParts)
	}

	// Past messages too, when asked.
	hits, err = user.Recall(ctx, memorid.RecallRequest{Query: "async python", Kinds: []memorid.MemoryKind{memorid.KindFact, memorid.KindMessage}})
	if err != nil {
		t.Fatal(err)
	}
	var message *memorid.MessageHit
	for _, h := range hits {
		if h.Message != nil && h.Message.Role == memorid.RoleUser {
			message = h.Message
		}
	}
	if message == nil || message.Content != "I prefer async Python." || message.TurnID != chat.TurnID {
		t.Fatalf("message hits: %#v", hits)
	}

	// Another entity sees nothing of it.
	other, err := client.Entity(newEntityID()).Recall(ctx, memorid.RecallRequest{Query: "async python"})
	if err != nil || len(other) != 0 {
		t.Fatalf("another entity recalled %#v %v", other, err)
	}
}

func TestRecallRanksItsOwnWay(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 60*time.Second)
	user := client.Entity(newEntityID())
	for _, text := range []string{"I sail on weekends.", "My bike needs new brakes."} {
		if _, err := user.Attribute(ctx, memorid.Turn{Messages: []memorid.Message{memorid.UserMessage(text), memorid.AssistantMessage("Noted.")}}); err != nil {
			t.Fatal(err)
		}
	}
	if status, err := user.WaitForAugmentation(ctx, 30*time.Second); err != nil || !status.Completed {
		t.Fatalf("wait: %#v %v", status, err)
	}
	messages := []memorid.MemoryKind{memorid.KindMessage}
	const bike = "My bike needs new brakes."

	// Lexical only: the score is the lexical part, and only the message
	// holding the word scores above zero (no neighbour's share either).
	lexical := &memorid.Ranking{DenseWeight: memorid.Ptr(0.0), LexicalWeight: memorid.Ptr(1.0), RecencyWeight: memorid.Ptr(0.0), MentionsWeight: memorid.Ptr(0.0), ContextWeight: memorid.Ptr(0.0), NeighbourWeight: memorid.Ptr(0.0)}
	hits, err := user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Kinds: messages, Limit: 5, Ranking: lexical, IncludeScoreParts: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Content() != bike {
		t.Fatalf("lexical hits: %#v", hits)
	}
	positive := 0
	for _, h := range hits {
		if h.ScoreParts == nil || math.Abs(h.Score-h.ScoreParts.Lexical) > 1e-9 {
			t.Fatalf("score %v is not its lexical part: %#v", h.Score, h.ScoreParts)
		}
		if h.Score > 0 {
			positive++
		}
	}
	if positive != 1 {
		t.Fatalf("%d hits scored above zero: %#v", positive, hits)
	}

	scaled, err := user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Kinds: messages, Limit: 5, Ranking: &memorid.Ranking{Fusion: memorid.FusionMinMax}})
	if err != nil || len(scaled) == 0 || scaled[0].Content() != bike {
		t.Fatalf("min-max hits: %#v %v", scaled, err)
	}

	_, err = user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Ranking: &memorid.Ranking{DenseWeight: memorid.Ptr(-1.0)}})
	if !errors.Is(err, memorid.ErrInvalidArgument) || !strings.Contains(err.Error(), "ranking.dense_weight") {
		t.Fatalf("a negative weight: %v", err)
	}
	_, err = user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Ranking: &memorid.Ranking{NeighbourWeight: memorid.Ptr(-1.0)}})
	if !errors.Is(err, memorid.ErrInvalidArgument) || !strings.Contains(err.Error(), "ranking.neighbour_weight") {
		t.Fatalf("a negative neighbour weight: %v", err)
	}
	_, err = user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Ranking: &memorid.Ranking{ContextWeight: memorid.Ptr(1.5)}})
	if !errors.Is(err, memorid.ErrInvalidArgument) || !strings.Contains(err.Error(), "ranking.context_weight") {
		t.Fatalf("a context weight above 1: %v", err)
	}
	// An unknown fusion is refused before the call.
	_, err = user.Recall(ctx, memorid.RecallRequest{Query: "brakes", Ranking: &memorid.Ranking{Fusion: "best"}})
	if e := asError(t, err); e.Code != codes.InvalidArgument || !strings.Contains(e.Message, `"best"`) || len(e.Violations) != 1 || e.Violations[0].Field != "ranking.fusion" {
		t.Fatalf("an unknown fusion: %#v", e)
	}
}

func TestFactsPageDeleteAndForget(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 60*time.Second)
	// A process and a session on the handle: the entity-wide calls must
	// send only the entity, or memorid refuses them.
	user := client.Entity(newEntityID(), memorid.Process("support-bot")).NewSession()

	turn, err := user.Attribute(ctx, memorid.Turn{Messages: []memorid.Message{
		memorid.UserMessage("I live in Lisbon. I like hiking. I speak Portuguese."),
		memorid.AssistantMessage("Nice!"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := user.WaitForAugmentation(ctx, 30*time.Second); err != nil || !status.Completed {
		t.Fatalf("wait: %#v %v", status, err)
	}

	page, err := user.ListFacts(ctx, memorid.ListFactsRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Facts) != 2 || page.NextPageToken == "" {
		t.Fatalf("first page: %#v", page)
	}
	var all []string
	for fact, err := range user.Facts(ctx, memorid.ListFactsRequest{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fact.Content)
	}
	slices.Sort(all)
	if strings.Join(all, "|") != "likes hiking|lives in Lisbon|speaks Portuguese" {
		t.Fatalf("facts: %q", all)
	}

	if err := user.DeleteFact(ctx, page.Facts[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := user.DeleteFact(ctx, page.Facts[0].ID); !errors.Is(err, memorid.ErrNotFound) {
		t.Fatalf("deleting it again: %v", err)
	}
	rest, err := user.ListFacts(ctx, memorid.ListFactsRequest{})
	if err != nil || len(rest.Facts) != 2 {
		t.Fatalf("after delete: %#v %v", rest, err)
	}

	session, err := user.GetSession(ctx, "")
	if err != nil || len(session.Turns) != 1 || session.Turns[0].TurnID != turn.TurnID {
		t.Fatalf("session: %#v %v", session, err)
	}
	forgotten, err := user.Forget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if forgotten.Sessions != 1 || forgotten.Turns != 1 || forgotten.Messages != 2 || forgotten.Facts != 2 {
		t.Fatalf("forget: %#v", forgotten)
	}
	if _, err := user.GetSession(ctx, ""); !errors.Is(err, memorid.ErrNotFound) {
		t.Fatalf("session after forget: %v", err)
	}
	if left, err := user.ListFacts(ctx, memorid.ListFactsRequest{}); err != nil || len(left.Facts) != 0 {
		t.Fatalf("facts after forget: %#v %v", left, err)
	}
}

func TestAttributeIsIdempotentByKey(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID(), memorid.Process("importer"))
	key := "import-" + randomHex(6)
	turn := memorid.Turn{
		Messages:       []memorid.Message{memorid.UserMessage("I have a dog."), memorid.AssistantMessage("Lovely.")},
		IdempotencyKey: key,
		OccurredAt:     time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Model:          "openai/gpt-4o-mini",
		Metadata:       map[string]string{"source": "import"},
	}

	first, err := user.Attribute(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || first.TurnID == "" || first.IdempotencyKey != key || first.SessionID == "" {
		t.Fatalf("first: %#v", first)
	}
	again, err := user.Attribute(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.TurnID != first.TurnID || again.SessionID != first.SessionID {
		t.Fatalf("again: %#v, first %#v", again, first)
	}

	// A batch on one stream: answers in order, the known key a duplicate,
	// keyless turns get keys of their own.
	batch, err := user.WithSession(first.SessionID).AttributeAll(ctx, []memorid.Turn{
		{Messages: []memorid.Message{memorid.UserMessage("I work as a nurse.")}},
		turn,
		{Messages: []memorid.Message{memorid.UserMessage("I know Go.")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 3 || batch[0].Duplicate || !batch[1].Duplicate || batch[2].Duplicate || batch[1].TurnID != first.TurnID {
		t.Fatalf("batch: %#v", batch)
	}
	if batch[0].IdempotencyKey == "" || batch[0].IdempotencyKey == batch[2].IdempotencyKey {
		t.Fatalf("generated keys: %q %q", batch[0].IdempotencyKey, batch[2].IdempotencyKey)
	}

	session, err := user.GetSession(ctx, first.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(session.Turns) != 3 {
		t.Fatalf("stored %d turns, want 3 (the duplicate twice not again)", len(session.Turns))
	}
	stored := session.Turns[0]
	if stored.TurnID != first.TurnID || !stored.OccurredAt.Equal(turn.OccurredAt) || stored.Model != turn.Model ||
		stored.Metadata["source"] != "import" || stored.ProcessID != "importer" {
		t.Fatalf("stored turn: %#v", stored)
	}
}

func TestWaitForAugmentationFitsTheContextsDeadline(t *testing.T) {
	client := newClient(t)
	ctx := testContext(t, 30*time.Second)
	user := client.Entity(newEntityID())
	if status, err := user.WaitForAugmentation(ctx, 0); err != nil || !status.Completed {
		t.Fatalf("an entity with nothing pending: %#v %v", status, err)
	}

	turn, err := user.Attribute(ctx, memorid.Turn{Messages: hello("I collect stamps. " + testenv.SlowExtractionMarker)})
	if err != nil {
		t.Fatal(err)
	}
	// The wait asked for is longer than the context allows: it is shortened
	// to fit, and the answer is "not yet", not DEADLINE_EXCEEDED.
	short := testContext(t, 2*time.Second)
	begun := time.Now()
	status, err := user.WaitForAugmentation(short, 5*time.Minute, turn.TurnID)
	if err != nil || status.Completed || status.PendingJobs != 1 {
		t.Fatalf("wait under a short context: %#v %v", status, err)
	}
	if elapsed := time.Since(begun); elapsed >= 2*time.Second || elapsed < 1200*time.Millisecond {
		t.Fatalf("the short wait took %v", elapsed)
	}
	status, err = user.WaitForAugmentation(ctx, 20*time.Second, turn.TurnID)
	if err != nil || !status.Completed {
		t.Fatalf("the long wait: %#v %v", status, err)
	}
	facts, err := user.ListFacts(ctx, memorid.ListFactsRequest{})
	if err != nil || len(facts.Facts) != 1 || facts.Facts[0].Content != "collects stamps" {
		t.Fatalf("facts: %#v %v", facts, err)
	}
}
