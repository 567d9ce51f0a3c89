package records

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/lambda/records/table"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.StopShared()
	os.Exit(code)
}

// newStore is a Store on a new table of the shared dynalite, whose clock
// the test sets.
func newStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	s, _ := newStoreOn(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, &now
}

// newStoreOn is a Store on a new table, and the SDK's client of its dynalite.
func newStoreOn(t *testing.T) (*Store, *dynamodb.Client) {
	t.Helper()
	db := dynalite.Shared(t)
	return New(db.Client(), db.NewRenderTable(t), 90*24*time.Hour), db.Client()
}

// render is a record of a render being started.
func render(id, by string, at time.Time) Render {
	return Render{RenderID: id, Composition: "MyComp", ServeURL: "https://example.com/site",
		RequestedBy: by, RequestID: "req-" + id, CreatedAt: at, State: Starting}
}

// rendering is a render that Remotion launched.
func rendering(t *testing.T, s *Store, id, by string, at time.Time) {
	t.Helper()
	if err := s.Create(ctx, render(id, by, at)); err != nil {
		t.Fatal(err)
	}
	if err := s.Started(ctx, id, "abcdef1234", "remotionlambda-useast1-abcdefghij"); err != nil {
		t.Fatal(err)
	}
}

var ctx = context.Background()

func TestARecordReadsBackAsWritten(t *testing.T) {
	s, now := newStore(t)
	r := render("myrender", "arn:aws:iam::123456789012:user/alice", *now)
	r.OutputBucket, r.OutputKey = "my-renders", "renders/x.mp4"
	r.Metadata = map[string]string{"order": "42"}

	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "myrender")

	if err != nil {
		t.Fatal(err)
	}
	if got.RenderID != r.RenderID || got.RequestedBy != r.RequestedBy || !got.CreatedAt.Equal(r.CreatedAt) || got.State != Starting ||
		got.OutputBucket != "my-renders" || got.OutputKey != "renders/x.mp4" || got.Metadata["order"] != "42" || got.RequestID != "req-myrender" {
		t.Errorf("read back %+v, want %+v", got, r)
	}
}

// Empty lists and maps, and maps and lists within maps, are written as
// DynamoDB takes them and read back as they were.
func TestEmptyAndNestedListsAndMapsReadBack(t *testing.T) {
	s, sdk := newStoreOn(t)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := render("myrender", "alice", at)
	r.Metadata, r.Errors = map[string]string{}, []string{}

	if err := s.Create(ctx, r); err != nil {
		t.Fatalf("a record with an empty list and map: %v", err)
	}
	finished, err := s.Finish(ctx, "myrender", Outcome{State: Failed, FinishedAt: at, Errors: []string{},
		Costs: &Costs{EstimatedCost: "0.0012", DisplayCost: "$0.001", Currency: "USD"}})
	if err != nil || finished == nil {
		t.Fatalf("Finish = %+v, %v", finished, err)
	}
	out, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "render#myrender"}}})
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := out.Item["renderErrors"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 0 {
		t.Errorf("renderErrors: %#v, want an empty list", out.Item["renderErrors"])
	}
	if m, ok := out.Item["metadata"].(*types.AttributeValueMemberM); !ok || len(m.Value) != 0 {
		t.Errorf("metadata: %#v, want an empty map", out.Item["metadata"])
	}
	got, _ := s.Get(ctx, "myrender")
	if got.Errors == nil || len(got.Errors) != 0 || got.Metadata == nil || len(got.Metadata) != 0 || got.Costs == nil || got.Costs.EstimatedCost != "0.0012" {
		t.Errorf("read back %+v", got)
	}
}

