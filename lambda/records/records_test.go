package records

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/lambda/api/wire"
	"remotion-lambda-iam/lambda/records/table"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	return New(db.Client(t), db.NewRenderTable(t), 90*24*time.Hour), db.SDKClient()
}

func render(id, by string, at time.Time) wire.Render {
	return wire.Render{RenderID: id, BucketName: "remotionlambda-useast1-abcdefghij", Composition: "MyComp",
		ServeURL: "https://example.com/site", RequestedBy: by, RequestID: "req-" + id, CreatedAt: at, State: wire.StateRendering}
}

var ctx = context.Background()

func TestARecordReadsBackAsWritten(t *testing.T) {
	s, now := newStore(t)
	r := render("abcdef1234", "arn:aws:iam::123456789012:user/alice", *now)
	r.Output = &wire.Output{Bucket: "my-renders", Key: "renders/x.mp4", S3URI: "s3://my-renders/renders/x.mp4"}

	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "abcdef1234")

	if err != nil {
		t.Fatal(err)
	}
	if got.RenderID != r.RenderID || got.RequestedBy != r.RequestedBy || !got.CreatedAt.Equal(r.CreatedAt) ||
		got.State != wire.StateRendering || *got.Output != *r.Output || got.RequestID != "req-abcdef1234" {
		t.Errorf("read back %+v, want %+v", got, r)
	}
}

// The store writes items as DynamoDB's own SDK writes them: the SDK reads
// each attribute with its type.
func TestTheSDKReadsARecordWithItsTypes(t *testing.T) {
	s, sdk := newStoreOn(t)
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.Create(ctx, render("abcdef1234", "alice", at))
	s.Finish(ctx, "abcdef1234", Outcome{State: wire.StateFailed, FinishedAt: at.Add(time.Minute), Errors: []string{"out of memory"},
		Costs: &wire.Costs{AccruedSoFar: 0.0012, DisplayCost: "$0.001", Currency: "USD"}})

	out, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{table.PartitionKey: &types.AttributeValueMemberS{Value: "render#abcdef1234"}}})

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
	if got := str(item["renderId"]); got != "abcdef1234" {
		t.Errorf("renderId: %s", got)
	}
	// A TTL attribute that is not a number never expires.
	if got, want := num(item[table.ExpiresAt]), strconv.FormatInt(at.Add(90*24*time.Hour).Unix(), 10); got != want {
		t.Errorf("%s: %s, want the number %s", table.ExpiresAt, got, want)
	}
	if l, ok := item["renderErrors"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 1 || str(l.Value[0]) != "out of memory" {
		t.Errorf("renderErrors: %#v, want a list of one string", item["renderErrors"])
	}
	if m, ok := item["costs"].(*types.AttributeValueMemberM); !ok || num(m.Value["accruedSoFar"]) != "0.0012" || str(m.Value["currency"]) != "USD" {
		t.Errorf("costs: %#v, want a map of a number and strings", item["costs"])
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
	s.Create(ctx, render("abcdef1234", "alice", *now))
	file := "https://s3.us-east-1.amazonaws.com/b/renders/abcdef1234/out.mp4"

	first, err := s.Finish(ctx, "abcdef1234", Outcome{State: wire.StateDone, FinishedAt: now.Add(time.Minute), OutputFile: &file,
		Costs: &wire.Costs{AccruedSoFar: 0.0012, DisplayCost: "$0.001", Currency: "USD"}})
	if err != nil || !first {
		t.Fatalf("first Finish = %v, %v", first, err)
	}
	second, err := s.Finish(ctx, "abcdef1234", Outcome{State: wire.StateFailed, FinishedAt: now.Add(2 * time.Minute), Errors: []string{"late"}})

	if err != nil || second {
		t.Errorf("second Finish = %v, %v; want false, nil", second, err)
	}
	got, _ := s.Get(ctx, "abcdef1234")
	if got.State != wire.StateDone || got.OutputFile == nil || *got.OutputFile != file || got.Errors != nil ||
		got.Costs == nil || got.Costs.AccruedSoFar != 0.0012 || got.FinishedAt == nil || !got.FinishedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("record %+v, want the first outcome", got)
	}
}

func TestFinishOfAnUnknownRenderChangesNothing(t *testing.T) {
	s, now := newStore(t)

	ok, err := s.Finish(ctx, "nosuchrender", Outcome{State: wire.StateDone, FinishedAt: *now})

	if err != nil || ok {
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
	s.Complete(ctx, "alice", "key-1", `{"renderId":"abcdef1234"}`)

	k, err := s.Claim(ctx, "alice", "key-1", "hash-1")

	if err != nil || k == nil || k.State != KeyDone || k.Response != `{"renderId":"abcdef1234"}` {
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
	s.MarkUnknown(ctx, "alice", "key-1")
	*now = now.Add(KeyTTL + time.Second)

	if k, err := s.Claim(ctx, "alice", "key-1", "hash-1"); err != nil || k != nil {
		t.Errorf("Claim a day later = %+v, %v; want the key", k, err)
	}
}

func TestAnEventIsClaimedOnceAndAgainAfterAFailure(t *testing.T) {
	s, now := newStore(t)
	s.Create(ctx, render("abcdef1234", "alice", *now))

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
	s.Create(ctx, render("abcdef1234", "alice", *now))
	s.ClaimEvent(ctx, "abcdef1234") // and the delivery dies
	*now = now.Add(staleEventClaim + time.Second)

	if ok, err := s.ClaimEvent(ctx, "abcdef1234"); err != nil || !ok {
		t.Errorf("claim after the first delivery died = %v, %v", ok, err)
	}
}

func TestNoEventForAnUnknownRender(t *testing.T) {
	s, _ := newStore(t)

	if ok, err := s.ClaimEvent(ctx, "nosuchrender"); err != nil || ok {
		t.Errorf("claim = %v, %v", ok, err)
	}
}