// The store writes items as DynamoDB's own SDK writes them: the SDK reads
// each attribute with its type.
func TestTheSDKReadsARecordWithItsTypes(t *testing.T) {
	s, sdk := newStoreOn(t)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rendering(t, s, "myrender", "alice", at)
	s.Finish(ctx, "myrender", Outcome{State: Failed, FinishedAt: at.Add(time.Minute), Errors: []string{"out of memory"},
		Costs: &Costs{EstimatedCost: "0.0012", DisplayCost: "$0.001", Currency: "USD"}})

	out, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "render#myrender"}}})

	if err != nil {
		t.Fatal(err)
	}
	item := out.Item
	str := func(av types.AttributeValue) string {
		if s, ok := av.(*types.AttributeValueMemberS); ok {
			return s.Value
		}
		return fmt.Sprintf("a %T", av)
	}
	num := func(av types.AttributeValue) string {
		if n, ok := av.(*types.AttributeValueMemberN); ok {
			return n.Value
		}
		return fmt.Sprintf("a %T", av)
	}
	if got := str(item["renderId"]); got != "myrender" {
		t.Errorf("renderId: %s", got)
	}
	if got := str(item["remotionRenderId"]); got != "abcdef1234" {
		t.Errorf("remotionRenderId: %s", got)
	}
	// A TTL attribute that is not a number never expires.
	if got, want := num(item[table.ExpiresAt]), strconv.FormatInt(at.Add(90*24*time.Hour).Unix(), 10); got != want {
		t.Errorf("%s: %s, want the number %s", table.ExpiresAt, got, want)
	}
	if l, ok := item["renderErrors"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 1 || str(l.Value[0]) != "out of memory" {
		t.Errorf("renderErrors: %#v, want a list of one string", item["renderErrors"])
	}
	if m, ok := item["costs"].(*types.AttributeValueMemberM); !ok || num(m.Value["estimatedCost"]) != "0.0012" || str(m.Value["currency"]) != "USD" {
		t.Errorf("costs: %#v, want a map of a number and strings", item["costs"])
	}
}

// A start moves a record from starting to rendering, or to unknown; one
// that never ran is forgotten. Each only from starting.
func TestAStartMovesTheRecordOnlyFromStarting(t *testing.T) {
	s, now := newStore(t)
	for _, id := range []string{"launched", "lost", "refused"} {
		s.Create(ctx, render(id, "alice", *now))
	}

	s.Started(ctx, "launched", "abcdef1234", "remotionlambda-useast1-abcdefghij")
	s.Unknown(ctx, "lost")
	s.Forget(ctx, "refused")
	s.Unknown(ctx, "launched") // too late: it started

	if r, err := s.Get(ctx, "launched"); err != nil || r.State != Rendering || r.RemotionRenderID != "abcdef1234" || r.BucketName == "" {
		t.Errorf("launched: %+v, %v", r, err)
	}
	if r, err := s.Get(ctx, "lost"); err != nil || r.State != Unknown {
		t.Errorf("lost: %+v, %v", r, err)
	}
	if _, err := s.Get(ctx, "refused"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused: %v, want no record", err)
	}
}

func TestUnknownRenderIsNotFound(t *testing.T) {
	s, _ := newStore(t)

	if _, err := s.Get(ctx, "nosuchrender"); err != ErrNotFound {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestARenderIsRecordedOnce(t *testing.T) {
	s, now := newStore(t)
	s.Create(ctx, render("abcdef1234", "alice", *now))

	if err := s.Create(ctx, render("abcdef1234", "mallory", *now)); err == nil {
		t.Error("a second record of the same render was written")
	}
}

// A record only moves forward: the first outcome stays.
func TestFinishIsFinal(t *testing.T) {
	s, now := newStore(t)
	rendering(t, s, "myrender", "alice", *now)
	file := "https://s3.us-east-1.amazonaws.com/b/renders/abcdef1234/out.mp4"

	first, err := s.Finish(ctx, "myrender", Outcome{State: Done, FinishedAt: now.Add(time.Minute), OutputFile: file,
		Costs: &Costs{EstimatedCost: "0.0012", DisplayCost: "$0.001", Currency: "USD"}})
	if err != nil || first == nil || first.State != Done {
		t.Fatalf("first Finish = %+v, %v", first, err)
	}
	second, err := s.Finish(ctx, "myrender", Outcome{State: Failed, FinishedAt: now.Add(2 * time.Minute), Errors: []string{"late"}})

	if err != nil || second != nil {
		t.Errorf("second Finish = %+v, %v; want nil, nil", second, err)
	}
	got, _ := s.Get(ctx, "myrender")
	if got.State != Done || got.OutputFile != file || len(got.Errors) != 0 ||
		got.Costs == nil || got.Costs.EstimatedCost != "0.0012" || got.FinishedAt == nil || !got.FinishedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("record %+v, want the first outcome", got)
	}
}

func TestFinishOfAnUnknownRenderChangesNothing(t *testing.T) {
	s, now := newStore(t)

	ok, err := s.Finish(ctx, "nosuchrender", Outcome{State: Done, FinishedAt: *now})

	if err != nil || ok != nil {
		t.Errorf("Finish = %v, %v", ok, err)
	}
	if _, err := s.Get(ctx, "nosuchrender"); err != ErrNotFound {
		t.Errorf("Finish created a record: %v", err)
	}
}

func TestListIsTheCallersOwnNewestFirstInPages(t *testing.T) {
	s, now := newStore(t)
	for i, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		s.Create(ctx, render(id, "alice", now.Add(time.Duration(i)*time.Minute)))
	}
	s.Create(ctx, render("b1", "bob", now.Add(10*time.Minute)))

	var ids []string
	cursor := ""
	for page := 0; page < 5; page++ {
		renders, next, err := s.List(ctx, "alice", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range renders {
			ids = append(ids, r.RenderID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}

	if got, want := ids, []string{"a5", "a4", "a3", "a2", "a1"}; !slices.Equal(got, want) {
		t.Errorf("alice's renders: %v, want %v", got, want)
	}
}

func TestListAllIsEveryonesNewestFirst(t *testing.T) {
	s, now := newStore(t)
	s.Create(ctx, render("a1", "alice", *now))
	s.Create(ctx, render("b1", "bob", now.Add(time.Minute)))
	s.Claim(ctx, "alice", "key-1", "hash") // keys are not renders

	renders, next, err := s.List(ctx, "", 10, "")

	if err != nil || next != "" {
		t.Fatalf("List = %v, %q, %v", renders, next, err)
	}
	var ids []string
	for _, r := range renders {
		ids = append(ids, r.RenderID)
	}
	if !slices.Equal(ids, []string{"b1", "a1"}) {
		t.Errorf("renders %v, want [b1 a1]", ids)
	}
}

// A cursor continues only the list it came from.
func TestACursorOfAnotherCallerIsRefused(t *testing.T) {
	s, now := newStore(t)
	s.Create(ctx, render("b1", "bob", *now))
	s.Create(ctx, render("b2", "bob", now.Add(time.Minute)))
	_, bobs, _ := s.List(ctx, "bob", 1, "")

	for _, cursor := range []string{bobs, "not-base64!", "e30"} {
		if _, _, err := s.List(ctx, "alice", 1, cursor); err != ErrBadCursor {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", cursor, err)
		}
	}
}

func TestAKeyIsClaimedOnce(t *testing.T) {
	s, _ := newStore(t)

	first, err := s.Claim(ctx, "alice", "key-1", "hash-1")
	if err != nil || first != nil {
		t.Fatalf("first Claim = %+v, %v; want the key", first, err)
	}
	second, err := s.Claim(ctx, "alice", "key-1", "hash-1")

	if err != nil || second == nil || second.State != KeyInProgress || second.RequestHash != "hash-1" {
		t.Errorf("second Claim = %+v, %v; want the first's claim", second, err)
	}
}

func TestKeysAreTheCallersOwn(t *testing.T) {
	s, _ := newStore(t)
	s.Claim(ctx, "alice", "key-1", "hash-1")

	if k, err := s.Claim(ctx, "bob", "key-1", "hash-2"); err != nil || k != nil {
		t.Errorf("bob's Claim of alice's key name = %+v, %v; want his own key", k, err)
	}
}

func TestACompletedKeyKeepsItsAnswer(t *testing.T) {
	s, _ := newStore(t)
	s.Claim(ctx, "alice", "key-1", "hash-1")
	s.Complete(ctx, "alice", "key-1", "myrender")

	k, err := s.Claim(ctx, "alice", "key-1", "hash-1")

	if err != nil || k == nil || k.State != KeyDone || k.RenderID != "myrender" {
		t.Errorf("Claim = %+v, %v", k, err)
	}
}

func TestAReleasedKeyCanBeClaimedAgain(t *testing.T) {
	s, _ := newStore(t)
	s.Claim(ctx, "alice", "key-1", "hash-1")
	s.Release(ctx, "alice", "key-1")

	if k, err := s.Claim(ctx, "alice", "key-1", "hash-2"); err != nil || k != nil {
		t.Errorf("Claim after Release = %+v, %v; want the key", k, err)
	}
}

func TestAnExpiredKeyCanBeClaimedAgain(t *testing.T) {
	s, now := newStore(t)
	s.Claim(ctx, "alice", "key-1", "hash-1")
	s.MarkUnknown(ctx, "alice", "key-1", "myrender")
	*now = now.Add(KeyTTL + time.Second)

	if k, err := s.Claim(ctx, "alice", "key-1", "hash-1"); err != nil || k != nil {
		t.Errorf("Claim a day later = %+v, %v; want the key", k, err)
	}
}

// finished is a render that ended.
func finished(t *testing.T, s *Store, id string, at time.Time) {
	t.Helper()
	rendering(t, s, id, "alice", at)
	if r, err := s.Finish(ctx, id, Outcome{State: Done, FinishedAt: at}); err != nil || r == nil {
		t.Fatalf("Finish = %+v, %v", r, err)
	}
}

func TestAnEventIsClaimedOnceAndAgainAfterAFailure(t *testing.T) {
	s, now := newStore(t)
	finished(t, s, "abcdef1234", *now)

	first, err := s.ClaimEvent(ctx, "abcdef1234")
	if err != nil || !first {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	if again, _ := s.ClaimEvent(ctx, "abcdef1234"); again {
		t.Error("a second delivery claimed an event being published")
	}
	s.EventPublished(ctx, "abcdef1234", false)
	if retry, _ := s.ClaimEvent(ctx, "abcdef1234"); !retry {
		t.Error("the delivery after a failed publication could not claim the event")
	}
	s.EventPublished(ctx, "abcdef1234", true)
	if late, _ := s.ClaimEvent(ctx, "abcdef1234"); late {
		t.Error("a delivery after publication claimed the event again")
	}
}

func TestAStaleClaimIsTakenOver(t *testing.T) {
	s, now := newStore(t)
	finished(t, s, "abcdef1234", *now)
	s.ClaimEvent(ctx, "abcdef1234") // and the delivery dies
	*now = now.Add(staleClaim + time.Second)

	if ok, err := s.ClaimEvent(ctx, "abcdef1234"); err != nil || !ok {
		t.Errorf("claim after the first delivery died = %v, %v", ok, err)
	}
}

func TestNoEventForAnUnknownOrUnfinishedRender(t *testing.T) {
	s, now := newStore(t)
	rendering(t, s, "running", "alice", *now)

	for _, id := range []string{"nosuchrender", "running"} {
		if ok, err := s.ClaimEvent(ctx, id); err != nil || ok {
			t.Errorf("claim of %s = %v, %v", id, ok, err)
		}
	}
}

// A start's answer that comes after the sweeper took the render for lost
// still records it as rendering, with Remotion's names.
func TestALateStartedAnswerRecordsTheRender(t *testing.T) {
	s, now := newStore(t)
	s.Create(ctx, render("late", "alice", *now))
	s.Unknown(ctx, "late")

	s.Started(ctx, "late", "abcdef1234", "remotionlambda-useast1-abcdefghij")

	if r, err := s.Get(ctx, "late"); err != nil || r.State != Rendering || r.RemotionRenderID != "abcdef1234" {
		t.Errorf("late: %+v, %v", r, err)
	}
}
